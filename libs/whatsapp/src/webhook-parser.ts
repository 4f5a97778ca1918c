import type { DeliveryStatusName, InboundKind, InboundMessageEvent, PhoneQualityEvent, StatusEvent, TemplateStatusEvent, UserPreferenceEvent, WebhookChange } from './webhook-events';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const str = (value: unknown): string | null => (typeof value === 'string' && value.length > 0 ? value : typeof value === 'number' ? String(value) : null);
const STATUSES = new Set<DeliveryStatusName>(['sent', 'delivered', 'read', 'failed']);

/** How far ahead of our clock an event's timestamp may be (clock skew); beyond it the time of receipt is used. */
const MAX_CLOCK_AHEAD_MS = 3_600_000;

/**
 * Unix seconds (string or number) → ISO 8601; a missing or bad value yields `fallback`, and so
 * does one beyond any date or more than an hour in the future (it would hold a 24-hour window open
 * for ever): one bad field costs the item its own time, never the rest of the webhook.
 */
function toIso(value: unknown, fallback: Date): string {
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  const at = Number.isFinite(seconds) ? new Date(seconds * 1000) : null;
  return at && !Number.isNaN(at.getTime()) && at.getTime() <= Math.max(fallback.getTime(), Date.now()) + MAX_CLOCK_AHEAD_MS ? at.toISOString() : fallback.toISOString();
}

/** Identifiers as long as we store them (wamid 255, BSUID 160): a longer one is no Meta id. */
const MAX_WAMID = 255;
const MAX_USER_ID = 160;
const MAX_PROFILE_NAME = 200;
const bounded = (value: string | null, max: number): string | null => (value !== null && value.length <= max ? value : null);

/**
 * Parses Meta's webhook envelope into changes routed by phone_number_id. Tolerant by design
 * (whatsapp-cloud-api.md §10): absent `from`/`wa_id`, unknown types and statuses, missing blocks and
 * malformed items are skipped, never thrown on. Contacts are matched by wa_id/user_id, not position.
 */
export function parseWebhookPayload(payload: unknown, now: Date = new Date()): WebhookChange[] {
  if (!isObject(payload)) return [];
  const changes: WebhookChange[] = [];
  for (const entry of asArray(payload.entry)) {
    if (!isObject(entry)) continue;
    const wabaId = str(entry.id);
    for (const change of asArray(entry.changes)) {
      if (!isObject(change) || !isObject(change.value)) continue;
      const value = change.value;
      const metadata = isObject(value.metadata) ? value.metadata : {};
      const contacts = asArray(value.contacts).filter(isObject);
      const field = str(change.field) ?? 'unknown';
      changes.push({
        wabaId,
        field,
        phoneNumberId: str(metadata.phone_number_id),
        messages: asArray(value.messages)
          .filter(isObject)
          .map((message) => parseMessage(message, contacts, now))
          .filter((m): m is InboundMessageEvent => m !== null),
        statuses: asArray(value.statuses)
          .filter(isObject)
          .map((status) => parseStatus(status, now))
          .filter((s): s is StatusEvent => s !== null),
        userPreferences: asArray(value.user_preferences)
          .filter(isObject)
          .map((pref) => parsePreference(pref, now))
          .filter((p): p is UserPreferenceEvent => p !== null),
        errors: asArray(value.errors)
          .filter(isObject)
          .map((error) => ({ code: typeof error.code === 'number' ? error.code : null, title: str(error.title) })),
        quality: field === 'phone_number_quality_update' ? parseQuality(value) : null,
        template: TEMPLATE_FIELDS.has(field) ? parseTemplateChange(value) : null,
      });
    }
  }
  return changes;
}

function parseStatus(status: Json, now: Date): StatusEvent | null {
  const wamid = str(status.id);
  const name = str(status.status) as DeliveryStatusName | null;
  if (!wamid || !name || !STATUSES.has(name)) return null;
  const error = asArray(status.errors).find(isObject);
  return {
    wamid,
    status: name,
    occurredAt: toIso(status.timestamp, now),
    recipientId: str(status.recipient_id),
    recipientUserId: str(status.recipient_user_id),
    callbackData: str(status.biz_opaque_callback_data),
    errorCode: error && typeof error.code === 'number' ? error.code : null,
    errorTitle: error ? str(error.title) : null,
  };
}

const TEMPLATE_FIELDS = new Set(['message_template_status_update', 'template_category_update']);

