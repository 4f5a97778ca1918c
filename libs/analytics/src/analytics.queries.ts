import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TenantId } from '@app/core';
import { isUuid } from '@app/database';
import { capMessagesOfMonth } from '@app/delivery';

/**
 * Counters of a campaign as the campaigns module maintains them on the row: each delivery is
 * counted once, under its current status (queued → sent → delivered → read, or failed/skipped).
 * "Handed to WhatsApp" is therefore sent + delivered + read.
 */
export interface CampaignCounters {
  id: string;
  title: string;
  status: string;
  priority: string;
  channelId: string;
  startedAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
  recipients: number;
  queued: number;
  sent: number;
  delivered: number;
  read: number;
  failed: number;
  skipped: number;
  message: Record<string, unknown>;
}

export interface SubscriberCounts {
  active: number;
  unsubscribed: number;
  pending: number;
}

export interface MessageTotals {
  /** handed to WhatsApp: sent, delivered or read */
  sent: number;
  /** delivered or read */
  delivered: number;
  read: number;
  failed: number;
}

export interface HourlyActivity {
  day: string;
  joined: number;
  left: number;
}

const int = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

const CAMPAIGN_COLUMNS = `
  c.id, c.title, c.status, c.priority, c.channel_id, c.started_at, c.completed_at, c.created_at, c.message,
  c.recipients, c.queued_count, c.sent_count, c.delivered_count, c.read_count, c.failed_count, c.skipped_count`;

type CampaignRow = Record<string, unknown>;

const toCounters = (row: CampaignRow): CampaignCounters => ({
  id: row.id as string,
  title: row.title as string,
  status: row.status as string,
  priority: row.priority as string,
  channelId: row.channel_id as string,
  startedAt: (row.started_at as Date | null) ?? null,
  completedAt: (row.completed_at as Date | null) ?? null,
  createdAt: row.created_at as Date,
  message: (row.message as Record<string, unknown>) ?? {},
  recipients: int(row.recipients),
  queued: int(row.queued_count),
  sent: int(row.sent_count),
  delivered: int(row.delivered_count),
  read: int(row.read_count),
  failed: int(row.failed_count),
  skipped: int(row.skipped_count),
});

/**
 * Read-only aggregate queries over a comune's data. Every method takes the tenant by type and
 * filters on it first (tenant_id leads every index used here); nothing writes.
 */
@Injectable()
export class TenantAnalyticsQueries {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async tenantProfile(tenantId: TenantId): Promise<{ population: number | null; timezone: string; monthlyMessageCap: number }> {
    const [row] = await this.db.query(`SELECT population, timezone, monthly_message_cap FROM tenants WHERE id = $1`, [tenantId]);
    return { population: row?.population ?? null, timezone: row?.timezone ?? 'Europe/Rome', monthlyMessageCap: int(row?.monthly_message_cap ?? 5) };
  }

  async subscriberCounts(tenantId: TenantId): Promise<SubscriberCounts> {
    const rows: { status: string; n: string }[] = await this.db.query(
      `SELECT status, count(*) AS n FROM subscribers WHERE tenant_id = $1 GROUP BY status`,
      [tenantId],
    );
    const counts: SubscriberCounts = { active: 0, unsubscribed: 0, pending: 0 };
    for (const row of rows) if (row.status in counts) counts[row.status as keyof SubscriberCounts] = int(row.n);
    return counts;
  }

  async subscribersBySource(tenantId: TenantId): Promise<{ source: string; active: number; unsubscribed: number; pending: number }[]> {
    const rows: { consent_source: string; status: string; n: string }[] = await this.db.query(
      `SELECT consent_source, status, count(*) AS n FROM subscribers WHERE tenant_id = $1 GROUP BY consent_source, status`,
      [tenantId],
    );
    const bySource = new Map<string, { source: string; active: number; unsubscribed: number; pending: number }>();
    for (const row of rows) {
      const entry = bySource.get(row.consent_source) ?? { source: row.consent_source, active: 0, unsubscribed: 0, pending: 0 };
      if (row.status === 'active' || row.status === 'unsubscribed' || row.status === 'pending') entry[row.status] = int(row.n);
      bySource.set(row.consent_source, entry);
    }
    return [...bySource.values()].sort((a, b) => b.active - a.active || a.source.localeCompare(b.source));
  }

  /** From the per-topic rollup kept by triggers (see migration AddTopicFollowerRollup). */
  async activeSubscribersByTopic(tenantId: TenantId): Promise<{ key: string; name: string; active: number }[]> {
    const rows: { key: string; name: string; n: number | null }[] = await this.db.query(
      `SELECT t.key, t.name, c.active_count AS n
         FROM topics t LEFT JOIN topic_follower_counts c ON c.tenant_id = t.tenant_id AND c.topic_id = t.id
        WHERE t.tenant_id = $1`,
      [tenantId],
    );
    return rows.map((row) => ({ key: row.key, name: row.name, active: Math.max(int(row.n), 0) })).sort((a, b) => b.active - a.active || a.key.localeCompare(b.key));
  }

