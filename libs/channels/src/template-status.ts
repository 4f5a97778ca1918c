import { TEMPLATE_STATUSES } from './message-template.entity';

const STATUSES = new Set<string>(TEMPLATE_STATUSES);

/**
 * The status a template has after a `message_template_status_update` event, or null when the
 * event leaves it as it is. Events that are statuses set it; REINSTATED (a pause lifted) and
 * UNARCHIVED (an unused approved template brought back) make it sendable again; FLAGGED (quality
 * dropped: paused if it does not recover) and LOCKED (no more edits) do not change what can be
 * sent; an event the platform does not know is not taken to block sending.
 */
export function templateStatusAfter(event: string | null): string | null {
  if (!event) return null;
  if (STATUSES.has(event)) return event;
  if (event === 'REINSTATED' || event === 'UNARCHIVED') return 'APPROVED';
  return null;
}

/** What an event that does not change the status still tells the comune. */
export function templateEventNote(event: string | null, reason: string | null): string | null {
  if (event === 'FLAGGED') return `quality flagged by WhatsApp${reason ? `: ${reason}` : ''}; it is paused if it does not recover`;
  return reason;
}
