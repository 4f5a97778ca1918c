import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { timingSafeEqual } from 'crypto';
import { Repository } from 'typeorm';
import { BadRequestError, BatchOutcome, Clock, ForbiddenError, MicroBatch, NotFoundError, sha256Hex, UnauthorizedError } from '@app/core';
import { QueueName, QueueProducer } from '@app/queue';
import { isValidSignature } from '@app/whatsapp';
import type { Channel } from './channel.entity';
import { ChannelSecrets } from './channel-secrets';
import { ChannelsRepository } from './channels.repository';
import { WebhookEvent } from './webhook-event.entity';

/** Job payload of QueueName.WebhookEvents ('process-webhook-event'). */
export interface WebhookEventJob {
  eventId: string;
  /** The only channels this event may act on: those whose secret verified the signature. */
  channelIds: string[];
}

export const PROCESS_WEBHOOK_EVENT = 'process-webhook-event';
export const PURGE_WEBHOOK_EVENTS = 'purge-webhook-events';

/** A raw event as it is inserted: the columns of webhook_events, in INSERT_COLUMNS order. */
type EventRow = [tenantId: string | null, channelId: string | null, channelIds: string[], bodySha256: string, payload: string, receivedAt: Date, contacts: string[]];

const INSERT_COLUMNS = '(tenant_id, channel_id, channel_ids, body_sha256, payload, received_at, contacts)';
const ROW_PLACEHOLDERS = (row: number) => `($${row * 7 + 1}, $${row * 7 + 2}, $${row * 7 + 3}, $${row * 7 + 4}, $${row * 7 + 5}::jsonb, $${row * 7 + 6}, $${row * 7 + 7})`;
/** Events written (and queued) together at most; a POST waits at most INTAKE_BATCH_MS for companions. */
const INTAKE_BATCH = 64;
const INTAKE_BATCH_MS = 2;

const safeEqual = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * The request path of WhatsApp webhooks: verify, persist the raw body, enqueue, answer. No business
 * logic here (whatsapp-cloud-api.md §10.1); the worker does the rest.
 */
@Injectable()
export class WebhookIngestionService {
  /**
   * Channels read for signature checks are kept this long: Meta posts many events per second per
   * number, and a channel's secret rarely changes (a rotated secret is seen within this time).
   */
  static readonly CHANNEL_CACHE_MS = 2000;
  /** How long a POST waits for the queue to take its event before answering anyway (the event is stored). */
  static readonly ENQUEUE_WAIT_MS = 2000;
  private readonly logger = new Logger(WebhookIngestionService.name);
  private readonly recentChannels = new Map<string, { channel: Channel; until: number }>();
  /**
   * Events of POSTs arriving within a couple of milliseconds are inserted in one statement and
   * queued in one bulk add: at a campaign's status flow (hundreds of POSTs a second) the cost per
   * statement and per round trip, not per row, is what the API spends.
   */
  private readonly inserts = new MicroBatch<EventRow, string>((rows) => this.insertEvents(rows), { maxItems: INTAKE_BATCH, maxDelayMs: INTAKE_BATCH_MS });
  private readonly enqueues = new MicroBatch<WebhookEventJob, void>((jobs) => this.enqueueEvents(jobs), { maxItems: INTAKE_BATCH, maxDelayMs: INTAKE_BATCH_MS });

  constructor(
    private readonly channels: ChannelsRepository,
    private readonly secrets: ChannelSecrets,
    @InjectRepository(WebhookEvent) private readonly events: Repository<WebhookEvent>,
    private readonly producer: QueueProducer,
    private readonly clock: Clock,
  ) {
    // A change made through this process is seen at once; other processes' within CHANNEL_CACHE_MS.
    this.secrets.onInvalidate((channelId) => this.recentChannels.delete(channelId));
  }

