import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditAction } from '@app/audit';
import { AppConfig, asTenantId, Clock, counter, recordDispatch, TenantId } from '@app/core';
import { Channel, ChannelMessenger, ChannelProvider, ChannelsRepository, MessageTemplatesService } from '@app/channels';
import { PreparedStatements } from '@app/database';
import { QueueName, QueueTransport } from '@app/queue';
import { ErrorDisposition, GraphApiError, retryDelayMs, SendRequest } from '@app/whatsapp';
import type { CampaignMessage } from '../campaign-message';
import { CancellationWatch } from '../cancellation-watch';
import { DeliveryChange, DeliveryLedger } from '../delivery-ledger';
import { batchRange, DISPATCH_BUCKET, DispatchBatchJob, DispatchScheduler, STOP_CAMPAIGN_JOB, StopCampaignJob } from '../dispatch-scheduler';
import { messagingLimit, planDelivery } from '../outbound-plan';
import { NumberSlots } from '../number-slots';
import { OptOutWatch } from '../opt-out-watch';
import { ReachLimiter, SendThrottle } from '../send-throttle';
import { quietHoursEnd } from '../tenant-time';

/** Attempts per delivery before a retryable error becomes final. */
export const MAX_SEND_ATTEMPTS = 8;
/** Worker slots of the emergency lane (its own queue), beside DISPATCH_CONCURRENCY normal ones. */
export const EMERGENCY_DISPATCH_CONCURRENCY = 8;
/**
 * Normal-lane jobs one worker process runs at once for one number. Two keep its pacer fed (each
 * job pipelines its chunks); more would only hold worker slots waiting for that number's slots
 * while other comuni's numbers stand idle. One more job waits to take over a slot; any further
 * one is put back for later.
 */
export const MAX_JOBS_PER_NUMBER = 2;
/** Jobs of a number waiting in this process for one of its slots, beyond which batches are put back. */
export const STANDBY_JOBS_PER_NUMBER = 1;
/** Chunks of one job sent and still awaiting answers; enough to cover a provider answering in ~400 ms at the number's rate. */
export const MAX_CHUNKS_AWAITING_ANSWERS = 8;
/** The longest an emergency's send of unknown outcome waits for its status webhook before going out again. */
export const EMERGENCY_UNCERTAIN_HOLD_MS = 15_000;
/** Meta's template paused (low quality, or pacing-held messages dropped) and template disabled errors. */
const TEMPLATE_PAUSED = 132015;
const TEMPLATE_DISABLED = 132016;
/**
 * Meta's refusals of a template send that every other message of the same template and values
 * would get too: parameters that do not fit (132000 count, 132012 format) and a name or language
 * WhatsApp does not know, or not approved (132001). A campaign's own template refused so stops the
 * campaign after its first refusals instead of failing each of its messages in turn.
 */
const TEMPLATE_REFUSALS: Record<number, string> = {
  [TEMPLATE_PAUSED]: 'as paused',
  [TEMPLATE_DISABLED]: 'as disabled',
  132000: 'for a number of body values it does not take',
  132001: 'as unknown in that language, or not approved',
  132012: 'for body values in a format it does not take',
};
/** Meta's "more than 24 hours since the customer last replied" (re-engagement) error. */
export const WINDOW_CLOSED = 131047;
/** How soon a delivery refused with WINDOW_CLOSED is planned again, as outside the window. */
const WINDOW_CLOSED_REPLAN_MS = 1_000;
/** Meta's default throughput per number, for a channel this process has not loaded yet. */
const DEFAULT_NUMBER_RATE = 80;

interface CampaignContext {
  status: string;
  /** the comune's: only an active one sends */
  tenantStatus: string;
  priority: 'normal' | 'emergency';
  message: CampaignMessage;
  timezone: string;
  quietHoursStart: string;
  quietHoursEnd: string;
  /** named-format templates' parameter names (synced templates): the campaign's, the channel's fallback */
  templateParameterNames: string[] | null;
  /** the campaign's template's quick-reply buttons (synced templates) */
  templateQuickReplies: { index: number; text: string }[] | null;
  fallbackParameterNames: string[] | null;
  /** the fallback template's status as last reported; null when not known */
  fallbackStatus: string | null;
}