/** Both template fields name the template the same way; a status update says `event`, a category update `new_category`. */
function parseTemplateChange(value: Json): TemplateStatusEvent | null {
  const name = str(value.message_template_name);
  const language = str(value.message_template_language);
  if (!name || !language) return null;
  const reason = str(value.reason) ?? str(value.other_info && isObject(value.other_info) ? value.other_info.description : null);
  return {
    name,
    language,
    templateId: str(value.message_template_id),
    event: str(value.event)?.toUpperCase() ?? null,
    category: (str(value.new_category) ?? str(value.message_template_category))?.toUpperCase() ?? null,
    reason: reason && reason.toUpperCase() !== 'NONE' ? reason : null,
  };
}

function parseQuality(value: Json): PhoneQualityEvent | null {
  const displayPhoneNumber = str(value.display_phone_number)?.replace(/\D/g, '');
  const event = str(value.event);
  if (!displayPhoneNumber || !event) return null;
  return { displayPhoneNumber, event, messagingLimitTier: str(value.max_daily_conversations_per_business) ?? str(value.current_limit) };
}

function parsePreference(pref: Json, now: Date): UserPreferenceEvent | null {
  const value = str(pref.value);
  if (!value) return null;
  return { waId: str(pref.wa_id), userId: str(pref.user_id), category: str(pref.category) ?? 'unknown', value, occurredAt: toIso(pref.timestamp, now) };
}

const MEDIA = new Set(['image', 'video', 'audio', 'document', 'sticker']);

function parseMessage(message: Json, contacts: Json[], now: Date): InboundMessageEvent | null {
  const wamid = bounded(str(message.id), MAX_WAMID);
  if (!wamid) return null;
  const type = str(message.type) ?? 'unknown';
  const fromWaId = str(message.from);
  const fromUserId = bounded(str(message.from_user_id), MAX_USER_ID);
  const contact =
    contacts.find((c) => (fromWaId && c.wa_id === fromWaId) || (fromUserId && c.user_id === fromUserId)) ?? (contacts.length === 1 ? contacts[0] : undefined);
  const profile = contact && isObject(contact.profile) ? contact.profile : {};
  const context = isObject(message.context) ? message.context : {};
  const event: InboundMessageEvent = {
    wamid,
    type,
    kind: 'other',
    fromWaId: fromWaId ?? (contact ? str(contact.wa_id) : null),
    fromUserId: fromUserId ?? (contact ? bounded(str(contact.user_id), MAX_USER_ID) : null),
    // A display name is only shown: one longer than we keep is cut, not a reason to drop the message.
    profileName: str(profile.name)?.slice(0, MAX_PROFILE_NAME) ?? null,
    occurredAt: toIso(message.timestamp, now),
    text: null,
    replyId: null,
    emoji: null,
    contextWamid: str(context.id),
    system: null,
    raw: message,
  };
  const body = isObject(message[type]) ? (message[type] as Json) : {};
  let kind: InboundKind = 'other';
  switch (type) {
    case 'text':
      kind = 'text';
      event.text = str(body.body);
      break;
    case 'reaction':
      kind = 'reaction';
      event.contextWamid = str(body.message_id) ?? event.contextWamid;
      event.emoji = typeof body.emoji === 'string' ? body.emoji : '';
      break;
    case 'interactive': {
      const reply = isObject(body.button_reply) ? body.button_reply : isObject(body.list_reply) ? body.list_reply : null;
      kind = isObject(body.button_reply) ? 'button_reply' : isObject(body.list_reply) ? 'list_reply' : 'other';
      if (reply) {
        event.replyId = str(reply.id);
        event.text = str(reply.title);
      }
      break;
    }
    case 'button':
      kind = 'quick_reply';
      event.replyId = str(body.payload);
      event.text = str(body.text);
      break;
    case 'system':
      kind = 'system';
      event.text = str(body.body);
      event.system = { type: str(body.type) ?? 'unknown', newWaId: str(body.wa_id), newUserId: str(body.user_id) };
      break;
    case 'location':
      kind = 'location';
      event.text = str(body.name) ?? str(body.address);
      break;
    case 'contacts':
      kind = 'contacts';
      break;
    case 'unsupported':
      kind = 'unsupported';
      break;
    default:
      if (MEDIA.has(type)) {
        kind = 'media';
        event.text = str(body.caption);
      }
  }
  event.kind = kind;
  return event;
}