  /** GET handshake: the challenge when the verify token matches the channel's, else 403. */
  async handshake(channelId: string, mode: string | undefined, token: string | undefined, challenge: string | undefined): Promise<string> {
    const channel = await this.channels.findForWebhook(channelId);
    if (!channel || mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string') {
      throw new ForbiddenError('Webhook verification failed');
    }
    if (!safeEqual(token, this.secrets.open(channel).verifyToken)) throw new ForbiddenError('Webhook verification failed');
    return challenge;
  }

  /**
   * GET handshake of the platform-wide URL (one callback URL for the Meta app, all numbers): the
   * challenge when the verify token is any Cloud API channel's (each compared in constant time),
   * else 403. It only proves the endpoint to Meta; notifications are still verified per channel.
   */
  async platformHandshake(mode: string | undefined, token: string | undefined, challenge: string | undefined): Promise<string> {
    if (mode !== 'subscribe' || typeof token !== 'string' || typeof challenge !== 'string') throw new ForbiddenError('Webhook verification failed');
    let matched = false;
    for (const channel of await this.channels.findAllCloud()) if (safeEqual(token, this.secrets.open(channel).verifyToken)) matched = true;
    if (!matched) throw new ForbiddenError('Webhook verification failed');
    return challenge;
  }

  /** POST to a channel's own URL: signed with that channel's app secret; acts on that channel only. */
  async receiveForChannel(channelId: string, rawBody: Buffer | undefined, signature: string | string[] | undefined): Promise<void> {
    const channel = await this.channelForWebhook(channelId);
    if (!channel) throw new NotFoundError('Channel');
    if (!isValidSignature(rawBody, signature, this.secrets.open(channel).appSecret)) throw new UnauthorizedError('Invalid webhook signature');
    await this.store(rawBody!, [channel], parseBody(rawBody!));
  }

  /**
   * POST to the platform URL: each change is routed by its phone_number_id, and only to channels
   * whose app secret verifies the signature. With none, 401 and nothing stored.
   */
  async receivePlatform(rawBody: Buffer | undefined, signature: string | string[] | undefined): Promise<void> {
    if (!rawBody || typeof signature !== 'string') throw new UnauthorizedError('Invalid webhook signature');
    let payload: unknown;
    try {
      payload = JSON.parse(rawBody.toString('utf8'));
    } catch {
      throw new UnauthorizedError('Invalid webhook signature');
    }
    const routing = collectRoutingKeys(payload);
    const byId = new Map<string, Channel>();
    for (const channel of [...(await this.channels.findByPhoneNumberIds(routing.phoneNumberIds)), ...(await this.channels.findByWabaIds(routing.wabaIds))]) {
      byId.set(channel.id, channel);
    }
    const candidates = [...byId.values()];
    const verified = candidates.filter((channel) => isValidSignature(rawBody, signature, this.secrets.open(channel).appSecret));
    if (verified.length === 0) throw new UnauthorizedError('Invalid webhook signature');
    await this.store(rawBody, verified, payload);
  }

  private async channelForWebhook(channelId: string): Promise<Channel | null> {
    const now = Date.now();
    const cached = this.recentChannels.get(channelId);
    if (cached && cached.until > now) return cached.channel;
    const channel = await this.channels.findForWebhook(channelId);
    if (this.recentChannels.size >= 10_000) this.recentChannels.clear();
    // Unknown ids are not kept: anyone can post to any id.
    if (channel) this.recentChannels.set(channelId, { channel, until: now + WebhookIngestionService.CHANNEL_CACHE_MS });
    return channel;
  }

  /** The sandbox's simulated phone: a payload built by the platform itself for one channel. */
  async receiveTrusted(channel: Channel, payload: unknown): Promise<void> {
    await this.store(Buffer.from(JSON.stringify(payload)), [channel], payload);
  }