  /** Deliveries by where they are, summed over the campaigns' counters (no delivery scan). */
  async messageTotals(tenantId: TenantId, startedSince?: Date): Promise<MessageTotals> {
    const [row] = await this.db.query(
      `SELECT coalesce(sum(sent_count + delivered_count + read_count), 0) AS sent,
              coalesce(sum(delivered_count + read_count), 0) AS delivered,
              coalesce(sum(read_count), 0) AS read,
              coalesce(sum(failed_count), 0) AS failed
         FROM campaigns WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR started_at >= $2)`,
      [tenantId, startedSince ?? null],
    );
    return { sent: int(row.sent), delivered: int(row.delivered), read: int(row.read), failed: int(row.failed) };
  }

  async campaignTotals(tenantId: TenantId): Promise<{ total: number; completed: number }> {
    const [row] = await this.db.query(
      `SELECT count(*) AS total, count(*) FILTER (WHERE status = 'completed') AS completed FROM campaigns WHERE tenant_id = $1`,
      [tenantId],
    );
    return { total: int(row.total), completed: int(row.completed) };
  }

  /**
   * The most of the monthly cap any active subscriber has used since `since`: the same messages the
   * launch counts when it skips those who reached it (capMessagesOfMonth).
   */
  async mostCapUsed(tenantId: TenantId, since: Date): Promise<number> {
    const [row] = await this.db.query(
      `SELECT coalesce(max(used.n), 0) AS most FROM (
         SELECT month.subscriber_id, sum(month.w) AS n FROM (${capMessagesOfMonth({ tenant: '$1', since: '$2::timestamptz', when: 'true' })}
         ) month WHERE month.subscriber_id IS NOT NULL GROUP BY month.subscriber_id
       ) used JOIN subscribers s ON s.id = used.subscriber_id AND s.tenant_id = $1 AND s.status = 'active'`,
      [tenantId, since],
    );
    return int(row.most);
  }

  /** Campaigns started in a local month, split by priority (the monthly cap exempts emergencies). */
  async campaignsStartedBetween(tenantId: TenantId, from: Date, to: Date): Promise<{ normal: number; emergency: number; handed: number }> {
    const [row] = await this.db.query(
      `SELECT count(*) FILTER (WHERE priority = 'normal') AS normal,
              count(*) FILTER (WHERE priority = 'emergency') AS emergency,
              coalesce(sum(sent_count + delivered_count + read_count), 0) AS handed
         FROM campaigns WHERE tenant_id = $1 AND started_at >= $2 AND started_at < $3`,
      [tenantId, from, to],
    );
    return { normal: int(row.normal), emergency: int(row.emergency), handed: int(row.handed) };
  }

  /**
   * Joins and leaves per local day between two local dates (inclusive), from the hourly rollup,
   * and the net change after the last day (to anchor the active count on today's).
   */
  async dailyActivity(tenantId: TenantId, timezone: string, from: string, to: string): Promise<{ days: HourlyActivity[]; netAfter: number }> {
    const days: { day: string; joined: string; left: string }[] = await this.db.query(
      `SELECT to_char((h.hour AT TIME ZONE $2)::date, 'YYYY-MM-DD') AS day, sum(h.joined_count) AS joined, sum(h.left_count) AS left
         FROM subscriber_activity_hourly h
        WHERE h.tenant_id = $1
          AND h.hour >= ($3::date::timestamp AT TIME ZONE $2)
          AND h.hour < (($4::date + 1)::timestamp AT TIME ZONE $2)
        GROUP BY 1`,
      [tenantId, timezone, from, to],
    );
    const [after] = await this.db.query(
      `SELECT coalesce(sum(joined_count - left_count), 0) AS net FROM subscriber_activity_hourly
        WHERE tenant_id = $1 AND hour >= (($3::date + 1)::timestamp AT TIME ZONE $2)`,
      [tenantId, timezone, to],
    );
    return { days: days.map((d) => ({ day: d.day, joined: int(d.joined), left: int(d.left) })), netAfter: int(after.net) };
  }

  async findCampaign(tenantId: TenantId, id: string): Promise<CampaignCounters | null> {
    if (!isUuid(id)) return null;
    const [row] = await this.db.query(`SELECT ${CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.tenant_id = $1 AND c.id = $2`, [tenantId, id]);
    return row ? toCounters(row) : null;
  }

