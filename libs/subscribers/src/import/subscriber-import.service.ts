import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Readable } from 'stream';
import { DataSource, EntityManager } from 'typeorm';
import { Clock, TenantId } from '@app/core';
import { ChannelSecrets, ChannelsRepository, resolveSettings } from '@app/channels';
import { normalizePhone } from '../phone';
import { TopicsRepository } from '../topics.repository';
import { readImportCsv } from './import-csv';

export interface ImportResult {
  imported: number;
  updated: number;
  /** lines that named a phone an earlier line of the file had: merged into that line's subscriber */
  merged: number;
  /** the first MAX_REJECTIONS_LISTED rejected lines */
  rejected: { line: number; reason: string }[];
  /** every rejected line, listed or not */
  rejectedCount: number;
}

interface ImportRow {
  phone: string;
  name: string | null;
  topicIds: Set<string>;
}

const BATCH = 5000;
const MAX_REJECTIONS_LISTED = 1000;

/** The longest name a subscriber may have (the API's limit too). */
const MAX_NAME_LENGTH = 200;
/**
 * CSV import (`phone,name,topics` or `phone;name;topics`, topics separated by `|`): streamed parse,
 * rows validated and merged by phone in memory, then written set-based in batches (INSERT ... SELECT
 * unnest ... ON CONFLICT) in one transaction. New subscribers are active with consent source
 * `import`; existing ones get the name and topics merged but keep their status (an opt-out stays an
 * opt-out), and erased contacts are refused until they opt in again themselves.
 */
@Injectable()
export class SubscriberImportService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly channels: ChannelsRepository,
    private readonly topics: TopicsRepository,
    private readonly secrets: ChannelSecrets,
    private readonly clock: Clock,
  ) {}

  async import(tenantId: TenantId, channelId: string, csv: Readable | Buffer): Promise<ImportResult> {
    const channel = await this.channels.getById(tenantId, channelId);
    const topicIdByKey = new Map((await this.topics.listAll(tenantId)).map((t) => [t.key, t.id]));
    const suppressed = new Set(
      ((await this.dataSource.query(`SELECT contact_hash FROM suppressed_contacts WHERE tenant_id = $1 AND channel_id = $2`, [tenantId, channel.id])) as { contact_hash: string }[]).map(
        (r) => r.contact_hash,
      ),
    );
    const rejected: ImportResult['rejected'] = [];
    let rejectedCount = 0;
    const reject = (line: number, reason: string) => {
      rejectedCount++;
      if (rejected.length < MAX_REJECTIONS_LISTED) rejected.push({ line, reason });
    };
    const rows = new Map<string, ImportRow>();
    let merged = 0;

    for await (const record of readImportCsv(csv)) {
      const { line } = record;
      // "Rossi, Mario" unquoted splits into two fields: the row's columns no longer line up with
      // the header's, and its topics would be read from a piece of the name.
      if (record.extraFields > 0) {
        reject(line, `more fields than the header's columns: a name or value containing the separator must be in double quotes ("Rossi, Mario")`);
        continue;
      }
      const phone = normalizePhone(record.phone ?? '');
      if (!phone) {
        reject(line, record.phone ? 'invalid phone number' : 'missing phone number');
        continue;
      }
      const keys = (record.topics ?? '').split('|').map((k) => k.trim()).filter(Boolean);
      const unknown = keys.filter((k) => !topicIdByKey.has(k));
      if (unknown.length) {
        reject(line, `unknown topic ${unknown.join(', ')}`);
        continue;
      }
      if (suppressed.size && suppressed.has(this.secrets.digest(`contact:${phone}`))) {
        reject(line, 'erased at the person\'s request: only they can subscribe again');
        continue;
      }
      if (record.name?.includes('\u0000')) {
        reject(line, 'name contains a NUL character');
        continue;
      }
      // As the API refuses it (a cut name would be stored as if it were the person's).
      if (record.name && record.name.length > MAX_NAME_LENGTH) {
        reject(line, `name is longer than ${MAX_NAME_LENGTH} characters`);
        continue;
      }
      const name = record.name || null;
      const existing = rows.get(phone);
      if (existing) {
        merged++;
        if (name) existing.name = name;
        for (const k of keys) existing.topicIds.add(topicIdByKey.get(k)!);
      } else {
        rows.set(phone, { phone, name, topicIds: new Set(keys.map((k) => topicIdByKey.get(k)!)) });
      }
    }

    const all = [...rows.values()];
    let imported = 0;
    let updated = 0;
    const privacyNoticeVersion = resolveSettings(channel).privacyNoticeVersion;
    await this.dataSource.transaction(async (manager) => {
      for (let i = 0; i < all.length; i += BATCH) {
        const result = await this.writeBatch(manager, tenantId, channel.id, all.slice(i, i + BATCH), privacyNoticeVersion);
        imported += result.imported;
        updated += result.updated;
      }
    });
    return { imported, updated, merged, rejected, rejectedCount };
  }

  private async writeBatch(manager: EntityManager, tenantId: TenantId, channelId: string, batch: ImportRow[], privacyNoticeVersion: string): Promise<{ imported: number; updated: number }> {
    const now = this.clock.now();
    const upserted = (await manager.query(
      `INSERT INTO subscribers (tenant_id, channel_id, phone, wa_id, name, status, consent_source, subscribed_at)
       SELECT $1, $2, p, substr(p, 2), n, 'active', 'import', $3 FROM unnest($4::text[], $5::text[]) AS u(p, n)
       ON CONFLICT (tenant_id, channel_id, phone) WHERE phone IS NOT NULL
       DO UPDATE SET name = COALESCE(EXCLUDED.name, subscribers.name), updated_at = now()
       RETURNING id, phone, (xmax = 0) AS inserted`,
      [tenantId, channelId, now, batch.map((r) => r.phone), batch.map((r) => r.name)],
    )) as { id: string; phone: string; inserted: boolean }[];
    const idByPhone = new Map(upserted.map((r) => [r.phone, r.id]));
    const inserted = upserted.filter((r) => r.inserted).map((r) => r.id);
    if (inserted.length) {
      await manager.query(
        `INSERT INTO consent_events (tenant_id, subscriber_id, channel_id, action, source, privacy_notice_version, occurred_at)
         SELECT $1, s, $2, 'subscribed', 'import', $3, $4 FROM unnest($5::uuid[]) AS u(s)`,
        [tenantId, channelId, privacyNoticeVersion, now, inserted],
      );
    }
    const pairs: [string, string][] = [];
    for (const row of batch) for (const topicId of row.topicIds) pairs.push([idByPhone.get(row.phone)!, topicId]);
    if (pairs.length) {
      await manager.query(
        `INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id) SELECT $1, s, t FROM unnest($2::uuid[], $3::uuid[]) AS u(s, t) ON CONFLICT DO NOTHING`,
        [tenantId, pairs.map((p) => p[0]), pairs.map((p) => p[1])],
      );
    }
    return { imported: inserted.length, updated: upserted.length - inserted.length };
  }
}