  private async store(rawBody: Buffer, channels: Channel[], payload: unknown): Promise<void> {
    const single = channels.length === 1 ? channels[0] : null;
    const tenants = new Set(channels.map((c) => c.tenantId));
    // The raw body, already checked to be JSON, is stored as is, with the citizens it names (an
    // erasure finds their events through that index), in one INSERT with the POSTs beside it.
    const eventId = await this.inserts.add([
      tenants.size === 1 ? channels[0].tenantId : null,
      single?.id ?? null,
      channels.map((c) => c.id),
      sha256Hex(rawBody),
      storableJson(rawBody.toString('utf8')),
      this.clock.now(),
      webhookContacts(payload),
    ]);
    // The event is kept: Meta gets its 200 even when the queue cannot take the job now (Redis down
    // would hold the answer for minutes); the worker queues such events again from PostgreSQL.
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([
      this.enqueues.add({ eventId, channelIds: channels.map((c) => c.id) }).then(
        () => false,
        (error: unknown) => {
          this.logger.warn(`webhook event ${eventId}: not queued (${(error as Error)?.message ?? String(error)}); it is kept and will be queued again`);
          return false;
        },
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), WebhookIngestionService.ENQUEUE_WAIT_MS))),
    ]).finally(() => clearTimeout(timer));
    if (late) this.logger.warn(`webhook event ${eventId}: the queue did not take it within ${WebhookIngestionService.ENQUEUE_WAIT_MS} ms; it is kept and will be queued again`);
  }

  /**
   * One INSERT for the batch's events, their ids in the order of the rows (PostgreSQL returns a
   * multi-row VALUES insert's rows in that order). Should it fail, each event is tried alone, so
   * that one body PostgreSQL refuses fails its own POST only.
   */
  private async insertEvents(rows: EventRow[]): Promise<BatchOutcome<string>[]> {
    const insert = async (part: EventRow[]) =>
      ((await this.events.query(`INSERT INTO webhook_events ${INSERT_COLUMNS} VALUES ${part.map((_, i) => ROW_PLACEHOLDERS(i)).join(', ')} RETURNING id::text AS id`, part.flat())) as { id: string }[]).map(
        (row) => row.id,
      );
    try {
      return (await insert(rows)).map((id) => ({ ok: id }));
    } catch (error) {
      if (rows.length === 1) return [{ error }];
      return Promise.all(rows.map((row) => insert([row]).then(([id]) => ({ ok: id }), (alone: unknown) => ({ error: alone }))));
    }
  }

  /** The batch's processing jobs in one bulk add (deterministic job ids: queuing one again is harmless). */
  private async enqueueEvents(jobs: WebhookEventJob[]): Promise<BatchOutcome<void>[]> {
    await this.producer.enqueueMany(
      QueueName.WebhookEvents,
      jobs.map((job) => ({ name: PROCESS_WEBHOOK_EVENT, data: job, options: { jobId: `webhook-event:${job.eventId}` } })),
    );
    return jobs.map(() => ({ ok: undefined }));
  }

  /** Queues the processing of a stored event (deterministic job id: queuing it again is harmless). Never rejects. */
  private enqueueEvent(eventId: string, channelIds: string[]): Promise<void> {
    const job: WebhookEventJob = { eventId: String(eventId), channelIds };
    return this.producer
      .enqueue(QueueName.WebhookEvents, { name: PROCESS_WEBHOOK_EVENT, data: job, options: { jobId: `webhook-event:${eventId}` } })
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn(`webhook event ${eventId}: not queued (${(error as Error)?.message ?? String(error)}); it is kept and will be queued again`),
      );
  }

  /**
   * Stored events that no job processed (their job was lost: the queue was down at intake, or
   * flushed), older than `olderThanSeconds`: queued again, to the channels they were verified for.
   * Events whose processing failed keep their error and their failed job, for inspection.
   */
  async requeueForgotten(olderThanSeconds: number): Promise<number> {
    const rows = (await this.events.query(
      `SELECT id::text AS id, COALESCE(channel_ids, ARRAY[channel_id])::text[] AS channel_ids FROM webhook_events
        WHERE processed_at IS NULL AND error IS NULL AND (channel_ids IS NOT NULL OR channel_id IS NOT NULL)
          AND received_at < now() - make_interval(secs => $1) AND received_at > now() - interval '7 days'
        ORDER BY id LIMIT 1000`,
      [olderThanSeconds],
    )) as { id: string; channel_ids: string[] }[];
    for (const row of rows) await this.enqueueEvent(row.id, row.channel_ids);
    return rows.length;
  }

  /** Purges raw events older than the retention period; returns how many were removed. */
  async purgeOlderThan(days: number): Promise<number> {
    const result = await this.events
      .createQueryBuilder()
      .delete()
      .where(`received_at < :cutoff`, { cutoff: new Date(this.clock.now().getTime() - days * 86_400_000) })
      .execute();
    const removed = result.affected ?? 0;
    if (removed) this.logger.log(`purged ${removed} webhook events older than ${days} days`);
    return removed;
  }
}