/** Shared by a job's chunks: the first pause error, or the campaign seen cancelled, stops them all. */
interface ChunkStop {
  paused: GraphApiError | null;
  cancelled: boolean;
  /** Meta refused the campaign's own template (one of TEMPLATE_REFUSALS, its code): nothing more of it can go */
  templateRefused: number | null;
}

const halted = (stop: ChunkStop): boolean => stop.paused !== null || stop.cancelled || stop.templateRefused !== null;

interface ClaimedDelivery {
  id: string;
  /** the claim's lease (its expiry, as PostgreSQL wrote it): a move back to queued needs it still in place */
  lease: string;
  attempts: number;
  subscriber_id: string | null;
  /** the subscriber's status at the claim; null when the subscriber is gone (erased) */
  subscriber_status: string | null;
  /** when the subscription the claim found began: an opt-out announced since stops the delivery */
  subscribed_at: Date | null;
  phone: string | null;
  user_id: string | null;
  last_inbound_at: Date | null;
  /** when Meta said (131047) that the citizen's window was closed; null when it never did */
  window_closed_at: Date | null;
}

const dispatched = counter({ name: 'delivery_dispatch_total', help: 'Campaign sends by outcome', labelNames: ['outcome'] as const });

/**
 * Sends the queued deliveries of one bucket of a campaign: claims a chunk at a time (a lease on
 * queued deliveries, only while the campaign is sending and no wamid is recorded; with each
 * subscriber's state as it is now),
 * applies the 24-hour rule and Meta's messaging limit, takes send slots on the number's shared
 * timeline, calls the provider and records every outcome in one statement per chunk.
 */
@Injectable()
export class DispatchProcessor implements OnApplicationBootstrap {
  private readonly logger = new Logger(DispatchProcessor.name);
  /** Normal-lane slots of this process per channel. */
  private readonly slots = new NumberSlots(MAX_JOBS_PER_NUMBER, STANDBY_JOBS_PER_NUMBER);
  /** Each channel's rate as last loaded (sizes the wait of a put-back batch). */
  private readonly knownRates = new Map<string, number>();

  constructor(
    private readonly transport: QueueTransport,
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly statements: PreparedStatements,
    private readonly ledger: DeliveryLedger,
    private readonly scheduler: DispatchScheduler,
    private readonly throttle: SendThrottle,
    private readonly reach: ReachLimiter,
    private readonly channels: ChannelsRepository,
    private readonly messenger: ChannelMessenger,
    private readonly clock: Clock,
    private readonly cancellations: CancellationWatch,
    private readonly templates: MessageTemplatesService,
    private readonly optOuts: OptOutWatch,
  ) {}

  onApplicationBootstrap(): void {
    this.transport.process<DispatchBatchJob>(QueueName.MessageDispatch, this.config.delivery.dispatchConcurrency, (job) => this.dispatch(job.data));
    this.transport.process<DispatchBatchJob>(QueueName.EmergencyDispatch, EMERGENCY_DISPATCH_CONCURRENCY, (job) => this.dispatch(job.data));
  }

  async dispatch(batch: DispatchBatchJob): Promise<void> {
    // Emergencies have their own lane and go first at the number's pacer: never put back.
    if (batch.emergency) return this.dispatchBatch(batch, () => undefined);
    // Taken in one tick, before any await. A standby takes over the slot of the first running job
    // to hand out its last message: the number's pacer never waits for a put-back batch.
    const slot = this.slots.take(batch.channelId);
    if (!slot) {
      await this.scheduler.defer(batch, DispatchProcessor.deferralMs(this.knownRates.get(batch.channelId) ?? DEFAULT_NUMBER_RATE));
      return;
    }
    // Given back once the batch has handed out its last message (its answers may still be coming).
    const giveBack = await slot;
    try {
      await this.dispatchBatch(batch, giveBack);
    } finally {
      giveBack();
    }
  }

