import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BadRequestError, Clock, ConflictError, NotFoundError, TenantId } from '@app/core';
import { Channel, ChannelsRepository, MessageTemplatesService } from '@app/channels';
import { Page, PageQueryDto } from '@app/database';
import { asTemplateParameter, CampaignMessage, CampaignPriority, DeliveryStatus, instantOfLocal, MAX_TEMPLATE_PARAMETER_LENGTH, quietHoursEnd, wallTime } from '@app/delivery';
import { TopicsRepository } from '@app/subscribers';
import { TenantsService } from '@app/tenants';
import { Campaign, CampaignStatus } from './campaign.entity';
import { CampaignLauncher } from './campaign-launcher';
import { CampaignsRepository } from './campaigns.repository';
import { DeliveriesRepository, DeliveryRow } from './deliveries.repository';

/**
 * How long a cancel waits for dispatch jobs to give back the deliveries they hold: they see it
 * within CancellationWatch.POLL_MS, plus the answers of sends already with WhatsApp.
 */
export const CANCEL_SETTLE_MS = 5_000;

export interface NewCampaign {
  channelId: string;
  title: string;
  message: CampaignMessage;
  topics?: string[];
  priority?: CampaignPriority;
  /** ISO 8601 date and time; without an offset, the comune's local time */
  scheduledAt?: string | null;
}

/**
 * $1 tenant, $2 campaign: its queued deliveries no dispatch job holds, skipped as `cancelled`;
 * `n` is how many, for the campaign's counters. Rows locked by a concurrent write are being
 * claimed or recorded by a dispatch job (which locks deliveries before the campaign row a cancel
 * holds): skipped, not waited for, so the two never deadlock; they are recorded as they turn out.
 */
const SKIP_FREE_DELIVERIES = `WITH free AS (
    SELECT id FROM deliveries
     WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'queued' AND (claimed_until IS NULL OR claimed_until <= now())
     FOR UPDATE SKIP LOCKED
  ), moved AS (
    UPDATE deliveries d SET status = 'skipped', reason = 'cancelled', updated_at = now()
      FROM free WHERE d.id = free.id
    RETURNING 1
  ), n AS (SELECT count(*)::int AS n FROM moved)`;

/** How far in the past a scheduledAt may be and still be taken (as now): the time it took to send the request. */
const SCHEDULE_SLACK_MS = 60_000;

/** Queued deliveries read to tell what waits for a later attempt (see waitingNote). */
const RETRY_SCAN = 5000;

/** What a paused channel means for a campaign on it. */
const pausedChannelNote = (channel: Channel): string =>
  `The channel is paused${channel.pausedReason ? ` (${channel.pausedReason})` : ''}: nothing goes out until it is set active again (PATCH /v1/channels/${channel.id} {"status":"active"})`;

export interface PollResults {
  options: { title: string; votes: number }[];
}

