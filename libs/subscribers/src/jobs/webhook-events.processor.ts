import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { AppConfig, Clock, MicroBatch, recordWebhookEvent } from '@app/core';
import { Channel, ChannelsService, MessageTemplatesService, PURGE_WEBHOOK_EVENTS, WebhookEvent, WebhookEventJob, WebhookIngestionService } from '@app/channels';
import { QueueJob, QueueName, QueueProducer, QueueTransport } from '@app/queue';
import { DeliveryStatusesJob, parseWebhookPayload } from '@app/whatsapp';
import { DeliveryStatusesProcessor } from '@app/delivery';
import { InboundService } from '../inbound/inbound.service';
import { ReplyOutbox } from '../inbound/reply-outbox';

const PURGE_EVERY_MS = 6 * 3600 * 1000;
/** Stored events no job processed are looked for this often, once they are this old (s). */
const REQUEUE_EVERY_MS = 30_000;
const FORGOTTEN_AFTER_SECONDS = 60;
/** Answers to citizens due again (after a failed try, or left by a dead worker) are looked for this often. */
const REPLY_SWEEP_EVERY_MS = 1_000;
/** Events processed at once: a status-only event mostly waits for its batched write. */
const WEBHOOK_CONCURRENCY = 32;
/** Processed marks gathered into one statement: at most this many, for at most this long. */
const MARK_BATCH = 200;
const MARK_DELAY_MS = 5;
/** Events read together at most, and how long a job waits for companions (ms). */
const LOAD_BATCH = WEBHOOK_CONCURRENCY;
const LOAD_DELAY_MS = 2;

/**
 * Consumes QueueName.WebhookEvents: parses a stored raw event and routes each change by its
 * phone_number_id, acting only on the channels that verified the event's signature (a comune's
 * webhook URL never acts on another comune's channel). Also purges raw events past retention.
 */
