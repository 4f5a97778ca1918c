/**
 * A delivery's life: queued → sent → delivered → read; or failed / skipped. While a dispatch job
 * sends it, a delivery stays `queued` under the job's lease (`claimed_until`).
 */
export type DeliveryStatus = 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'skipped';

export const DELIVERY_STATUSES: DeliveryStatus[] = ['queued', 'sent', 'delivered', 'read', 'failed', 'skipped'];

/** Statuses a delivery does not leave by itself (status webhooks may still move sent → delivered → read). */
export const FINAL_STATUSES: DeliveryStatus[] = ['sent', 'delivered', 'read', 'failed', 'skipped'];

const RANK: Record<DeliveryStatus, number> = { queued: 0, sent: 1, delivered: 2, read: 3, failed: -1, skipped: -1 };

/**
 * Whether a provider status may replace the current one: never backwards (sent < delivered < read);
 * `failed` is terminal and never overrides delivered/read; nothing moves a skipped delivery.
 */
export function canMoveTo(current: DeliveryStatus, next: 'sent' | 'delivered' | 'read' | 'failed'): boolean {
  if (current === 'failed' || current === 'skipped') return false;
  if (next === 'failed') return current === 'queued' || current === 'sent';
  return RANK[next] > RANK[current];
}

/** Of several events for one message in a batch, the one that should win. */
export function strongerEvent(a: 'sent' | 'delivered' | 'read' | 'failed', b: 'sent' | 'delivered' | 'read' | 'failed'): 'sent' | 'delivered' | 'read' | 'failed' {
  const order = { sent: 1, failed: 2, delivered: 3, read: 4 };
  return order[b] > order[a] ? b : a;
}