  /** Newest first; the cursor is the last row's (created_at, id). */
  async listCampaigns(tenantId: TenantId, limit: number, after?: { createdAt: string; id: string }): Promise<CampaignCounters[]> {
    const rows: CampaignRow[] = await this.db.query(
      `SELECT ${CAMPAIGN_COLUMNS} FROM campaigns c
        WHERE c.tenant_id = $1 AND ($2::timestamptz IS NULL OR (c.created_at, c.id) < ($2::timestamptz, $3::uuid))
        ORDER BY c.created_at DESC, c.id DESC LIMIT $4`,
      [tenantId, after?.createdAt ?? null, after?.id ?? null, limit],
    );
    return rows.map(toCounters);
  }

  async skippedReasons(tenantId: TenantId, campaignId: string): Promise<{ reason: string; count: number }[]> {
    const rows: { reason: string | null; n: string }[] = await this.db.query(
      `SELECT reason, count(*) AS n FROM deliveries WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'skipped'
        GROUP BY reason ORDER BY count(*) DESC, reason`,
      [tenantId, campaignId],
    );
    return rows.map((row) => ({ reason: row.reason ?? 'unknown', count: int(row.n) }));
  }

  async failedCodes(tenantId: TenantId, campaignId: string): Promise<{ code: number | null; count: number }[]> {
    const rows: { error_code: number | null; n: string }[] = await this.db.query(
      `SELECT error_code, count(*) AS n FROM deliveries WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'failed'
        GROUP BY error_code ORDER BY count(*) DESC, error_code`,
      [tenantId, campaignId],
    );
    return rows.map((row) => ({ code: row.error_code === null ? null : Number(row.error_code), count: int(row.n) }));
  }

  /**
   * Seconds from the campaign's start to each delivery's `delivered`, at the 50th, 90th and 95th
   * percentile, over at most `sample` delivered rows (a bounded read for very large campaigns).
   */
  async timeToDelivered(tenantId: TenantId, campaignId: string, sample: number): Promise<{ p50: number; p90: number; p95: number; sampleSize: number } | null> {
    const [row] = await this.db.query(
      `SELECT count(*) AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50,
              percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY s) AS p95
         FROM (SELECT greatest(extract(epoch FROM d.delivered_at - coalesce(c.started_at, d.sent_at, d.created_at)), 0) AS s
                 FROM deliveries d JOIN campaigns c ON c.tenant_id = d.tenant_id AND c.id = d.campaign_id
                WHERE d.tenant_id = $1 AND d.campaign_id = $2 AND d.status IN ('delivered', 'read') AND d.delivered_at IS NOT NULL
                LIMIT $3) t`,
      [tenantId, campaignId, sample],
    );
    if (!row || int(row.n) === 0) return null;
    const round = (value: unknown) => Math.round(Number(value) * 10) / 10;
    return { p50: round(row.p50), p90: round(row.p90), p95: round(row.p95), sampleSize: int(row.n) };
  }

  async pollVotes(tenantId: TenantId, campaignId: string): Promise<Map<number, number>> {
    const rows: { option_index: number; n: string }[] = await this.db.query(
      `SELECT option_index, count(*) AS n FROM poll_votes WHERE tenant_id = $1 AND campaign_id = $2 GROUP BY option_index`,
      [tenantId, campaignId],
    );
    return new Map(rows.map((row) => [Number(row.option_index), int(row.n)]));
  }

  /** Each citizen's latest reaction to the campaign (a removed reaction, empty emoji, counts for none). */
  async reactions(tenantId: TenantId, campaignId: string): Promise<{ emoji: string; count: number }[]> {
    const rows: { emoji: string; n: string }[] = await this.db.query(
      `SELECT emoji, count(*) AS n FROM (
          SELECT DISTINCT ON (coalesce(subscriber_id::text, from_phone, from_user_id))
                 coalesce(payload->'reaction'->>'emoji', text, '') AS emoji
            FROM inbound_messages
           WHERE tenant_id = $1 AND campaign_id = $2 AND type = 'reaction'
           ORDER BY coalesce(subscriber_id::text, from_phone, from_user_id), received_at DESC
        ) latest
        WHERE emoji <> ''
        GROUP BY emoji ORDER BY count(*) DESC, emoji`,
      [tenantId, campaignId],
    );
    return rows.map((row) => ({ emoji: row.emoji, count: int(row.n) }));
  }

  /** Deliveries of a campaign a batch at a time (CSV export), keyset on (status, id) to follow an index. */
  async deliveryBatch(tenantId: TenantId, campaignId: string, after: { status: string; id: string }, limit: number): Promise<Record<string, unknown>[]> {
    return this.db.query(
      `SELECT d.id::text AS id, d.subscriber_id, d.recipient, d.status, d.reason, d.error_code, d.provider_message_id,
              d.sent_at, d.delivered_at, d.read_at, d.failed_at, d.updated_at
         FROM deliveries d
        WHERE d.tenant_id = $1 AND d.campaign_id = $2 AND (d.status, d.id) > ($3::varchar, $4::bigint)
        ORDER BY d.status, d.id LIMIT $5`,
      [tenantId, campaignId, after.status, after.id, limit],
    );
  }
}
