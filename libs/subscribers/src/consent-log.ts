import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ConsentAction, ConsentEvent, SuppressedContact } from './consent-event.entity';

export interface ConsentRecord {
  tenantId: string;
  channelId: string;
  subscriberId: string | null;
  action: ConsentAction;
  source: string;
  messageId?: string | null;
  privacyNoticeVersion?: string | null;
  details?: Record<string, unknown> | null;
  occurredAt: Date;
}

/** Writes the append-only consent history and the suppression list. */
@Injectable()
export class ConsentLog {
  async record(manager: EntityManager, record: ConsentRecord): Promise<void> {
    const events = manager.getRepository(ConsentEvent);
    await events.save(events.create({
      tenantId: record.tenantId,
      channelId: record.channelId,
      subscriberId: record.subscriberId,
      action: record.action,
      source: record.source,
      messageId: record.messageId ?? null,
      privacyNoticeVersion: record.privacyNoticeVersion ?? null,
      details: record.details ?? null,
      occurredAt: record.occurredAt,
    }));
  }

  async suppress(manager: EntityManager, tenantId: string, channelId: string, hashes: string[]): Promise<void> {
    if (hashes.length === 0) return;
    await manager
      .createQueryBuilder()
      .insert()
      .into(SuppressedContact)
      .values(hashes.map((contactHash) => ({ tenantId, channelId, contactHash })))
      .orIgnore()
      .execute();
  }

  /**
   * When the subscribers last left (any source), and last joined by their own keyword, by the
   * citizen's clock where the event keeps it: a keyword's or WhatsApp stop's event holds its send
   * time (details.sentAt); the others happened when they were recorded.
   */
  async latestDecisions(manager: EntityManager, tenantId: string, channelId: string, subscriberIds: string[]): Promise<{ leftAt: Date | null; joinedByKeywordAt: Date | null }> {
    const [row] = (await manager.query(
      `SELECT max(COALESCE((details->>'sentAt')::timestamptz, occurred_at)) FILTER (WHERE action IN ('unsubscribed', 'withdrawn')) AS "leftAt",
              max((details->>'sentAt')::timestamptz) FILTER (WHERE action = 'subscribed' AND source = 'keyword') AS "joinedByKeywordAt"
         FROM consent_events WHERE tenant_id = $1 AND channel_id = $2 AND subscriber_id = ANY($3::uuid[])`,
      [tenantId, channelId, subscriberIds],
    )) as { leftAt: Date | null; joinedByKeywordAt: Date | null }[];
    return { leftAt: row?.leftAt ?? null, joinedByKeywordAt: row?.joinedByKeywordAt ?? null };
  }

  /** A new opt-in lifts the suppression of an erased contact. */
  async lift(manager: EntityManager, tenantId: string, channelId: string, hashes: string[]): Promise<void> {
    if (hashes.length === 0) return;
    await manager.query(`DELETE FROM suppressed_contacts WHERE tenant_id = $1 AND channel_id = $2 AND contact_hash = ANY($3)`, [tenantId, channelId, hashes]);
  }
}