  private async dispatchBatch(batch: DispatchBatchJob, sent: () => void): Promise<void> {
    const tenantId = asTenantId(batch.tenantId);
    const context = await this.loadContext(tenantId, batch.campaignId);
    // A comune suspended meanwhile sends nothing more (its sending campaigns are stopped with the suspension).
    if (!context || context.status !== 'sending' || context.tenantStatus !== 'active') return;
    const channel = await this.channels.findById(tenantId, batch.channelId);
    // A paused channel keeps its deliveries queued; the reconciler picks them up once it is active again.
    if (!channel || channel.status !== 'active') return;
    this.knownRates.set(channel.id, channel.messagesPerSecond);
    if (context.priority !== 'emergency') {
      const now = this.clock.now();
      const end = quietHoursEnd(now, { timezone: context.timezone, start: context.quietHoursStart, end: context.quietHoursEnd });
      if (end) {
        await this.scheduler.enqueueLater(batch, `:until:${Math.floor(end.getTime() / 60_000)}`, end.getTime() - now.getTime());
        return;
      }
    }
    await this.send(tenantId, batch, context, channel, sent);
  }

  /**
   * How long a batch waits when its number is busy: about the time a running batch takes at the
   * number's rate, spread by ±25% so that put-back batches do not all come back at once.
   */
  static deferralMs(messagesPerSecond: number, random = Math.random()): number {
    const batchMs = (DISPATCH_BUCKET / (messagesPerSecond * SendThrottle.HEADROOM)) * 1000;
    return Math.round(Math.min(30_000, Math.max(100, batchMs)) * (0.75 + random * 0.5));
  }

  /**
   * Claims, sends and records the batch's deliveries chunk by chunk; calls `sent` once the last
   * message is handed out, before the last answers and records are in.
   */
  private async send(tenantId: TenantId, batch: DispatchBatchJob, context: CampaignContext, channel: Channel, sent: () => void): Promise<void> {
    const range = batchRange(batch);
    const chunkSize = DispatchProcessor.chunkSize(channel.messagesPerSecond);
    // The next chunk is claimed while this one is sent, and is sent while earlier chunks' answers
    // are still coming (up to MAX_CHUNKS_AWAITING_ANSWERS): the number's pacer always has demand,
    // whatever the provider's latency. Each chunk's outcomes are recorded in one statement once
    // answered. Every queued delivery of the range is claimed once, whatever its subscriber's
    // state: those who left are recorded as skipped with the chunk, so no pass over the range is
    // left to do.
    const stop: ChunkStop = { paused: null, cancelled: false, templateRefused: null };
    const recording: Promise<void>[] = [];
    // A cancel taken while this job's messages wait for their slots stops what is not sent yet,
    // and so does the opt-out of one of their recipients for that recipient.
    const unwatch = this.cancellations.watch(tenantId, batch.campaignId);
    const unwatchOptOuts = this.optOuts.watch();
    try {
      const awaitingAnswers: Promise<void>[] = [];
      let claimed = await this.claim(tenantId, batch.campaignId, range, chunkSize);
      while (claimed.length > 0) {
        // Each claim starts after the previous one's last delivery: the ones in between are held by
        // this job (or were skipped as locked by another claim, whose job sends them).
        const after = { from: Math.max(...claimed.map((row) => Number(row.id))) + 1, to: range.to };
        // A short claim found the range's last claimable deliveries: no further claim to prefetch.
        const next = claimed.length < chunkSize ? Promise.resolve([] as ClaimedDelivery[]) : this.claim(tenantId, batch.campaignId, after, chunkSize);
        // A failed prefetch surfaces when awaited below; never as an unhandled rejection meanwhile.
        next.catch(() => undefined);
        let chunk: Awaited<ReturnType<DispatchProcessor['sendChunk']>>;
        try {
          chunk = await this.sendChunk(tenantId, batch, context, channel, claimed, stop);
        } catch (error) {
          // The job fails (the throttle closed at shutdown): the chunk claimed ahead goes back to
          // the queue at once rather than when its lease expires.
          recording.push(next.then((rows) => (rows.length > 0 ? this.release(tenantId, rows).then(() => undefined) : undefined)));
          throw error;
        }
        recording.push(chunk.recorded);
        awaitingAnswers.push(chunk.answered);
        if (awaitingAnswers.length > MAX_CHUNKS_AWAITING_ANSWERS) await awaitingAnswers.shift();
        const following = await next;
        if (halted(stop)) {
          // Claimed ahead but not attempted: back to the queue as they were (skipped, if cancelled).
          if (following.length > 0) recording.push(this.release(tenantId, following).then(() => undefined));
          break;
        }
        claimed = following;
      }
    } finally {
      sent();
      // Every claimed chunk is recorded before the job ends (or fails and is retried).
      await Promise.allSettled(recording);
      unwatch();
      unwatchOptOuts();
    }
    await Promise.all(recording);
    if (stop.paused) await this.pauseChannel(tenantId, channel, stop.paused);
  }

