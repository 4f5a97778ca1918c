import { Injectable } from '@nestjs/common';
import { BadRequestError, Clock, NotFoundError, TenantId } from '@app/core';
import { isUuid } from '@app/database';
import { CampaignCounters, MessageTotals, SubscriberCounts, TenantAnalyticsQueries } from './analytics.queries';
import { addDays, bucketStart, daysBetween, Interval, localDate, resolveRange, startOfLocalDay } from './date-range';

export interface Overview {
  subscribers: SubscriberCounts;
  /** active / population; null when the population is unknown */
  adoptionRate: number | null;
  population: number | null;
  messages: MessageTotals;
  campaigns: { total: number; completed: number };
}

export interface SubscriberSeriesPoint {
  date: string;
  joined: number;
  left: number;
  /** active subscribers at the end of the bucket */
  active: number;
}

export interface CampaignFunnel {
  campaign: CampaignCounters;
  /** handed to WhatsApp: sent, delivered or read */
  handed: number;
  /** delivered or read */
  delivered: number;
  read: number;
  /** delivered / handed (null before anything was handed) */
  deliveryRate: number | null;
  /** read / delivered (null before anything was delivered) */
  readRate: number | null;
}

export interface CampaignReport extends CampaignFunnel {
  skippedReasons: { reason: string; count: number }[];
  failedCodes: { code: number | null; count: number }[];
  timeToDeliveredSeconds: { p50: number; p90: number; p95: number; sampleSize: number } | null;
  poll: { options: { title: string; votes: number }[] } | null;
  reactions: { emoji: string; count: number }[];
}

export interface MonthlyUsage {
  month: string;
  monthlyMessageCap: number;
  /** campaigns with normal priority started this month: each reaches a subscriber at most once */
  normalCampaigns: number;
  emergencyCampaigns: number;
  /** deliveries of this month's campaigns handed to WhatsApp */
  messagesSent: number;
  /** how many more normal campaigns fit in every active subscriber's monthly cap: the cap less the most any of them has used */
  remainingNormalCampaigns: number;
}

/** Rounded to 4 decimals: rates are shown as percentages with two decimals at most. */
export const rate = (part: number, whole: number): number | null => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null);

/** Up to this many delivered rows feed a campaign's time-to-delivered percentiles. */
export const PERCENTILE_SAMPLE = 20_000;

export function toFunnel(campaign: CampaignCounters): CampaignFunnel {
  const handed = campaign.sent + campaign.delivered + campaign.read;
  const delivered = campaign.delivered + campaign.read;
  return { campaign, handed, delivered, read: campaign.read, deliveryRate: rate(delivered, handed), readRate: rate(campaign.read, delivered) };
}

/** What a comune sees of its service: adoption, subscribers over time, what reached people. */
@Injectable()
export class AnalyticsService {
  constructor(
    private readonly queries: TenantAnalyticsQueries,
    private readonly clock: Clock,
  ) {}

  async overview(tenantId: TenantId): Promise<Overview> {
    const [profile, subscribers, messages, campaigns] = await Promise.all([
      this.queries.tenantProfile(tenantId),
      this.queries.subscriberCounts(tenantId),
      this.queries.messageTotals(tenantId),
      this.queries.campaignTotals(tenantId),
    ]);
    return {
      subscribers,
      adoptionRate: profile.population ? rate(subscribers.active, profile.population) : null,
      population: profile.population,
      messages,
      campaigns,
    };
  }

  /**
   * Joined, left and active per day (or week, month) in the comune's timezone, from the hourly
   * rollup of consent events. `active` is anchored on today's count of active subscribers and
   * walked back through the joins and leaves, so the last point matches the overview.
   */
  async subscriberSeries(tenantId: TenantId, query: { from?: string; to?: string; interval?: Interval }): Promise<SubscriberSeriesPoint[]> {
    const interval = query.interval ?? 'day';
    const profile = await this.queries.tenantProfile(tenantId);
    const now = this.clock.now();
    const range = resolveRange(query, profile.timezone, now);
    // Days still to come have no figures: the series ends today.
    const today = localDate(now, profile.timezone);
    const { from } = range;
    const to = range.to > today ? today : range.to;
    if (from > to) return [];
    const [activity, counts] = await Promise.all([
      this.queries.dailyActivity(tenantId, profile.timezone, from, to),
      this.queries.subscriberCounts(tenantId),
    ]);
    const byDay = new Map(activity.days.map((d) => [d.day, d]));
    const days = daysBetween(from, to) + 1;
    const points: SubscriberSeriesPoint[] = new Array(days);
    let activeAtEnd = counts.active - activity.netAfter;
    for (let i = days - 1; i >= 0; i--) {
      const date = addDays(from, i);
      const day = byDay.get(date);
      const joined = day?.joined ?? 0;
      const left = day?.left ?? 0;
      points[i] = { date, joined, left, active: Math.max(activeAtEnd, 0) };
      activeAtEnd -= joined - left;
    }
    if (interval === 'day') return points;
    const buckets = new Map<string, SubscriberSeriesPoint>();
    for (const point of points) {
      const key = bucketStart(point.date, interval);
      const bucket = buckets.get(key) ?? { date: key, joined: 0, left: 0, active: 0 };
      bucket.joined += point.joined;
      bucket.left += point.left;
      bucket.active = point.active;
      buckets.set(key, bucket);
    }
    return [...buckets.values()];
  }

