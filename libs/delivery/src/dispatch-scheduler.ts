import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { TenantId } from '@app/core';
import { JobPriority, JobSpec, QueueName, QueueProducer } from '@app/queue';

/** Deliveries are dispatched by id buckets of this size: one job per bucket of a campaign. */
export const DISPATCH_BUCKET = 250;
export const DISPATCH_JOB = 'dispatch-batch';

/** Payload of a message-dispatch job: the queued deliveries of one campaign within one id bucket. */
export interface DispatchBatchJob {
  tenantId: string;
  campaignId: string;
  channelId: string;
  bucket: number;
  emergency: boolean;
  /** position of the bucket within its campaign, for fair interleaving between campaigns */
  order: number;
}

/**
 * Bull runs lower priorities first. Emergencies (1-9) always go before normal traffic (10+); within
 * each class a campaign's n-th batch ranks with other campaigns' n-th batches, so campaigns on the
 * same workers advance in turn instead of one after the other.
 */
export function dispatchPriority(emergency: boolean, order: number): number {
  return emergency ? JobPriority.Emergency + Math.min(order, 8) : JobPriority.Normal + Math.min(order, 1_000_000);
}

/**
 * Emergencies have a queue (and worker slots) of their own: they never wait for a normal batch to
 * free a slot, whatever the normal backlog.
 */
export const dispatchQueue = (emergency: boolean): QueueName => (emergency ? QueueName.EmergencyDispatch : QueueName.MessageDispatch);

/** Enqueues dispatch jobs. Job ids are deterministic, so a batch is never queued twice at once. */
@Injectable()
export class DispatchScheduler {
  constructor(
    private readonly producer: QueueProducer,
    private readonly dataSource: DataSource,
  ) {}

  /** One job per bucket holding queued deliveries of the campaign; returns the number of jobs. */
  async enqueueCampaign(tenantId: TenantId, campaignId: string, channelId: string, emergency: boolean, idSuffix = '', manager?: EntityManager): Promise<number> {
    const rows = (await (manager ?? this.dataSource.manager).query(
      `SELECT DISTINCT id / ${DISPATCH_BUCKET} AS bucket FROM deliveries
        WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'queued' ORDER BY 1`,
      [tenantId, campaignId],
    )) as { bucket: string }[];
    await this.enqueueBatches(
      rows.map((row, order) => ({ tenantId, campaignId, channelId, bucket: Number(row.bucket), emergency, order })),
      idSuffix,
    );
    return rows.length;
  }

  async enqueueBatches(batches: DispatchBatchJob[], idSuffix: string): Promise<void> {
    for (const emergency of [true, false]) {
      const jobs = batches.filter((batch) => batch.emergency === emergency).map((batch) => this.spec(batch, idSuffix));
      for (let i = 0; i < jobs.length; i += 1000) await this.producer.enqueueMany(dispatchQueue(emergency), jobs.slice(i, i + 1000));
    }
  }

  /** The same batch again later (retry backoff, quiet hours, messaging limit). */
  async enqueueLater(batch: DispatchBatchJob, idSuffix: string, delayMs: number): Promise<void> {
    const spec = this.spec(batch, idSuffix);
    await this.producer.enqueue(dispatchQueue(batch.emergency), { ...spec, options: { ...spec.options, delayMs: Math.max(0, Math.round(delayMs)) } });
  }

  private spec(batch: DispatchBatchJob, idSuffix: string): JobSpec<DispatchBatchJob> {
    return {
      name: DISPATCH_JOB,
      data: batch,
      options: {
        jobId: `dispatch:${batch.campaignId}:${batch.bucket}${idSuffix}`,
        priority: dispatchPriority(batch.emergency, batch.order),
        attempts: 10,
        backoffMs: 1000,
      },
    };
  }
}
