import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { asTenantId, counter, TenantId } from '@app/core';
import { PreparedStatements } from '@app/database';
import { QueueName, QueueTransport } from '@app/queue';
import type { DeliveryStatusesJob, StatusEvent } from '@app/whatsapp';
import { canMoveTo, DeliveryStatus, strongerEvent } from '../delivery-status';
import { DeliveryChange, DeliveryLedger } from '../delivery-ledger';
import { REPLY_CALLBACK } from '../reply-callback';

interface Waiting {
  job: DeliveryStatusesJob;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Jobs taken at once from the queue. */
const STATUS_CONCURRENCY = 256;
/** A batch is written when this many status events are waiting, or FLUSH_MS after the first one. */
const FLUSH_EVENTS = 1000;
const FLUSH_MS = 5;

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
      await Promise.all([...byTenant].map(([tenantId, events]) => this.apply(asTenantId(tenantId), events)));
      batch.forEach((item) => item.resolve());
    } catch (error) {
      batch.forEach((item) => item.reject(error));
    }
  }

  /** Applies a tenant's status events; returns how many deliveries moved. */
  async apply(tenantId: TenantId, events: StatusEvent[]): Promise<number> {
    const best = new Map<string, StatusEvent>();
    for (const event of events) {
      const current = best.get(event.wamid);
      if (!current || (current.status !== event.status && strongerEvent(current.status, event.status) === event.status)) best.set(event.wamid, event);
    }
    // Answers to citizens (the reply outbox) are not deliveries: settled apart.
    const answers = [...best.values()].filter((event) => event.callbackData && REPLY_CALLBACK.test(event.callbackData));
    if (answers.length > 0) await this.settleAnswers(tenantId, answers);
    let moved = 0;
    let pending = [...best.values()].filter((event) => !answers.includes(event));
    for (let round = 0; round < 3 && pending.length > 0; round++) {
      const changes = await this.plan(tenantId, pending);
      const done = await this.ledger.apply(tenantId, changes);
      moved += done.size;
      applied.inc({ effect: 'applied' }, done.size);
      // Lost a race with another writer (dispatch recording the same message): read again and retry.
      const retry = new Set(changes.filter((change) => !done.has(change.id)).map((change) => change.providerMessageId));
      pending = pending.filter((event) => retry.has(event.wamid));
    }
    return moved;
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

  private async plan(tenantId: TenantId, events: StatusEvent[]): Promise<DeliveryChange[]> {
    const rows = await this.statements.query<{ id: string; status: DeliveryStatus; wamid: string | null }>(
      `SELECT id::text AS id, status, provider_message_id AS wamid FROM deliveries WHERE tenant_id = $1 AND provider_message_id = ANY($2::text[])`,
      [tenantId, events.map((event) => event.wamid)],
    );
    const found = new Map(rows.map((row) => [row.wamid!, row]));
    // Our delivery id comes back as biz_opaque_callback_data: it finds a message whose wamid was not recorded yet.
    const byCallback = events.filter((event) => !found.has(event.wamid) && event.callbackData && /^\d{1,18}$/.test(event.callbackData));
    if (byCallback.length > 0) {
      const extra = (await this.dataSource.query(
        `SELECT id::text AS id, status FROM deliveries WHERE tenant_id = $1 AND id = ANY($2::bigint[]) AND provider_message_id IS NULL`,
        [tenantId, byCallback.map((event) => event.callbackData)],
      )) as { id: string; status: DeliveryStatus }[];
      const byId = new Map(extra.map((row) => [row.id, row]));
      for (const event of byCallback) {
        const row = byId.get(event.callbackData!);
        if (row) found.set(event.wamid, { ...row, wamid: event.wamid });
      }
    }
    const changes: DeliveryChange[] = [];
    for (const event of events) {
      const row = found.get(event.wamid);
      if (!row) {
        applied.inc({ effect: 'unknown_message' });
        continue;
      }
      if (!canMoveTo(row.status, event.status)) {
        applied.inc({ effect: 'stale' });
        continue;
      }
      const at = new Date(event.occurredAt);
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
    return changes;
  }
}