/**
 * The body as jsonb can hold it: PostgreSQL refuses the NUL character (`\u0000`) and a UTF-16
 * surrogate escape without its pair (`\ud800` alone) in jsonb, and a signed body must still be
 * taken (Meta would retry it for days), so each such escape becomes U+FFFD. An escaped backslash
 * before `u0000` (`\\u0000`, the text "\u0000") is left as it is. The digest is of the body as received.
 */
export function storableJson(text: string): string {
  if (!text.includes('\\u')) return text;
  return text.replace(/(?<!\\)((?:\\\\)*)\\u(0000|[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?|[dD][c-fC-F][0-9a-fA-F]{2})/g, (match, backslashes: string, escape: string) =>
    escape.length === 10 ? match : `${backslashes}\\ufffd`,
  );
}

function parseBody(rawBody: Buffer): unknown {
  try {
    return JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new BadRequestError('Webhook body is not JSON');
  }
}

/** Fields of Meta's payloads that name a citizen: WhatsApp ids and business-scoped user ids. */
const CONTACT_FIELDS = new Set(['wa_id', 'user_id', 'from', 'from_user_id', 'recipient_id', 'recipient_user_id']);
const MAX_CONTACTS = 1000;

/**
 * The citizens a webhook names, wherever in it (contacts, messages, statuses, user preferences):
 * every string under one of CONTACT_FIELDS, distinct, at most MAX_CONTACTS. Kept with the raw
 * event, so that erasing a person finds the events naming them through an index.
 */
export function webhookContacts(payload: unknown): string[] {
  const found = new Set<string>();
  const visit = (node: unknown, depth: number): void => {
    if (found.size >= MAX_CONTACTS || depth > 12 || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item, depth + 1);
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'string') {
        if (CONTACT_FIELDS.has(key) && value.length > 0 && value.length <= 160 && found.size < MAX_CONTACTS) found.add(value);
      } else visit(value, depth + 1);
    }
  };
  visit(payload, 0);
  return [...found];
}

/** Who a payload concerns: numbers by phone_number_id, and WABAs for changes without one (account-level fields). */
function collectRoutingKeys(payload: unknown): { phoneNumberIds: string[]; wabaIds: string[] } {
  const phoneNumberIds = new Set<string>();
  const wabaIds = new Set<string>();
  const valid = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && id.length <= 64;
  const entries = (payload as { entry?: unknown })?.entry;
  if (!Array.isArray(entries)) return { phoneNumberIds: [], wabaIds: [] };
  for (const entry of entries) {
    const changes = (entry as { changes?: unknown })?.changes;
    if (!Array.isArray(changes)) continue;
    for (const change of changes) {
      const id = (change as { value?: { metadata?: { phone_number_id?: unknown } } })?.value?.metadata?.phone_number_id;
      if (valid(id)) phoneNumberIds.add(id);
      else if (valid((entry as { id?: unknown }).id)) wabaIds.add((entry as { id: string }).id);
    }
  }
  return { phoneNumberIds: [...phoneNumberIds], wabaIds: [...wabaIds] };
}