  /**
   * How long a send of unknown outcome waits for its status webhook: the configured hold, at most
   * EMERGENCY_UNCERTAIN_HOLD_MS for an emergency (a late alert costs more than a repeated one).
   */
  private uncertainHoldMs(emergency: boolean): number {
    const hold = this.config.delivery.uncertainHoldSeconds * 1000;
    return emergency ? Math.min(hold, EMERGENCY_UNCERTAIN_HOLD_MS) : hold;
  }

  /**
   * Deliveries claimed per statement: about 100 ms of the number's rate, within [2, 100]. Claims
   * re-check subscriber and campaign, so a claim never runs far ahead of its sends (with the
   * prefetch, about two chunks: 200 ms at the rate).
   */
  static chunkSize(messagesPerSecond: number): number {
    return Math.min(100, Math.max(2, Math.round(messagesPerSecond * SendThrottle.HEADROOM * 0.1)));
  }

  /** Claimed deliveries that were not attempted go back to `queued`. */
  private release(tenantId: TenantId, rows: ClaimedDelivery[]): Promise<Set<string>> {
    const at = this.clock.now();
    return this.ledger.apply(tenantId, rows.map((row) => ({ id: row.id, from: 'queued' as const, to: 'queued' as const, at, lease: row.lease })));
  }

  private async loadContext(tenantId: TenantId, campaignId: string): Promise<CampaignContext | null> {
    const rows = (await this.dataSource.query(
      `SELECT c.status, t.status AS "tenantStatus", c.priority, c.message, t.timezone, t.quiet_hours_start AS "quietHoursStart", t.quiet_hours_end AS "quietHoursEnd",
              ct.body_parameter_names AS "templateParameterNames", ct.quick_replies AS "templateQuickReplies",
              fb.body_parameter_names AS "fallbackParameterNames", fb.status AS "fallbackStatus"
         FROM campaigns c JOIN tenants t ON t.id = c.tenant_id LEFT JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id
         LEFT JOIN message_templates ct ON ct.tenant_id = c.tenant_id AND ct.waba_id = ch.waba_id AND ct.name = c.message->'template'->>'name' AND ct.language = c.message->'template'->>'language'
         LEFT JOIN message_templates fb ON fb.tenant_id = c.tenant_id AND fb.waba_id = ch.waba_id AND fb.name = ch.fallback_template->>'name' AND fb.language = ch.fallback_template->>'language'
        WHERE c.tenant_id = $1 AND c.id = $2`,
      [tenantId, campaignId],
    )) as CampaignContext[];
    return rows[0] ?? null;
  }

  /**
   * Leases the next chunk of the range to this job (for the stuck threshold), re-checking the campaign and the wamid in the
   * same statement; answers each delivery with its subscriber as it is now. The pick reads the
   * deliveries index alone (joining subscribers there let a stale estimate choose a hash join over
   * every subscriber of the database); deliveries whose subscriber left are claimed too, and
   * recorded as skipped with the chunk's outcomes.
   */
  private claim(tenantId: TenantId, campaignId: string, range: { from: number; to: number }, limit: number): Promise<ClaimedDelivery[]> {
    return this.statements.query<ClaimedDelivery>(CLAIM_CHUNK, [tenantId, campaignId, range.from, range.to, limit, this.config.delivery.stuckDeliverySeconds]);
  }