@Injectable()
export class CampaignsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly campaigns: CampaignsRepository,
    private readonly deliveries: DeliveriesRepository,
    private readonly channels: ChannelsRepository,
    private readonly topics: TopicsRepository,
    private readonly tenants: TenantsService,
    private readonly launcher: CampaignLauncher,
    private readonly templates: MessageTemplatesService,
    private readonly clock: Clock,
  ) {}

  async create(tenantId: TenantId, input: NewCampaign, createdBy: string | null): Promise<Campaign> {
    const channel = await this.channels.getById(tenantId, input.channelId);
    await this.assertTemplateParametersFit(tenantId, channel, input.message);
    const topics = await this.knownTopics(tenantId, input.topics ?? []);
    const scheduledAt = input.scheduledAt ? await this.scheduleInstant(tenantId, input.scheduledAt) : null;
    return this.campaigns.insert(tenantId, {
      channelId: input.channelId,
      title: input.title,
      message: input.message,
      topics,
      priority: input.priority ?? 'normal',
      status: 'draft',
      scheduledAt,
      createdBy,
    });
  }

  /** Changes a draft; once sent or scheduled a campaign is what it was (409). */
  async update(tenantId: TenantId, id: string, patch: Partial<NewCampaign>): Promise<Campaign> {
    // Checked before the transaction: inside it every query goes through its own connection.
    if (patch.channelId !== undefined || patch.message !== undefined) {
      const channelId = patch.channelId ?? (await this.campaigns.getById(tenantId, id)).channelId;
      const channel = await this.channels.getById(tenantId, channelId);
      if (patch.message !== undefined) await this.assertTemplateParametersFit(tenantId, channel, patch.message);
    }
    const topics = patch.topics === undefined ? undefined : await this.knownTopics(tenantId, patch.topics);
    // undefined leaves it, null unschedules the draft
    const scheduledAt = patch.scheduledAt === undefined ? undefined : patch.scheduledAt ? await this.scheduleInstant(tenantId, patch.scheduledAt) : null;
    return this.dataSource.transaction(async (manager) => {
      const campaign = await this.campaigns.lockById(tenantId, id, manager);
      if (campaign.status !== 'draft') throw new ConflictError(`Only a draft can be changed; this campaign is ${campaign.status}`, 'campaign_not_draft');
      if (patch.channelId !== undefined) campaign.channelId = patch.channelId;
      if (topics !== undefined) campaign.topics = topics;
      if (patch.title !== undefined) campaign.title = patch.title;
      if (patch.message !== undefined) campaign.message = patch.message;
      if (patch.priority !== undefined) campaign.priority = patch.priority;
      if (scheduledAt !== undefined) campaign.scheduledAt = scheduledAt;
      return this.campaigns.save(tenantId, campaign, manager);
    });
  }

  /**
   * A text that the channel's fallback template will carry to those outside the 24-hour window
   * must fit one template parameter: refused at send (400) rather than failed by Meta for each of them.
   */
  private assertFallbackCanCarry(channel: Channel, campaign: Campaign): void {
    if (campaign.message.type !== 'text') return;
    if (!channel.fallbackTemplate || channel.provider === 'sandbox') return;
    const length = asTemplateParameter(campaign.message.text).length;
    if (length > MAX_TEMPLATE_PARAMETER_LENGTH) {
      throw new BadRequestError(
        `message.text is ${length} characters: the channel's fallback template carries at most ${MAX_TEMPLATE_PARAMETER_LENGTH} to subscribers outside the 24-hour window; shorten it`,
        'text_too_long_for_fallback',
      );
    }
  }

  /**
   * The instant a scheduledAt names: a time without an offset is the comune's wall clock. A time
   * already past is refused (a mistyped year would otherwise send at once, when the draft is
   * sent); up to SCHEDULE_SLACK_MS ago counts as now.
   */
  private async scheduleInstant(tenantId: TenantId, text: string): Promise<Date> {
    const { timezone } = await this.tenants.get(tenantId);
    const instant = instantOfLocal(text, timezone);
    if (!instant) throw new BadRequestError(`scheduledAt is not a valid date and time: ${text.slice(0, 40)}`);
    if (instant.getTime() < this.clock.now().getTime() - SCHEDULE_SLACK_MS) {
      throw new BadRequestError(`scheduledAt ${instant.toISOString()} is in the past: give a time to come, or leave scheduledAt out to send when the campaign is sent`, 'scheduled_in_past');
    }
    return instant;
  }

  /** Deletes a draft (a campaign that went out stays, with its deliveries: 409). */
  async removeDraft(tenantId: TenantId, id: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const campaign = await this.campaigns.lockById(tenantId, id, manager);
      if (campaign.status !== 'draft') throw new ConflictError(`Only a draft can be deleted; this campaign is ${campaign.status}`, 'campaign_not_draft');
      await this.campaigns.deleteById(tenantId, id, manager);
    });
  }

  private async knownTopics(tenantId: TenantId, keys: string[]): Promise<string[]> {
    const topics = [...new Set(keys)];
    if (topics.length === 0) return topics;
    const known = new Set((await this.topics.findByKeys(tenantId, topics)).map((topic) => topic.key));
    const unknown = topics.filter((key) => !known.has(key));
    if (unknown.length > 0) throw new BadRequestError(`topics contains unknown topic keys: ${unknown.join(', ')}`);
    return topics;
  }

  /** Newest first. */
  list(tenantId: TenantId, page: PageQueryDto, status?: CampaignStatus): Promise<Page<Campaign>> {
    return this.campaigns.listWithStatus(tenantId, page, status);
  }

  get(tenantId: TenantId, id: string): Promise<Campaign> {
    return this.campaigns.getById(tenantId, id);
  }

  /**
   * What holds a campaign back now, or null, the first of: its channel is paused (by hand, or by
   * WhatsApp's error) and sends nothing until it is active again; the comune's quiet hours hold a
   * normal campaign that is due; messages wait for a later attempt (after WhatsApp errors, or for
   * the number's daily messaging limit).
   */
  async heldBack(tenantId: TenantId, campaign: Campaign): Promise<string | null> {
    if (campaign.status !== 'sending' && campaign.status !== 'scheduled') return null;
    const channel = await this.channels.findById(tenantId, campaign.channelId);
    if (channel?.status === 'paused') return pausedChannelNote(channel);
    const now = this.clock.now();
    if (campaign.priority !== 'emergency') {
      const tenant = await this.tenants.get(tenantId);
      const end = quietHoursEnd(now, { timezone: tenant.timezone, start: tenant.quietHoursStart, end: tenant.quietHoursEnd });
      // A scheduled one is held when it would go now but for the quiet hours (a send during them schedules it for their end).
      if (end && (campaign.status === 'sending' || !campaign.scheduledAt || campaign.scheduledAt <= end)) {
        const at = wallTime(end, tenant.timezone);
        const hhmm = `${String(at.hour).padStart(2, '0')}:${String(at.minute).padStart(2, '0')}`;
        return `Quiet hours (${tenant.quietHoursStart}–${tenant.quietHoursEnd}, ${tenant.timezone}): normal campaigns wait, and this one goes on at ${hhmm} (${end.toISOString()}). Emergencies are not held`;
      }
    }
    return campaign.status === 'sending' ? this.waitingNote(tenantId, campaign.id) : null;
  }

  /**
   * Messages of a sending campaign that wait for a later attempt, by the code of their last error.
   * Reads the first RETRY_SCAN queued deliveries only (a retried one is among the earliest), so the
   * answer stays quick for a campaign of any size.
   */
  private async waitingNote(tenantId: TenantId, campaignId: string): Promise<string | null> {
    const rows = (await this.dataSource.query(
      `SELECT q.error_code AS code, count(*)::int AS n, min(q.next_attempt_at) AS next
         FROM (SELECT error_code, next_attempt_at FROM deliveries
                WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'queued' ORDER BY id LIMIT ${RETRY_SCAN}) q
        WHERE q.next_attempt_at > now()
        GROUP BY q.error_code ORDER BY count(*) DESC, q.error_code`,
      [tenantId, campaignId],
    )) as { code: number | null; n: number; next: Date }[];
    if (rows.length === 0) return null;
    const total = rows.reduce((sum, row) => sum + row.n, 0);
    const next = new Date(Math.min(...rows.map((row) => new Date(row.next).getTime())));
    const coded = rows.filter((row) => row.code !== null);
    const uncoded = rows.find((row) => row.code === null)?.n ?? 0;
    const causes = [
      ...(coded.length > 0 ? [`after WhatsApp errors (${coded.map((row) => `${row.code}: ${row.n}`).join(', ')})`] : []),
      ...(uncoded > 0 ? [`${coded.length > 0 ? `${uncoded} ` : ''}for the number's daily messaging limit or an answer WhatsApp did not give`] : []),
    ];
    return `${total}${total >= RETRY_SCAN ? '+' : ''} message(s) wait to be tried again ${causes.join('; ')}; the next attempt at ${next.toISOString()}`;
  }

  /**
   * draft → sending (or scheduled, for a future time or quiet hours); 403 for a comune that may not
   * send, 409 twice or when its template cannot be sent. Answers the campaign with warnings about
   * what will hold it back (a paused channel, a fallback template WhatsApp will refuse).
   */
  async send(tenantId: TenantId, id: string, sentBy: string | null): Promise<{ campaign: Campaign; warnings: string[] }> {
    const campaign = await this.campaigns.getById(tenantId, id);
    await this.tenants.assertCanSend(tenantId);
    if (campaign.status !== 'draft') throw new ConflictError(`Campaign is already ${campaign.status}`, 'campaign_not_draft');
    const channel = await this.channels.getById(tenantId, campaign.channelId);
    await this.assertFallbackCanCarry(channel, campaign);
    await this.assertTemplateParametersFit(tenantId, channel, campaign.message);
    if (campaign.message.type === 'template') {
      const refusal = await this.templates.refusal(tenantId, channel, campaign.message.template);
      if (refusal) throw new ConflictError(refusal, 'template_not_sendable');
    }
    const warnings: string[] = [];
    if (channel.status === 'paused') warnings.push(pausedChannelNote(channel));
    if (campaign.message.type === 'text' && channel.fallbackTemplate) {
      const refusal = await this.templates.refusal(tenantId, channel, channel.fallbackTemplate);
      if (refusal) warnings.push(`Subscribers outside the 24-hour window are skipped (outside_window): the channel's fallback template cannot be sent. ${refusal}`);
    }
    const { campaign: launched } = await this.launcher.launch(tenantId, id, ['draft'], sentBy);
    // Held for the end of quiet hours: said with the answer, not only on the campaign.
    if (launched.status === 'scheduled') {
      const note = await this.heldBack(tenantId, launched);
      if (note && !warnings.includes(note)) warnings.push(note);
    }
    return { campaign: launched, warnings };
  }

  /** A template message's body values must match the template's (when its text is known): 400 naming the field. */
  private async assertTemplateParametersFit(tenantId: TenantId, channel: Channel, message: CampaignMessage): Promise<void> {
    if (message.type !== 'template') return;
    await this.templates.assertParametersFit(tenantId, channel, message.template, message.template.bodyParameters?.length ?? 0, 'message.template.bodyParameters');
  }

  /**
   * Stops everything not yet handed to WhatsApp: queued deliveries become skipped (`cancelled`).
   * Those a dispatch job holds under a live lease are waiting for their number's send slots or are
   * already with WhatsApp: the job sees the cancel before its next hand-over (CancellationWatch)
   * and gives back what it has not sent, as skipped. The answer waits for those jobs (at most
   * CANCEL_SETTLE_MS, in case one died holding its lease): once it is given, nothing more of the
   * campaign goes out, and its stats are final but for the answers WhatsApp was still giving.
   */
  /**
   * Stops every campaign of the comune that is sending (the operator suspended it: it cannot send),
   * as a cancel does, with the reason on each. Scheduled ones stay scheduled: they fail when due if
   * the comune is still suspended then. Answers the campaigns stopped.
   */
  async stopSending(tenantId: TenantId, reason: string): Promise<number> {
    const sending = await this.campaigns.idsWithStatus(tenantId, 'sending');
    for (const id of sending) {
      await this.cancel(tenantId, id, reason).catch((error: unknown) => {
        // Finished meanwhile: nothing left to stop.
        if (!(error instanceof ConflictError)) throw error;
      });
    }
    return sending.length;
  }

  async cancel(tenantId: TenantId, id: string, reason: string | null = null): Promise<Campaign> {
    await this.dataSource.transaction(async (manager) => {
      const campaign = await this.campaigns.lockById(tenantId, id, manager);
      if (!['draft', 'scheduled', 'sending'].includes(campaign.status)) throw new ConflictError(`Campaign is already ${campaign.status}`, 'campaign_finished');
      await manager.query(
        `${SKIP_FREE_DELIVERIES}
         UPDATE campaigns c SET status = 'cancelled', cancelled_at = now(), updated_at = now(),
                queued_count = c.queued_count - n.n, skipped_count = c.skipped_count + n.n,
                failure_reason = COALESCE($3, c.failure_reason)
           FROM n WHERE c.tenant_id = $1 AND c.id = $2`,
        [tenantId, id, reason],
      );
    });
    await this.settleCancelled(tenantId, id);
    await this.skipReleased(tenantId, id);
    return this.campaigns.getById(tenantId, id);
  }

  /**
   * A dispatch job that put claimed deliveries back to the queue while the cancel was committing
   * (its statement saw the campaign still sending, and the cancel skipped those rows as locked)
   * left them queued and unclaimed in a cancelled campaign: they are skipped now, once no job
   * holds them, rather than by the reconciler's next pass. Called only once the campaign is
   * cancelled (which is final).
   */
  private async skipReleased(tenantId: TenantId, id: string): Promise<void> {
    await this.dataSource.query(
      `${SKIP_FREE_DELIVERIES}
       UPDATE campaigns c SET queued_count = c.queued_count - n.n, skipped_count = c.skipped_count + n.n, updated_at = now()
         FROM n WHERE c.tenant_id = $1 AND c.id = $2 AND c.status = 'cancelled' AND n.n > 0`,
      [tenantId, id],
    );
  }

  /** Waits until no dispatch job holds a queued delivery of the campaign (or CANCEL_SETTLE_MS passed). */
  private async settleCancelled(tenantId: TenantId, id: string): Promise<void> {
    const deadline = Date.now() + CANCEL_SETTLE_MS;
    for (;;) {
      if (!(await this.deliveries.anyHeldByDispatch(tenantId, id)) || Date.now() >= deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async deliveriesOf(tenantId: TenantId, id: string, page: PageQueryDto, status?: DeliveryStatus): Promise<Page<DeliveryRow>> {
    await this.campaigns.getById(tenantId, id);
    return this.deliveries.listOfCampaign(tenantId, id, page, status);
  }

  async pollResults(tenantId: TenantId, id: string): Promise<PollResults> {
    const campaign = await this.campaigns.getById(tenantId, id);
    const titles = campaign.message.type === 'poll' ? campaign.message.options : await this.quickReplyTitles(tenantId, campaign);
    if (!titles) throw new BadRequestError('Campaign is not a poll: neither a poll nor a template with quick-reply buttons (as last synced from WhatsApp)');
    const votes = await this.deliveries.pollVotes(tenantId, id);
    return { options: titles.map((title, index) => ({ title, votes: votes.get(index) ?? 0 })) };
  }

  /** A template campaign's quick-reply button texts, as last synced; null when it has none or is no template. */
  private async quickReplyTitles(tenantId: TenantId, campaign: Campaign): Promise<string[] | null> {
    if (campaign.message.type !== 'template') return null;
    const channel = await this.channels.findById(tenantId, campaign.channelId);
    const titles = channel ? await this.templates.quickReplyTitles(tenantId, channel, campaign.message.template) : [];
    return titles.length > 0 ? titles : null;
  }

  async reactions(tenantId: TenantId, id: string): Promise<{ emoji: string; count: number }[]> {
    await this.campaigns.getById(tenantId, id);
    return this.deliveries.reactions(tenantId, id);
  }

  /** Throws NotFound for an unknown campaign (used by routes that only need existence). */
  async assertExists(tenantId: TenantId, id: string): Promise<void> {
    if (!(await this.campaigns.findById(tenantId, id))) throw new NotFoundError('Campaign');
  }
}
