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
}