  /**
   * Sends one claimed chunk: resolves once its last request is handed to the provider. `answered`
   * settles when every answer is in (never rejects), `recorded` once the outcomes are written (one
   * statement). A pause error (from this chunk or another of the job) stops what is not sent yet.
   */
  private async sendChunk(
    tenantId: TenantId,
    batch: DispatchBatchJob,
    context: CampaignContext,
    channel: Channel,
    claimed: ClaimedDelivery[],
    stop: ChunkStop,
  ): Promise<{ answered: Promise<void>; recorded: Promise<void> }> {
    const now = this.clock.now();
    const changes: DeliveryChange[] = [];
    const sandbox = channel.provider === ChannelProvider.Sandbox;
    // A fallback template WhatsApp would refuse (not APPROVED, or missing from a synced list) is
    // not sent: those outside the window are skipped, as without one (the send warned of it).
    const fallbackRefused = !sandbox && (context.fallbackStatus !== null ? context.fallbackStatus !== 'APPROVED' : channel.templatesSyncedAt !== null);
    const fallbackTemplate = channel.fallbackTemplate && !fallbackRefused ? { ...channel.fallbackTemplate, parameterNames: sandbox ? null : context.fallbackParameterNames } : null;
    const traits = { sandbox, fallbackTemplate };
    const message: CampaignMessage =
      context.message.type === 'template' && !sandbox && (context.templateParameterNames || context.templateQuickReplies?.length)
        ? { ...context.message, template: { ...context.message.template, parameterNames: context.templateParameterNames, quickReplies: context.templateQuickReplies } }
        : context.message;
    let toSend: { row: ClaimedDelivery; request: SendRequest; businessInitiated: boolean }[] = [];
    for (const row of claimed) {
      // A subscriber who left (or was erased) since the fan-out gets nothing.
      // Meta said the window is closed (131047) although the last message says open (clock skew, a
      // late webhook): planned as outside it, through the fallback template or skipped.
      const windowClosed = row.window_closed_at !== null && (row.last_inbound_at === null || new Date(row.last_inbound_at) <= new Date(row.window_closed_at));
      const lastInboundAt = row.last_inbound_at && !windowClosed ? new Date(row.last_inbound_at) : null;
      const plan = row.subscriber_status === 'active' ? planDelivery(batch.campaignId, message, traits, lastInboundAt, now) : { skip: 'unsubscribed' };
      if ('skip' in plan) changes.push({ id: row.id, from: 'queued', to: 'skipped', at: now, reason: plan.skip });
      else {
        toSend.push({
          row,
          businessInitiated: plan.businessInitiated,
          request: { to: row.phone, recipientUserId: row.phone ? null : row.user_id, message: plan.send, callbackData: row.id },
        });
      }
    }

    let laterAt = 0;
    const limit = messagingLimit(channel.messagingLimitTier);
    const initiated = toSend.filter((item) => item.businessInitiated);
    if (Number.isFinite(limit) && initiated.length > 0) {
      const { admitted, retryAt } = await this.reach.admit(channel.wabaId, limit, initiated.map((item) => item.row.phone ?? item.row.user_id ?? item.row.id));
      const held = new Set(initiated.filter((_, i) => !admitted[i]).map((item) => item.row.id));
      if (held.size > 0) {
        // Beyond Meta's daily reach: wait in the queue (delayed), never fail.
        const nextAttemptAt = new Date(Math.max(retryAt, Date.now() + 60_000));
        for (const item of initiated) if (held.has(item.row.id)) changes.push({ id: item.row.id, from: 'queued', to: 'queued', at: now, nextAttemptAt, lease: item.row.lease });
        laterAt = Math.max(laterAt, nextAttemptAt.getTime());
        toSend = toSend.filter((item) => !held.has(item.row.id));
      }
    }

    const group = SendThrottle.groupSize(channel.messagesPerSecond);
    const inFlight: Promise<void>[] = [];
    // Counted per chunk, reported to the metrics once its answers are in.
    const outcomes: Record<string, number> = { sent: 0 };
    // Templates Meta said are paused or disabled (132015 / 132016), noted once per chunk.
    const refusedTemplates = new Map<string, { name: string; language: string; code: number }>();
    // The whole chunk's demand is known to the pacer at once (its groups queue in order), so slots
    // are reserved ahead and each group goes out when its slot is due, instead of one Redis round
    // trip per group. Gates left unawaited (channel paused) just lapse.
    const slices: (typeof toSend)[] = [];
    for (let i = 0; i < toSend.length; i += group) slices.push(toSend.slice(i, i + group));
    const gates = slices.map((slice) => this.throttle.acquire(channel.id, channel.messagesPerSecond, slice.length, batch.emergency));
    for (const gate of gates) gate.catch(() => undefined);
    let gateFailure: unknown = null;
    for (let g = 0; g < slices.length && !halted(stop); g++) {
      const slice = slices[g];
      try {
        await gates[g];
      } catch (error) {
        // The throttle closed (shutdown): what is in flight is still answered and recorded below.
        gateFailure = error;
        break;
      }
      if (stop.paused || stop.templateRefused !== null) break;
      // Asked at the last moment before the hand-over: a cancel seen since the claim sends nothing more.
      if (this.cancellations.isCancelled(batch.campaignId)) {
        stop.cancelled = true;
        break;
      }
      for (const item of slice) {
        // Left since the claim (the opt-out was announced): not handed over, recorded as skipped.
        if (this.optOuts.isOptedOut(item.row.subscriber_id, item.row.subscribed_at)) {
          changes.push({ id: item.row.id, from: 'queued', to: 'skipped', at: now, reason: 'unsubscribed' });
          continue;
        }
        inFlight.push(
          this.messenger.send(channel, item.request).then(
            (result) => {
              outcomes.sent++;
              changes.push({ id: item.row.id, from: 'queued', to: 'sent', at: this.clock.now(), providerMessageId: result.wamid });
            },
            (error: unknown) => {
              const graph = error instanceof GraphApiError ? error : null;
              const disposition = graph?.disposition ?? ErrorDisposition.Retry;
              const code = graph?.code ?? null;
              const detail = (error as Error)?.message ?? String(error);
              const outcome = graph?.uncertain ? 'uncertain' : disposition;
              outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
              const sentMessage = item.request.message;
              if ((code === TEMPLATE_PAUSED || code === TEMPLATE_DISABLED) && sentMessage.type === 'template') {
                refusedTemplates.set(`${sentMessage.name}/${sentMessage.language}`, { name: sentMessage.name, language: sentMessage.language, code });
              }
              // The campaign's own template (not the fallback of a text): its other messages would all fail.
              if (
                code !== null &&
                TEMPLATE_REFUSALS[code] !== undefined &&
                sentMessage.type === 'template' &&
                context.message.type === 'template' &&
                context.message.template.name === sentMessage.name &&
                context.message.template.language === sentMessage.language
              ) {
                stop.templateRefused ??= code;
              }
              if (disposition === ErrorDisposition.Pause) {
                stop.paused ??= graph;
                changes.push({ id: item.row.id, from: 'queued', to: 'queued', at: now, errorCode: code, errorDetail: detail, lease: item.row.lease });
              } else if (code === WINDOW_CLOSED && item.request.message.type !== 'template' && item.row.attempts < MAX_SEND_ATTEMPTS) {
                // A free-form message refused as outside the 24-hour window: planned again as
                // outside it (the channel's fallback template, or skipped outside_window) until the
                // citizen writes again, whatever the error of a later attempt.
                const nextAttemptAt = new Date(Date.now() + WINDOW_CLOSED_REPLAN_MS);
                laterAt = Math.max(laterAt, nextAttemptAt.getTime());
                changes.push({ id: item.row.id, from: 'queued', to: 'queued', at: now, errorCode: code, errorDetail: detail, nextAttemptAt, lease: item.row.lease, windowClosed: true });
              } else if (disposition === ErrorDisposition.Permanent || item.row.attempts >= MAX_SEND_ATTEMPTS) {
                changes.push({ id: item.row.id, from: 'queued', to: 'failed', at: this.clock.now(), errorCode: code, errorDetail: detail });
              } else {
                // An answer lost on the way back may hide a message Meta created: it waits for the
                // status webhook that names the delivery (which records it as sent) before a resend.
                const backoff = retryDelayMs(code, item.row.attempts - 1);
                const delay = graph?.uncertain ? Math.max(backoff, this.uncertainHoldMs(batch.emergency)) : backoff;
                const nextAttemptAt = new Date(Date.now() + delay);
                laterAt = Math.max(laterAt, nextAttemptAt.getTime());
                changes.push({ id: item.row.id, from: 'queued', to: 'queued', at: now, errorCode: code, errorDetail: detail, nextAttemptAt, lease: item.row.lease });
              }
            },
          ),
        );
      }
    }
    const answered = Promise.all(inFlight).then(async () => {
      for (const [outcome, n] of Object.entries(outcomes)) if (n > 0) dispatched.inc({ outcome }, n);
      recordDispatch(channel.provider, outcomes.sent);
      for (const refused of refusedTemplates.values()) {
        await this.templates.noteSendRefusal(channel, refused, refused.code).catch((error: unknown) => this.logger.warn(`could not note template ${refused.name} as refused: ${(error as Error).message}`));
      }
      if (stop.templateRefused !== null && context.message.type === 'template') {
        const { name, language } = context.message.template;
        const code = stop.templateRefused;
        const reason = `WhatsApp refused template "${name}" (${language}) ${TEMPLATE_REFUSALS[code]} (error ${code}): the messages not sent yet were stopped. ${
          code === TEMPLATE_PAUSED || code === TEMPLATE_DISABLED ? 'Choose another template' : 'Check its name, language and values against the templates of the channel (sync them)'
        } and send a new campaign`;
        // Stopped as a cancel is (the campaigns side owns that), once whatever the number of jobs.
        await this.transport
          .add<StopCampaignJob>(QueueName.Campaigns, { name: STOP_CAMPAIGN_JOB, data: { tenantId, campaignId: batch.campaignId, reason }, options: { jobId: `stop:${batch.campaignId}` } })
          .catch((error: unknown) => this.logger.warn(`could not stop campaign ${batch.campaignId}: ${(error as Error).message}`));
      }
    });
    const recorded = answered
      .then(() => {
        // Claimed but not attempted (the channel paused or the campaign cancelled meanwhile): back to
        // the queue, which for a cancelled campaign records them as skipped (`cancelled`).
        const done = new Set(changes.map((change) => change.id));
        for (const row of claimed) if (!done.has(row.id)) changes.push({ id: row.id, from: 'queued', to: 'queued', at: now, lease: row.lease });
        return this.ledger.applyDurably(tenantId, changes);
      })
      .then(async () => {
        if (laterAt > 0) await this.scheduler.enqueueLater(batch, `:later:${Math.ceil(laterAt / 1000)}`, laterAt - Date.now() + 50);
      });
    recorded.catch(() => undefined);
    if (gateFailure) {
      await recorded;
      throw gateFailure;
    }
    return { answered, recorded };
  }

