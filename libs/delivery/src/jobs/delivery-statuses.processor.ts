import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { asTenantId, counter, TenantId } from '@app/core';
import { PreparedStatements } from '@app/database';
import { QueueName, QueueTransport } from '@app/queue';
import type { DeliveryStatusesJob, StatusEvent } from '@app/whatsapp';
import { canMoveTo, DeliveryStatus, strongerEvent } from '../delivery-status';
import { DeliveryChange, DeliveryLedger, sameTenant } from '../delivery-ledger';
import { DispatchScheduler } from '../dispatch-scheduler';
import { SERVICE_WINDOW_MS } from '../outbound-plan';
import { REPLY_CALLBACK } from '../reply-callback';
import { MAX_SEND_ATTEMPTS, WINDOW_CLOSED } from './dispatch.processor';

interface Waiting {
  job: DeliveryStatusesJob;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A delivery to send again, as outside the window: its campaign's dispatch job is queued for it. */
interface Replan {
  id: string;
  campaignId: string;
  channelId: string;
  emergency: boolean;
}

/** Jobs taken at once from the queue. */
const STATUS_CONCURRENCY = 256;
/** A batch is written when this many status events are waiting, or FLUSH_MS after the first one. */
const FLUSH_EVENTS = 1000;
const FLUSH_MS = 5;
/**
 * When statuses of messages no delivery has yet are looked at again (ms after the look before).
 * Meta may report a message before the worker has recorded the wamid it answered with (the chunk's
 * other answers are awaited first, or the answer was slow): a `failed` status, which carries no
 * biz_opaque_callback_data to find the delivery by, would otherwise be lost for good.
 */
export const UNKNOWN_STATUS_RETRY_MS = [5_000, 30_000, 120_000];

const applied = counter({ name: 'delivery_status_events_total', help: 'Provider status events by effect', labelNames: ['effect'] as const });

/**
 * Applies provider status events (sent / delivered / read / failed) to deliveries. Jobs taken
 * concurrently are gathered into one batch: per tenant, one read of the current statuses and one
 * compare-and-set UPDATE (with the campaign counters) for all of them. A job completes only once
 * its batch is committed. Statuses never move backwards; `failed` never overrides delivered/read.
 */
@Injectable()
export class DeliveryStatusesProcessor implements OnApplicationBootstrap {
  private waiting: Waiting[] = [];
  private waitingEvents = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Batches are written one at a time (no lock-order races between them); the next one gathers meanwhile. */
  private writing: Promise<void> = Promise.resolve();
  private flushQueued = false;

  constructor(
    private readonly transport: QueueTransport,
    private readonly dataSource: DataSource,
    private readonly statements: PreparedStatements,
    private readonly ledger: DeliveryLedger,
    private readonly scheduler: DispatchScheduler,
  ) {}

  onApplicationBootstrap(): void {
    this.transport.process<DeliveryStatusesJob>(QueueName.DeliveryStatuses, STATUS_CONCURRENCY, (job) => this.ingest(job.data));
  }

  /**
   * Applies a job's status events together with whatever else arrives within a few milliseconds;
   * resolves once they are committed (callers complete their own job or event only then).
   */
  ingest(job: DeliveryStatusesJob): Promise<void> {
    if (job.statuses.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.waitingEvents += job.statuses.length;
      if (this.waitingEvents >= FLUSH_EVENTS) this.scheduleFlush();
      else this.timer ??= setTimeout(() => this.scheduleFlush(), FLUSH_MS);
    });
  }

