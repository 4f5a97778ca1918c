import { Injectable, Logger } from '@nestjs/common';
import * as fastq from 'fastq';
import type { queueAsPromised } from 'fastq';
import { DataSource } from 'typeorm';
import { ChannelsRepository, MessageTemplatesService } from '@app/channels';
import { AppConfig, Clock, ConflictError, TenantId } from '@app/core';
import { TableStatistics } from '@app/database';
import { capMessagesOfMonth, DISPATCH_BUCKET, DispatchRange, DispatchScheduler, quietHoursEnd, SERVICE_WINDOW_MS, startOfMonth } from '@app/delivery';
import { QueueName, QueueProducer } from '@app/queue';
import { Tenant, TenantStatus } from '@app/tenants';
import type { Campaign, CampaignStatus } from './campaign.entity';
import { CampaignsRepository } from './campaigns.repository';

export const LAUNCH_CAMPAIGN_JOB = 'launch-campaign';

export interface LaunchCampaignJob {
  tenantId: string;
  campaignId: string;
}

/** What a fan-out transaction decided: launch later, or the dispatch ranges of the rows written now. */
interface FanOutOutcome {
  campaign: Campaign;
  launch: Date | null;
  ranges: DispatchRange[];
  /** delivery rows the fan-out wrote */
  written: number;
}

export interface LaunchResult {
  campaign: Campaign;
  /** dispatch jobs enqueued (0 when scheduled or nothing to send) */
  batches: number;
}

/**
 * Takes a campaign out of draft or scheduled. When its time has come (and, for normal campaigns,
 * outside the tenant's quiet hours) it resolves the audience in SQL, writing one delivery per
 * recipient (skipped ones with their reason) in the transaction that marks it `sending`, then
 * enqueues the dispatch batches. Otherwise it is (re)scheduled for its time.
 *
 * A process runs at most `launchConcurrency` normal fan-outs at once; the others wait their turn
 * before opening a transaction. When a regional alert makes many comuni press send together, the
 * first campaigns then start sending after one fan-out's time instead of all of them finishing
 * together after all the fan-outs' time (they share the same database cores). Emergencies are
 * never held back.
 */