  private async pauseChannel(tenantId: TenantId, channel: Channel, error: GraphApiError): Promise<void> {
    const reason = `WhatsApp error ${error.code ?? 'unknown'}: ${error.message}`.slice(0, 500);
    // The pause and its audit line (system actor) in one statement; a channel already paused records nothing.
    await this.dataSource.query(
      `WITH paused AS (
         UPDATE channels SET status = 'paused', paused_reason = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2 AND status = 'active' RETURNING tenant_id, id
       )
       INSERT INTO audit_log (tenant_id, actor_kind, action, target_type, target_id, details)
       SELECT tenant_id, 'system', $4, 'channel', id::text, jsonb_build_object('reason', $3::text, 'code', $5::int) FROM paused`,
      [tenantId, channel.id, reason, AuditAction.ChannelPaused, error.code ?? null],
    );
    this.logger.warn({ tenantId, channelId: channel.id, code: error.code }, `channel paused: ${reason}`);
  }
}

/**
 * $1 tenant, $2 campaign, $3..$4 id range, $5 limit, $6 lease seconds. Rows locked by another
 * claim or under a live lease are skipped; the campaign must still be sending. The claim writes
 * only the lease and the attempt count (no indexed column): a heap-only update.
 */
const CLAIM_CHUNK = `WITH picked AS MATERIALIZED (
    SELECT q.id, q.subscriber_id FROM deliveries q
     WHERE q.tenant_id = $1 AND q.campaign_id = $2 AND q.id BETWEEN $3 AND $4
       AND q.status = 'queued' AND q.provider_message_id IS NULL
       AND (q.claimed_until IS NULL OR q.claimed_until <= now())
       AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= now())
       AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = $2 AND c.tenant_id = $1 AND c.status = 'sending')
     ORDER BY q.id LIMIT $5
     FOR UPDATE OF q SKIP LOCKED
  )
  UPDATE deliveries d SET claimed_until = now() + make_interval(secs => $6), attempts = d.attempts + 1
    FROM picked LEFT JOIN subscribers s ON s.id = picked.subscriber_id
   WHERE d.id = picked.id AND d.status = 'queued'
   RETURNING d.id::text AS id, d.claimed_until::text AS lease, d.attempts, d.subscriber_id::text AS subscriber_id, s.status AS subscriber_status, s.subscribed_at, s.phone, s.user_id, s.last_inbound_at, d.window_closed_at`;