@Injectable()
export class WebhookEventsProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookEventsProcessor.name);
  private timer: NodeJS.Timeout | null = null;
  private requeueTimer: NodeJS.Timeout | null = null;
  private replyTimer: NodeJS.Timeout | null = null;
  private requeueing = false;
  /** The delivery engine's status batcher when it runs in this process (the worker); else statuses go through its queue. */
  private statuses: { ingest(job: DeliveryStatusesJob): Promise<void> } | null = null;

  constructor(
    private readonly transport: QueueTransport,
    private readonly producer: QueueProducer,
    private readonly inbound: InboundService,
    private readonly outbox: ReplyOutbox,
    private readonly ingestion: WebhookIngestionService,
    private readonly channelsService: ChannelsService,
    private readonly templates: MessageTemplatesService,
    @InjectRepository(WebhookEvent) private readonly events: Repository<WebhookEvent>,
    @InjectRepository(Channel) private readonly channels: Repository<Channel>,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly moduleRef: ModuleRef,
  ) {}

  onApplicationBootstrap(): void {
    try {
      this.statuses = this.moduleRef.get(DeliveryStatusesProcessor, { strict: false });
    } catch {
      this.statuses = null;
    }
    this.transport.process<WebhookEventJob | Record<string, never>>(QueueName.WebhookEvents, WEBHOOK_CONCURRENCY, (job) => this.handle(job));
    const schedulePurge = () =>
      this.producer
        .enqueue(QueueName.WebhookEvents, { name: PURGE_WEBHOOK_EVENTS, data: {}, options: { jobId: `${PURGE_WEBHOOK_EVENTS}:${Math.floor(Date.now() / PURGE_EVERY_MS)}`, attempts: 2 } })
        .catch((error: unknown) => this.logger.warn(`could not schedule the webhook-event purge: ${String(error)}`));
    void schedulePurge();
    this.timer = setInterval(schedulePurge, PURGE_EVERY_MS);
    this.timer.unref();
    // PostgreSQL has every verified event; a job lost with the queue (down at intake, flushed) is made again.
    this.requeueTimer = setInterval(() => void this.requeueForgotten(), REQUEUE_EVERY_MS);
    this.requeueTimer.unref();
    this.replyTimer = setInterval(
      () => void this.outbox.sweep().catch((error: unknown) => this.logger.warn(`could not sweep the answers to citizens: ${(error as Error).message}`)),
      REPLY_SWEEP_EVERY_MS,
    );
    this.replyTimer.unref();
  }

  /** One pass of queuing stored events again whose job was lost (one at a time per process). */
  async requeueForgotten(olderThanSeconds = FORGOTTEN_AFTER_SECONDS): Promise<number> {
    if (this.requeueing) return 0;
    this.requeueing = true;
    try {
      const count = await this.ingestion.requeueForgotten(olderThanSeconds);
      if (count > 0) this.logger.warn(`queued again ${count} stored webhook event(s) that no job had processed`);
      return count;
    } catch (error) {
      this.logger.warn(`could not queue forgotten webhook events again: ${(error as Error).message}`);
      return 0;
    } finally {
      this.requeueing = false;
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.requeueTimer) clearInterval(this.requeueTimer);
    if (this.replyTimer) clearInterval(this.replyTimer);
  }

  async handle(job: QueueJob<WebhookEventJob | Record<string, never>>): Promise<void> {
    if (job.name === PURGE_WEBHOOK_EVENTS) {
      await this.ingestion.purgeOlderThan(this.config.webhookRetentionDays);
      await this.outbox.purgeOlderThan(this.config.webhookRetentionDays);
      await this.inbound.purgeErasedMessageIdsOlderThan(this.config.webhookRetentionDays);
      return;
    }
    await this.process(job.data as WebhookEventJob);
  }

  /**
   * Events processed within a few milliseconds of each other are marked in one statement (one
   * event per Meta POST, hundreds per second at peak); each resolves once the mark is committed.
   */
  private readonly marks = new MicroBatch<string, void>(
    async (ids) => {
      await this.events.query(`UPDATE webhook_events SET processed_at = $2, error = NULL WHERE id = ANY($1::bigint[])`, [ids, this.clock.now()]);
      return ids.map(() => ({ ok: undefined }));
    },
    { maxItems: MARK_BATCH, maxDelayMs: MARK_DELAY_MS },
  );

  private markProcessed(id: string): Promise<void> {
    return this.marks.add(id);
  }

  /**
   * Events whose jobs start within a couple of milliseconds are read in one query, and the
   * channels that verified them in another (a campaign's status flow is hundreds of events a
   * second: two queries per event were most of what their processing cost PostgreSQL).
   */
  private readonly loads = new MicroBatch<WebhookEventJob, { event: WebhookEvent | null; channels: Channel[] }>(
    async (jobs) => {
      const events = await this.events.findBy({ id: In([...new Set(jobs.map((job) => job.eventId))]) });
      const channelIds = [...new Set(jobs.flatMap((job) => job.channelIds))];
      const channels = channelIds.length ? await this.channels.findBy({ id: In(channelIds) }) : [];
      const eventById = new Map(events.map((event) => [String(event.id), event]));
      const channelById = new Map(channels.map((channel) => [channel.id, channel]));
      return jobs.map((job) => ({
        ok: {
          event: eventById.get(String(job.eventId)) ?? null,
          // Each event gets its own copies: handling one (a quality update) never changes another's.
          channels: job.channelIds.flatMap((id) => {
            const channel = channelById.get(id);
            return channel ? [Object.assign(Object.create(Object.getPrototypeOf(channel) as object) as Channel, channel)] : [];
          }),
        },
      }));
    },
    { maxItems: LOAD_BATCH, maxDelayMs: LOAD_DELAY_MS },
  );

  async process(job: WebhookEventJob): Promise<void> {
    const { event, channels } = await this.loads.add(job);
    if (!event) return; // purged
    const byPhoneNumberId = new Map(channels.map((c) => [c.phoneNumberId, c]));
    try {
      for (const change of parseWebhookPayload(event.payload, this.clock.now())) {
        const channel = change.phoneNumberId ? byPhoneNumberId.get(change.phoneNumberId) : undefined;
        recordWebhookEvent('message', change.messages.length);
        recordWebhookEvent('status', change.statuses.length);
        if (change.quality) {
          recordWebhookEvent('other');
          await this.channelsService.applyQualityUpdate(channels, change.wabaId, change.quality);
          continue;
        }
        if (change.template) {
          recordWebhookEvent('other');
          await this.templates.applyStatusEvent(channels, change.wabaId, change.template);
          continue;
        }
        if (!channel) {
          if (change.phoneNumberId) this.logger.warn(`webhook event ${event.id}: change for phone_number_id ${change.phoneNumberId} not routed (not a verified channel)`);
          continue;
        }
        if (this.statuses && change.statuses.length > 0) {
          // Statuses are applied here, batched with other events' (one queue hop less); the event
          // is marked processed only once they are committed.
          await this.inbound.handleChange(channel, { ...change, statuses: [] }, String(event.id));
          await this.statuses.ingest({ tenantId: channel.tenantId, channelId: channel.id, statuses: change.statuses });
        } else {
          await this.inbound.handleChange(channel, change, String(event.id));
        }
      }
      await this.markProcessed(String(event.id));
    } catch (error) {
      await this.events.update({ id: event.id }, { error: String(error instanceof Error ? error.message : error).slice(0, 1000) }).catch(() => undefined);
      throw error;
    }
  }
}