  private scheduleFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushQueued) return;
    this.flushQueued = true;
    // Takes everything gathered by the time the previous batch is written.
    this.writing = this.writing.then(async () => {
      this.flushQueued = false;
      const batch = this.waiting.splice(0);
      this.waitingEvents = 0;
      if (batch.length > 0) await this.flush(batch);
    });
  }

  private async flush(batch: Waiting[]): Promise<void> {
    const byTenant = new Map<string, StatusEvent[]>();
    for (const { job } of batch) {
      const events = byTenant.get(job.tenantId) ?? [];
      events.push(...job.statuses);
      byTenant.set(job.tenantId, events);
    }
    try {
      // Tenants touch disjoint deliveries and campaigns: written side by side.
      const unknown = new Set(
        (await Promise.all([...byTenant].map(async ([tenantId, events]) => (await this.applyEvents(asTenantId(tenantId), events)).unknown))).flat().map((event) => event.wamid),
      );
      if (unknown.size > 0) await this.lookAgainLater(batch.map((item) => item.job), unknown);
      batch.forEach((item) => item.resolve());
    } catch (error) {
      batch.forEach((item) => item.reject(error));
    }
  }

  /**
   * Puts back the statuses of messages no delivery had (by wamid or callback data), for another
   * look after UNKNOWN_STATUS_RETRY_MS; after the last, they are dropped as not ours (a message
   * sent from outside the platform, or one whose delivery is gone).
   */
  private async lookAgainLater(jobs: DeliveryStatusesJob[], unknown: Set<string>): Promise<void> {
    for (const job of jobs) {
      const statuses = job.statuses.filter((status) => unknown.has(status.wamid));
      if (statuses.length === 0) continue;
      const round = job.round ?? 0;
      if (round >= UNKNOWN_STATUS_RETRY_MS.length) {
        applied.inc({ effect: 'unknown_message' }, statuses.length);
        continue;
      }
      applied.inc({ effect: 'looked_at_later' }, statuses.length);
      await this.transport.add<DeliveryStatusesJob>(QueueName.DeliveryStatuses, {
        name: 'apply-statuses-later',
        data: { tenantId: job.tenantId, channelId: job.channelId, statuses, round: round + 1 },
        options: { jobId: `statuses-later:${job.channelId}:${round + 1}:${randomUUID()}`, delayMs: UNKNOWN_STATUS_RETRY_MS[round] },
      });
    }
  }

  /** Applies a tenant's status events; returns how many deliveries moved. */
  async apply(tenantId: TenantId, events: StatusEvent[]): Promise<number> {
    return (await this.applyEvents(tenantId, events)).moved;
  }

  /** Applies a tenant's status events: how many deliveries moved, and the events of messages no delivery has. */
  private async applyEvents(tenantId: TenantId, events: StatusEvent[]): Promise<{ moved: number; unknown: StatusEvent[] }> {
    const best = new Map<string, StatusEvent>();
    for (const event of events) {
      const current = best.get(event.wamid);
      if (!current || (current.status !== event.status && strongerEvent(current.status, event.status) === event.status)) best.set(event.wamid, event);
    }
    // Answers to citizens (the reply outbox) are not deliveries: settled apart.
    const answers = [...best.values()].filter((event) => event.callbackData && REPLY_CALLBACK.test(event.callbackData));
    if (answers.length > 0) await this.settleAnswers(tenantId, answers);
    let moved = 0;
    const unknown: StatusEvent[] = [];
    let pending = [...best.values()].filter((event) => !answers.includes(event));
    for (let round = 0; round < 3 && pending.length > 0; round++) {
      const { changes, replans, unmatched } = await this.plan(tenantId, pending);
      unknown.push(...unmatched);
      const done = await this.ledger.apply(tenantId, changes);
      moved += done.size;
      applied.inc({ effect: 'applied' }, done.size);
      await this.dispatchAgain(tenantId, replans.filter((replan) => done.has(replan.id)));
      // Lost a race with another writer (dispatch recording the same message): read again and retry.
      const retry = new Set(changes.filter((change) => !done.has(change.id)).map((change) => change.providerMessageId));
      pending = pending.filter((event) => retry.has(event.wamid));
    }
    return { moved, unknown };
  }

  /**
   * Answers whose send answer was lost (no wamid recorded) are recorded as sent by their status
   * webhook, so that the outbox does not send them again; a `failed` one is given up with Meta's
   * error. Answers already recorded are left as they are.
   */
  private async settleAnswers(tenantId: TenantId, events: StatusEvent[]): Promise<void> {
    await this.statements.query(
      `UPDATE reply_outbox r SET
         sent_at = CASE WHEN v.status <> 'failed' THEN v.at ELSE r.sent_at END,
         given_up_at = CASE WHEN v.status = 'failed' THEN now() ELSE r.given_up_at END,
         provider_message_id = v.wamid,
         last_error = CASE WHEN v.status = 'failed' THEN left(concat('status webhook: failed ', v.code::text, ' ', v.title), 500) ELSE NULL END
         FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::int[], $7::text[]) AS v(id, wamid, status, at, code, title)
        WHERE r.tenant_id = $1 AND r.id = v.id AND r.sent_at IS NULL AND r.given_up_at IS NULL AND r.provider_message_id IS NULL`,
      [
        tenantId,
        events.map((event) => REPLY_CALLBACK.exec(event.callbackData!)![1]),
        events.map((event) => event.wamid),
        events.map((event) => event.status),
        events.map((event) => (Number.isNaN(Date.parse(event.occurredAt)) ? new Date().toISOString() : event.occurredAt)),
        events.map((event) => event.errorCode),
        events.map((event) => event.errorTitle ?? ''),
      ],
    );
    applied.inc({ effect: 'answer' }, events.length);
  }

  /**
   * Queues the dispatch of deliveries planned again (after a 131047 reported by webhook): one job
   * per campaign over the range of its replanned ids, with an id of its own so that it is not
   * hidden by the campaign's earlier jobs. The reconciler would find them too, later.
   */
  private async dispatchAgain(tenantId: TenantId, replans: Replan[]): Promise<void> {
    const byCampaign = new Map<string, Replan[]>();
    for (const replan of replans) byCampaign.set(replan.campaignId, [...(byCampaign.get(replan.campaignId) ?? []), replan]);
    for (const [campaignId, group] of byCampaign) {
      const ids = group.map((replan) => Number(replan.id));
      const range = { fromId: Math.min(...ids), toId: Math.max(...ids) };
      await this.scheduler.enqueueRanges(tenantId, campaignId, group[0].channelId, group[0].emergency, [range], `:w${range.fromId}-${range.toId}:${Date.now()}`);
      applied.inc({ effect: 'replanned' }, group.length);
    }
  }

  private async plan(tenantId: TenantId, events: StatusEvent[]): Promise<{ changes: DeliveryChange[]; replans: Replan[]; unmatched: StatusEvent[] }> {
    const rows = await this.statements.query<{ id: string; status: DeliveryStatus; wamid: string | null }>(
      `SELECT id::text AS id, status, provider_message_id AS wamid FROM deliveries WHERE provider_message_id = ANY($2::text[]) AND ${sameTenant('tenant_id')}`,
      [tenantId, events.map((event) => event.wamid)],
    );
    const found = new Map<string, { id: string; status: DeliveryStatus; wamid: string | null; handedOver?: boolean }>(rows.map((row) => [row.wamid!, row]));
    // Our delivery id comes back as biz_opaque_callback_data: it finds a message whose wamid was not recorded yet.
    const byCallback = events.filter((event) => !found.has(event.wamid) && event.callbackData && /^\d{1,18}$/.test(event.callbackData));
    if (byCallback.length > 0) {
      const extra = (await this.dataSource.query(
        // A skipped delivery is found only after a send of unknown outcome (an error without
        // Meta's code: a timeout, a cut connection); one skipped before any hand-over (outside
        // the window, unsubscribed, over the cap) was never sent, whatever a status says of it.
        `SELECT id::text AS id, status, replaced_provider_message_id AS replaced FROM deliveries
          WHERE id = ANY($2::bigint[]) AND ${sameTenant('tenant_id')} AND provider_message_id IS NULL
            AND (status <> 'skipped' OR (error_detail IS NOT NULL AND error_code IS NULL))`,
        [tenantId, byCallback.map((event) => event.callbackData)],
      )) as { id: string; status: DeliveryStatus; replaced: string | null }[];
      const byId = new Map(extra.map((row) => [row.id, row]));
      for (const event of byCallback) {
        const row = byId.get(event.callbackData!);
        // The late webhooks of a message the delivery replaced are not the new message's. A status
        // naming a skipped delivery says that it was handed over after all: a send whose answer was
        // lost, held for its webhook while the campaign was cancelled (or its citizen left).
        if (row && row.replaced !== event.wamid) found.set(event.wamid, { id: row.id, status: row.status, wamid: event.wamid, handedOver: row.status === 'skipped' });
      }
    }
    const replannable = await this.replannable(
      tenantId,
      events.filter((event) => event.status === 'failed' && event.errorCode === WINDOW_CLOSED && found.get(event.wamid)?.status === 'sent').map((event) => found.get(event.wamid)!.id),
    );
    const replans: Replan[] = [];
    const changes: DeliveryChange[] = [];
    const unmatched: StatusEvent[] = [];
    for (const event of events) {
      const row = found.get(event.wamid);
      if (!row) {
        unmatched.push(event);
        continue;
      }
      if (!row.handedOver && !canMoveTo(row.status, event.status)) {
        applied.inc({ effect: 'stale' });
        continue;
      }
      const at = new Date(event.occurredAt);
      const replan = replannable.get(row.id);
      if (replan && event.status === 'failed') {
        // Meta took a free-form message and then refused it as outside the 24-hour window: it
        // reached nobody, so the delivery is planned again as outside the window (the channel's
        // fallback template, or skipped outside_window), as when Meta refuses it at once.
        changes.push({ id: row.id, from: 'sent', to: 'queued', at: new Date(), providerMessageId: event.wamid, errorCode: WINDOW_CLOSED, errorDetail: event.errorTitle, nextAttemptAt: new Date(), windowClosed: true });
        replans.push(replan);
        continue;
      }
      changes.push({
        id: row.id,
        from: row.status,
        to: event.status,
        at: Number.isNaN(at.getTime()) ? new Date() : at,
        providerMessageId: event.wamid,
        errorCode: event.status === 'failed' ? event.errorCode : null,
        errorDetail: event.status === 'failed' ? event.errorTitle : null,
      });
    }
    return { changes, replans, unmatched };
  }

  /**
   * Of these sent deliveries, those a 131047 sends again: free-form (the campaign is not a
   * template, and the message went out as the campaign's own, not through the channel's fallback
   * template: the citizen's window was open at the send as dispatch saw it), the campaign still
   * sending or completed, attempts left. A fallback template refused so is recorded as failed; it
   * was sent again after each such refusal before, the same message to the same citizen.
   */
  private async replannable(tenantId: TenantId, ids: string[]): Promise<Map<string, Replan>> {
    if (ids.length === 0) return new Map();
    // The window as dispatch judged it, from the citizen's last message: open 24 hours (a minute
    // more here: dispatch judged it a moment before the send was recorded), unless Meta said it
    // closed (131047) since that message.
    const rows = (await this.dataSource.query(
      `SELECT d.id::text AS id, d.campaign_id::text AS "campaignId", c.channel_id::text AS "channelId", c.priority = 'emergency' AS emergency
         FROM deliveries d JOIN campaigns c ON c.tenant_id = d.tenant_id AND c.id = d.campaign_id
         JOIN subscribers s ON s.tenant_id = d.tenant_id AND s.id = d.subscriber_id
        WHERE d.id = ANY($2::bigint[]) AND ${sameTenant('d.tenant_id')} AND d.status = 'sent' AND d.attempts < $3
          AND c.status IN ('sending', 'completed') AND c.message->>'type' <> 'template'
          AND s.last_inbound_at > d.sent_at - make_interval(secs => $4)
          AND (d.window_closed_at IS NULL OR s.last_inbound_at > d.window_closed_at)`,
      [tenantId, ids, MAX_SEND_ATTEMPTS, SERVICE_WINDOW_MS / 1000 + 60],
    )) as Replan[];
    return new Map(rows.map((row) => [row.id, row]));
  }
}
