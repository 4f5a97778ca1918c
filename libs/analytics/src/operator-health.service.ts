import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Clock } from '@app/core';
import { ALL_QUEUES, QueueCounts, QueueTransport } from '@app/queue';

export interface ChannelHealth {
  id: string;
  tenantId: string;
  tenantName: string;
  name: string;
  provider: string;
  displayPhoneNumber: string;
  status: string;
  pausedReason: string | null;
  qualityRating: string | null;
  messagingLimitTier: string | null;
  messagesPerSecond: number;
  sentLastMinute: number;
  sentLast5Minutes: number;
  sentLastHour: number;
  failedLastHour: number;
  /** failed / (handed + failed) over the last hour; null without traffic */
  errorRate: number | null;
  providerErrors: { code: number | null; count: number }[];
}

export interface StuckCampaign {
  id: string;
  tenantId: string;
  title: string;
  pending: number;
  /** when the longest-waiting delivery last moved */
  lastProgressAt: string;
}

/** A campaign still to send whose channel is paused: nothing of it goes until the channel is active. */
export interface HeldCampaign {
  id: string;
  tenantId: string;
  title: string;
  priority: string;
  channelId: string;
  pausedReason: string | null;
  /** deliveries waiting */
  queued: number;
}

export interface OperatorHealth {
  generatedAt: string;
  queues: QueueCounts[];
  throughput: { lastMinute: number; last5Minutes: number };
  providerErrors: { code: number | null; count: number }[];
  channels: ChannelHealth[];
  stuckCampaigns: StuckCampaign[];
  /**
   * Deliveries waiting to be tried again, by the code of their last failed attempt (130429: a
   * number's rate set above what Meta allows; 190: a token to renew; 5xx...): seen before they fail
   */
  retryingErrors: { code: number | null; count: number }[];
  /** campaigns sending on a paused channel, emergencies first: seen at once, not after the stuck threshold */
  heldCampaigns: HeldCampaign[];
  tenantsByVolume: { tenantId: string; name: string; messagesLast30Days: number; campaignsLast30Days: number }[];
}

/** Provider errors count over this window. */
export const PROVIDER_ERROR_WINDOW_HOURS = 24;
/** A sending campaign whose waiting deliveries have not moved for this long is stuck. */
export const STUCK_AFTER_MINUTES = 10;
const CHANNEL_LIMIT = 500;

const int = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/**
 * The platform operator's view across every comune: queues, throughput, provider errors per
 * channel, stuck campaigns. Not tenant-scoped on purpose (platform_admin only).
 */