  async subscribersBySource(tenantId: TenantId) {
    return this.queries.subscribersBySource(tenantId);
  }

  async subscribersByTopic(tenantId: TenantId) {
    return this.queries.activeSubscribersByTopic(tenantId);
  }

  async campaignFunnels(tenantId: TenantId, limit: number, cursor?: string): Promise<{ data: CampaignFunnel[]; nextCursor: string | null }> {
    const after = cursor ? decodeCampaignCursor(cursor) : undefined;
    const rows = await this.queries.listCampaigns(tenantId, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > limit && last ? Buffer.from(JSON.stringify([last.createdAt.toISOString(), last.id])).toString('base64url') : null;
    return { data: page.map(toFunnel), nextCursor };
  }

  async campaignReport(tenantId: TenantId, campaignId: string): Promise<CampaignReport> {
    const campaign = await this.queries.findCampaign(tenantId, campaignId);
    if (!campaign) throw new NotFoundError('Campaign');
    const isPoll = campaign.message?.type === 'poll';
    const [skippedReasons, failedCodes, timeToDelivered, votes, reactions] = await Promise.all([
      campaign.skipped > 0 ? this.queries.skippedReasons(tenantId, campaign.id) : Promise.resolve([]),
      campaign.failed > 0 ? this.queries.failedCodes(tenantId, campaign.id) : Promise.resolve([]),
      this.queries.timeToDelivered(tenantId, campaign.id, PERCENTILE_SAMPLE),
      isPoll ? this.queries.pollVotes(tenantId, campaign.id) : Promise.resolve(null),
      this.queries.reactions(tenantId, campaign.id),
    ]);
    const options = Array.isArray(campaign.message.options) ? (campaign.message.options as unknown[]).map(String) : [];
    return {
      ...toFunnel(campaign),
      skippedReasons,
      failedCodes,
      timeToDeliveredSeconds: timeToDelivered,
      poll: votes ? { options: options.map((title, index) => ({ title, votes: votes.get(index) ?? 0 })) } : null,
      reactions,
    };
  }

  /** This month (in the comune's timezone) against the monthly cap per subscriber. */
  async monthlyUsage(tenantId: TenantId): Promise<MonthlyUsage> {
    const profile = await this.queries.tenantProfile(tenantId);
    const today = localDate(this.clock.now(), profile.timezone);
    const first = `${today.slice(0, 7)}-01`;
    const next = bucketStart(addDays(first, 32), 'month');
    const since = startOfLocalDay(first, profile.timezone);
    const [month, mostUsed] = await Promise.all([this.queries.campaignsStartedBetween(tenantId, since, startOfLocalDay(next, profile.timezone)), this.queries.mostCapUsed(tenantId, since)]);
    return {
      month: today.slice(0, 7),
      monthlyMessageCap: profile.monthlyMessageCap,
      normalCampaigns: month.normal,
      emergencyCampaigns: month.emergency,
      messagesSent: month.handed,
      // Counted per subscriber, as the launch does: campaigns to a topic, cancelled early or
      // skipped outside the window use up the cap only of those they reached.
      remainingNormalCampaigns: Math.max(profile.monthlyMessageCap - mostUsed, 0),
    };
  }

  /** Checks the campaign is the tenant's (404 otherwise) before an export starts streaming. */
  async requireCampaign(tenantId: TenantId, campaignId: string): Promise<CampaignCounters> {
    const campaign = await this.queries.findCampaign(tenantId, campaignId);
    if (!campaign) throw new NotFoundError('Campaign');
    return campaign;
  }

  /** The campaign's deliveries as CSV lines (header first), a batch at a time. */
  async *campaignCsv(tenantId: TenantId, campaignId: string, batchSize = 5000): AsyncGenerator<string> {
    yield 'subscriber_id,recipient,status,reason,error_code,provider_message_id,sent_at,delivered_at,read_at,failed_at\n';
    let after = { status: '', id: '0' };
    for (;;) {
      const rows = await this.queries.deliveryBatch(tenantId, campaignId, after, batchSize);
      if (rows.length === 0) return;
      yield rows
        .map((row) =>
          [row.subscriber_id, row.recipient, row.status, row.reason, row.error_code, row.provider_message_id, row.sent_at, row.delivered_at, row.read_at, row.failed_at]
            .map(csvField)
            .join(','),
        )
        .join('\n') + '\n';
      const last = rows[rows.length - 1];
      after = { status: String(last.status), id: String(last.id) };
      if (rows.length < batchSize) return;
    }
  }
}

function decodeCampaignCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'string' && isUuid(String(value[1])) && !Number.isNaN(Date.parse(value[0]))) {
      return { createdAt: value[0], id: value[1] };
    }
  } catch {
    // falls through
  }
  throw new BadRequestError('cursor is not a cursor returned by this list');
}

/** One CSV field: dates as ISO 8601, quotes doubled, text that a spreadsheet would run as a formula defused. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (/^[=@\t\r]/.test(text) || (/^[+-]/.test(text) && !/^[+-]?\d+$/.test(text))) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