@Injectable()
export class CampaignLauncher {
  private readonly logger = new Logger(CampaignLauncher.name);
  private readonly fanOuts: queueAsPromised<() => Promise<FanOutOutcome>, FanOutOutcome>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly campaigns: CampaignsRepository,
    private readonly scheduler: DispatchScheduler,
    private readonly producer: QueueProducer,
    private readonly clock: Clock,
    private readonly channels: ChannelsRepository,
    private readonly templates: MessageTemplatesService,
    private readonly statistics: TableStatistics,
    config: AppConfig,
  ) {
    this.fanOuts = fastq.promise((task: () => Promise<FanOutOutcome>) => task(), config.delivery.launchConcurrency);
  }

  async launch(tenantId: TenantId, campaignId: string, from: CampaignStatus[], sentBy: string | null = null): Promise<LaunchResult> {
    const { priority, message, channelId } = await this.campaigns.getById(tenantId, campaignId);
    // A send checked the template (409); one coming due checks it again: it may have been paused since.
    let refusal: string | null = null;
    if (from.includes('scheduled') && message.type === 'template') {
      const channel = await this.channels.findById(tenantId, channelId);
      if (channel) refusal = await this.templates.refusal(tenantId, channel, message.template);
    }
    const fanOut = () => this.fanOut(tenantId, campaignId, from, sentBy, refusal);
    const outcome = priority === 'emergency' ? await fanOut() : await this.fanOuts.push(fanOut);

    if (outcome.launch) {
      await this.producer.enqueue<LaunchCampaignJob>(QueueName.Campaigns, {
        name: LAUNCH_CAMPAIGN_JOB,
        data: { tenantId, campaignId },
        options: { jobId: `launch:${campaignId}:${outcome.launch.getTime()}`, delayMs: Math.max(0, outcome.launch.getTime() - this.clock.now().getTime()) },
      });
      return { campaign: outcome.campaign, batches: 0 };
    }
    // A large fan-out on a young deployment outgrows the planner's view of deliveries: refreshed
    // beside the sends (their statements are planned again once it is).
    void this.statistics.noteBulkWrite('deliveries', outcome.written);
    const campaign = await this.campaigns.getById(tenantId, campaignId);
    const batches = campaign.status === 'sending' ? outcome.ranges : [];
    if (batches.length > 0) await this.scheduler.enqueueRanges(tenantId, campaign.id, campaign.channelId, campaign.priority === 'emergency', batches);
    this.logger.log({ tenantId, campaignId, recipients: campaign.recipients, queued: campaign.queuedCount, batches: batches.length }, 'campaign launched');
    return { campaign, batches: batches.length };
  }

  /**
   * The transaction: the campaign is scheduled for later, or its deliveries are written and it is
   * marked sending; answers the id ranges of its dispatch batches (computed from the rows written).
   */
  private fanOut(tenantId: TenantId, campaignId: string, from: CampaignStatus[], sentBy: string | null, templateRefusal: string | null): Promise<FanOutOutcome> {
    return this.dataSource.transaction(async (manager): Promise<FanOutOutcome> => {
      const campaign = await this.campaigns.lockById(tenantId, campaignId, manager);
      if (!from.includes(campaign.status)) throw new ConflictError(`Campaign is already ${campaign.status}`, 'campaign_not_draft');
      if (sentBy) campaign.sentBy = sentBy;
      const tenant = await manager.getRepository(Tenant).findOneByOrFail({ id: tenantId });
      // The send was let through while the comune was active (the launch gate); a comune suspended
      // since cannot send (CONTRACT): its campaign coming due fails with the reason, nothing sent.
      if (tenant.status !== TenantStatus.Active) {
        campaign.status = 'failed';
        campaign.failureReason = `The comune is ${tenant.status === TenantStatus.Suspended ? 'suspended by the platform operator' : 'not approved yet'}: nothing was sent`;
        await manager.save(campaign);
        return { campaign, launch: null, ranges: [], written: 0 };
      }
      const now = this.clock.now();
      let startAt: Date | null = campaign.scheduledAt && campaign.scheduledAt > now ? campaign.scheduledAt : null;
      if (!startAt && campaign.priority !== 'emergency') {
        startAt = quietHoursEnd(now, { timezone: tenant.timezone, start: tenant.quietHoursStart, end: tenant.quietHoursEnd });
      }
      if (startAt) {
        campaign.status = 'scheduled';
        campaign.scheduledAt = startAt;
        await manager.save(campaign);
        return { campaign, launch: startAt, ranges: [], written: 0 };
      }
      if (templateRefusal) {
        campaign.status = 'failed';
        campaign.failureReason = `${templateRefusal}. Nothing was sent`;
        await manager.save(campaign);
        return { campaign, launch: null, ranges: [], written: 0 };
      }
      const channel = (await manager.query(`SELECT provider, fallback_template FROM channels WHERE tenant_id = $1 AND id = $2`, [tenantId, campaign.channelId])) as {
        provider: string;
        fallback_template: unknown;
      }[];
      if (channel.length === 0) {
        campaign.status = 'failed';
        campaign.failureReason = 'The channel no longer exists';
        await manager.save(campaign);
        return { campaign, launch: null, ranges: [], written: 0 };
      }
      const message = campaign.message;
      const windowApplies =
        channel[0].provider !== 'sandbox' && (message.type === 'poll' || message.type === 'image' || (message.type === 'text' && !channel[0].fallback_template));
      const capApplies = campaign.priority !== 'emergency';
      const [rows] = (await manager.query(
        `WITH audience AS (
           SELECT s.id, s.phone, s.user_id, s.last_inbound_at FROM subscribers s
            WHERE s.tenant_id = $1 AND s.channel_id = $2 AND s.status = 'active'
              AND (cardinality($3::text[]) = 0 OR EXISTS (
                    SELECT 1 FROM subscriber_topics st JOIN topics t ON t.id = st.topic_id
                     WHERE st.tenant_id = $1 AND st.subscriber_id = s.id AND t.tenant_id = $1 AND t.key = ANY($3::text[])))
         ), capped AS MATERIALIZED (
           -- the subscribers who reached the monthly cap: this month's normal campaign messages per
           -- recipient (emergencies are exempt from the cap and do not use it up), that is every
           -- campaign message handed over (the month's part of deliveries_tenant_sent_idx alone)
           -- or still queued, less those of emergency campaigns (few, read through their campaign);
           -- erased subscribers' deliveries count for nobody. One row: a jsonb object keyed by
           -- subscriber id, which each recipient is looked up in (a binary search). Joined to the
           -- audience instead, the counts left the join method to estimates, and on statistics that
           -- do not know the comune's deliveries yet (a young database, a table not analysed since)
           -- the planner looped over them once per recipient: quadratic in the audience, 2.4 s for
           -- a comune's second campaign to 5,000 (bench/fanout.bench.ts).
           SELECT COALESCE(jsonb_object_agg(subscriber_id, true), '{}'::jsonb) AS ids FROM (
             SELECT subscriber_id FROM (${capMessagesOfMonth({ tenant: '$1', since: '$8::timestamptz', when: '$7::boolean' })}
             ) month WHERE subscriber_id IS NOT NULL GROUP BY subscriber_id HAVING sum(w) >= $9::int
           ) reached
         ), inserted AS (
           INSERT INTO deliveries (tenant_id, campaign_id, channel_id, subscriber_id, recipient, status, reason)
           SELECT $1::uuid, $4::uuid, $2::uuid, a.id, COALESCE(a.phone, a.user_id),
                  CASE WHEN $5::boolean AND (a.last_inbound_at IS NULL OR a.last_inbound_at <= $6::timestamptz) THEN 'skipped'
                       WHEN capped.ids ? a.id::text THEN 'skipped'
                       ELSE 'queued' END,
                  CASE WHEN $5::boolean AND (a.last_inbound_at IS NULL OR a.last_inbound_at <= $6::timestamptz) THEN 'outside_window'
                       WHEN capped.ids ? a.id::text THEN 'monthly_cap' END
             FROM audience a CROSS JOIN capped
           ON CONFLICT DO NOTHING
           RETURNING id, status
         ), counts AS (
           SELECT count(*)::int AS recipients, (count(*) FILTER (WHERE status = 'queued'))::int AS queued FROM inserted
         ), ranges AS (
           -- the dispatch batches: DISPATCH_BUCKET consecutive queued deliveries each, as id ranges
           SELECT COALESCE(json_agg(json_build_array(lo::text, hi::text) ORDER BY b), '[]'::json) AS list FROM (
             SELECT b, min(id) AS lo, max(id) AS hi FROM (
               SELECT id, (row_number() OVER (ORDER BY id) - 1) / ${DISPATCH_BUCKET} AS b FROM inserted WHERE status = 'queued'
             ) numbered GROUP BY b
           ) grouped
         )
         UPDATE campaigns c SET
           recipients = c.recipients + counts.recipients,
           queued_count = c.queued_count + counts.queued,
           skipped_count = c.skipped_count + counts.recipients - counts.queued,
           status = CASE WHEN c.queued_count + counts.queued = 0 THEN 'completed' ELSE 'sending' END,
           completed_at = CASE WHEN c.queued_count + counts.queued = 0 THEN now() END,
           started_at = $10::timestamptz, sent_by = COALESCE($11::uuid, c.sent_by), updated_at = now()
          FROM counts, ranges
         WHERE c.tenant_id = $1 AND c.id = $4
         RETURNING c.status, ranges.list AS ranges, counts.recipients AS written`,
        [
          tenantId,
          campaign.channelId,
          campaign.topics ?? [],
          campaign.id,
          windowApplies,
          new Date(now.getTime() - SERVICE_WINDOW_MS),
          capApplies,
          startOfMonth(now, tenant.timezone),
          tenant.monthlyMessageCap,
          now,
          campaign.sentBy,
        ],
      )) as [{ status: CampaignStatus; ranges: [string, string][]; written: number }[], number];
      const ranges = (rows[0]?.ranges ?? []).map(([lo, hi]) => ({ fromId: Number(lo), toId: Number(hi) }));
      return { campaign, launch: null, ranges, written: rows[0]?.written ?? 0 };
    });
  }
}
