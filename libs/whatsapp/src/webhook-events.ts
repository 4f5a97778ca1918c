/**
 * Provider-neutral events parsed from Meta's webhook payloads (whatsapp-cloud-api.md §6).
 * The webhook ingestion turns raw bodies into these; delivery and inbound handling consume them.
 */

export type DeliveryStatusName = 'sent' | 'delivered' | 'read' | 'failed';

export interface StatusEvent {
  /** wamid of our outbound message */
  wamid: string;
  status: DeliveryStatusName;
  occurredAt: string; // ISO 8601
  recipientId: string | null;
  recipientUserId: string | null;
  /** our biz_opaque_callback_data echo */
  callbackData: string | null;
  /** Meta's error codes on `failed` */
  errorCode: number | null;
  errorTitle: string | null;
}

/** Job payload of QueueName.DeliveryStatuses: statuses of one channel, to apply in a batch. */
export interface DeliveryStatusesJob {
  tenantId: string;
  channelId: string;
  statuses: StatusEvent[];
  /** times these statuses were put back because no delivery had their message yet (absent: never) */
  round?: number;
}

/** An inbound message's kind, as far as the platform cares (unknown types are kept as `other`). */
export type InboundKind = 'text' | 'reaction' | 'button_reply' | 'list_reply' | 'quick_reply' | 'system' | 'media' | 'location' | 'contacts' | 'unsupported' | 'other';

/** A message a citizen sent to a channel (whatsapp-cloud-api.md §6.6), provider-neutral. */
export interface InboundMessageEvent {
  wamid: string;
  /** Meta's `type` as received */
  type: string;
  kind: InboundKind;
  /** sender's phone as digits (Meta's `from` / `wa_id`); absent for username-only users */
  fromWaId: string | null;
  /** sender's business-scoped user id (BSUID) */
  fromUserId: string | null;
  /** sender's profile name, from the contacts block */
  profileName: string | null;
  occurredAt: string; // ISO 8601
  /** text body, button title, caption: what a person would read */
  text: string | null;
  /** button / list reply id, or template quick-reply payload */
  replyId: string | null;
  /** reaction emoji ('' when removed) */
  emoji: string | null;
  /** wamid the message answers or reacts to (context.id, reaction.message_id) */
  contextWamid: string | null;
  /** system messages: `user_changed_number` (newWaId), `user_changed_user_id` (newUserId), ... */
  system: { type: string; newWaId: string | null; newUserId: string | null } | null;
  /** the message object as received */
  raw: Record<string, unknown>;
}

/** `user_preferences` webhook: a user stopped or resumed marketing messages. */
export interface UserPreferenceEvent {
  waId: string | null;
  userId: string | null;
  category: string;
  value: string;
  occurredAt: string;
}

/** `phone_number_quality_update`: a number's quality flag or messaging-limit tier changed (WABA-level). */
export interface PhoneQualityEvent {
  /** digits, as Meta sends `display_phone_number` */
  displayPhoneNumber: string;
  /** FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE, THROUGHPUT_UPGRADE, ... */
  event: string;
  /** `max_daily_conversations_per_business` (or the older `current_limit`), e.g. TIER_10K */
  messagingLimitTier: string | null;
}

/**
 * `message_template_status_update` (a template's review or quality status changed) or
 * `template_category_update` (Meta re-categorised it): WABA-level, routed by `entry.id`.
 */
export interface TemplateStatusEvent {
  name: string;
  language: string;
  /** Meta's template id, as a string */
  templateId: string | null;
  /** APPROVED, REJECTED, PAUSED, DISABLED, FLAGGED, REINSTATED, ...; null on a category update */
  event: string | null;
  /** the category it has now, when the change says */
  category: string | null;
  /** why (REJECTED's reason, a pause's explanation); null when Meta gives none or says NONE */
  reason: string | null;
}

/** One `changes[]` item, routed by `metadata.phone_number_id`. */
export interface WebhookChange {
  /** entry.id: the WABA */
  wabaId: string | null;
  field: string;
  /** routing key; null for WABA-level fields (templates, account) */
  phoneNumberId: string | null;
  messages: InboundMessageEvent[];
  statuses: StatusEvent[];
  userPreferences: UserPreferenceEvent[];
  /** `value.errors[]` codes of system-level problems */
  errors: { code: number | null; title: string | null }[];
  /** set on `phone_number_quality_update` changes (routed by WABA and display number) */
  quality: PhoneQualityEvent | null;
  /** set on `message_template_status_update` and `template_category_update` changes (routed by WABA) */
  template: TemplateStatusEvent | null;
}