@Injectable()
export class OperatorHealthService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly transport: QueueTransport,
    private readonly clock: Clock,
  ) {}

  async queueCounts(): Promise<QueueCounts[]> {
    return Promise.all(ALL_QUEUES.map((name) => this.transport.counts(name)));
  }

  async snapshot(): Promise<OperatorHealth> {
    const now = this.clock.now();
    const [queues, throughput, providerErrors, retryingErrors, channels, stuckCampaigns, heldCampaigns, tenantsByVolume] = await Promise.all([
      this.queueCounts(),
      this.throughput(now),
      this.providerErrors(now),
      this.retryingErrors(now),
      this.channels(now),
      this.stuckCampaigns(now),
      this.heldCampaigns(),
      this.tenantsByVolume(now),
    ]);
    return { generatedAt: now.toISOString(), queues, throughput, providerErrors, retryingErrors, channels, stuckCampaigns, heldCampaigns, tenantsByVolume };
  }

  private async throughput(now: Date): Promise<{ lastMinute: number; last5Minutes: number }> {
    const [row] = await this.db.query(
      `SELECT count(*) FILTER (WHERE sent_at > $1::timestamptz - interval '1 minute') AS one,
              count(*) AS five
         FROM deliveries WHERE sent_at IS NOT NULL AND sent_at > $1::timestamptz - interval '5 minutes' AND sent_at <= $1::timestamptz`,
      [now],
    );
    return { lastMinute: int(row.one), last5Minutes: int(row.five) };
  }

  /** Failed deliveries by provider code within the window. */
  private providerErrors(now: Date): Promise<{ code: number | null; count: number }[]> {
    return this.errorCounts(now, 'failed');
  }

  /** Deliveries waiting to be tried again, by the code of their last attempt (the queued index, by updated_at). */
  private retryingErrors(now: Date): Promise<{ code: number | null; count: number }[]> {
    return this.errorCounts(now, 'queued');
  }

  private async errorCounts(now: Date, status: 'failed' | 'queued'): Promise<{ code: number | null; count: number }[]> {
    const rows: { error_code: number | null; n: string }[] = await this.db.query(
      `SELECT error_code, count(*) AS n FROM deliveries
        WHERE status = $3 AND updated_at > $1::timestamptz - make_interval(hours => $2)
          AND ($3 = 'failed' OR error_code IS NOT NULL OR error_detail IS NOT NULL)
        GROUP BY error_code ORDER BY count(*) DESC, error_code`,
      [now, PROVIDER_ERROR_WINDOW_HOURS, status],
    );
    return rows.map((row) => ({ code: row.error_code === null ? null : Number(row.error_code), count: int(row.n) }));
  }


  private async channels(now: Date): Promise<ChannelHealth[]> {
    const [channels, sends, failures] = await Promise.all([
      this.db.query(
        `SELECT c.id, c.tenant_id, t.name AS tenant_name, c.name, c.provider, c.display_phone_number, c.status, c.paused_reason,
                c.quality_rating, c.messaging_limit_tier, c.messages_per_second
           FROM channels c JOIN tenants t ON t.id = c.tenant_id
          ORDER BY (c.status = 'paused') DESC, c.created_at LIMIT ${CHANNEL_LIMIT}`,
      ) as Promise<Record<string, unknown>[]>,
      this.db.query(
        `SELECT channel_id,
                count(*) FILTER (WHERE sent_at > $1::timestamptz - interval '1 minute') AS one,
                count(*) FILTER (WHERE sent_at > $1::timestamptz - interval '5 minutes') AS five,
                count(*) AS hour
           FROM deliveries WHERE sent_at IS NOT NULL AND sent_at > $1::timestamptz - interval '1 hour' AND sent_at <= $1::timestamptz
          GROUP BY channel_id`,
        [now],
      ) as Promise<Record<string, unknown>[]>,
      this.db.query(
        `SELECT channel_id, error_code, count(*) AS n,
                count(*) FILTER (WHERE updated_at > $1::timestamptz - interval '1 hour') AS hour,
                -- failed in the hour and not handed over in it: the others are among its sends already
                count(*) FILTER (WHERE updated_at > $1::timestamptz - interval '1 hour' AND (sent_at IS NULL OR sent_at <= $1::timestamptz - interval '1 hour')) AS hour_unsent
           FROM deliveries WHERE status = 'failed' AND updated_at > $1::timestamptz - make_interval(hours => $2)
          GROUP BY channel_id, error_code ORDER BY count(*) DESC`,
        [now, PROVIDER_ERROR_WINDOW_HOURS],
      ) as Promise<Record<string, unknown>[]>,
    ]);
    const sendsByChannel = new Map(sends.map((row) => [row.channel_id as string, row]));
    const failuresByChannel = new Map<string, Record<string, unknown>[]>();
    for (const row of failures) failuresByChannel.set(row.channel_id as string, [...(failuresByChannel.get(row.channel_id as string) ?? []), row]);
    return channels.map((c) => {
      const sent = sendsByChannel.get(c.id as string);
      const failed = failuresByChannel.get(c.id as string) ?? [];
      const sentLastHour = int(sent?.hour);
      const failedLastHour = failed.reduce((sum, row) => sum + int(row.hour), 0);
      // Messages tried in the hour: handed over (some failed since, by Meta's status), or failed before.
      const triedLastHour = sentLastHour + failed.reduce((sum, row) => sum + int(row.hour_unsent), 0);
      return {
        id: c.id as string,
        tenantId: c.tenant_id as string,
        tenantName: c.tenant_name as string,
        name: c.name as string,
        provider: c.provider as string,
        displayPhoneNumber: c.display_phone_number as string,
        status: c.status as string,
        pausedReason: (c.paused_reason as string | null) ?? null,
        qualityRating: (c.quality_rating as string | null) ?? null,
        messagingLimitTier: (c.messaging_limit_tier as string | null) ?? null,
        messagesPerSecond: int(c.messages_per_second),
        sentLastMinute: int(sent?.one),
        sentLast5Minutes: int(sent?.five),
        sentLastHour,
        failedLastHour,
        errorRate: triedLastHour > 0 ? Math.round((failedLastHour / triedLastHour) * 10_000) / 10_000 : null,
        providerErrors: failed.map((row) => ({ code: row.error_code === null ? null : Number(row.error_code), count: int(row.n) })),
      };
    });
  }

  /**
   * Campaigns in `sending` with queued deliveries untouched for N minutes and
   * nothing of theirs handed to WhatsApp in those N minutes: a crashed worker, a lost queue, a
   * channel that cannot send.
   */
  private async stuckCampaigns(now: Date): Promise<StuckCampaign[]> {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT c.id, c.tenant_id, c.title, w.pending, w.last_progress
         FROM campaigns c
         CROSS JOIN LATERAL (
           SELECT count(*) AS pending, min(d.updated_at) AS last_progress FROM deliveries d
            WHERE d.tenant_id = c.tenant_id AND d.campaign_id = c.id AND d.status = 'queued'
              AND d.updated_at < $1::timestamptz - make_interval(mins => $2)
         ) w
        WHERE c.status = 'sending' AND w.pending > 0
          AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.sent_at IS NOT NULL AND d.sent_at >= $1::timestamptz - make_interval(mins => $2)
                            AND d.tenant_id = c.tenant_id AND d.campaign_id = c.id)
        ORDER BY w.last_progress LIMIT 100`,
      [now, STUCK_AFTER_MINUTES],
    );
    return rows.map((row) => ({
      id: row.id as string,
      tenantId: row.tenant_id as string,
      title: row.title as string,
      pending: int(row.pending),
      lastProgressAt: (row.last_progress as Date).toISOString(),
    }));
  }

  private async heldCampaigns(): Promise<HeldCampaign[]> {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT c.id, c.tenant_id, c.title, c.priority, ch.id AS channel_id, ch.paused_reason, c.queued_count
         FROM campaigns c JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id
        WHERE c.status = 'sending' AND ch.status = 'paused'
        ORDER BY c.priority = 'emergency' DESC, c.started_at LIMIT 100`,
    );
    return rows.map((row) => ({
      id: row.id as string,
      tenantId: row.tenant_id as string,
      title: row.title as string,
      priority: row.priority as string,
      channelId: row.channel_id as string,
      pausedReason: (row.paused_reason as string | null) ?? null,
      queued: int(row.queued_count),
    }));
  }

  private async tenantsByVolume(now: Date) {
    const rows: Record<string, unknown>[] = await this.db.query(
      `SELECT t.id, t.name, sum(c.sent_count + c.delivered_count + c.read_count) AS messages, count(*) AS campaigns
         FROM campaigns c JOIN tenants t ON t.id = c.tenant_id
        WHERE c.started_at > $1::timestamptz - interval '30 days'
        GROUP BY t.id, t.name ORDER BY messages DESC, t.name LIMIT 20`,
      [now],
    );
    return rows.map((row) => ({ tenantId: row.id as string, name: row.name as string, messagesLast30Days: int(row.messages), campaignsLast30Days: int(row.campaigns) }));
  }
}
