import { Injectable } from '@nestjs/common';
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
  /**
   * Inclusive id range of the batch, when set (launch): about DISPATCH_BUCKET of the campaign's
   * own deliveries. Without it the batch is the id bucket `bucket` (reconciler). Campaigns launched
   * at the same time interleave their ids, so fixed id buckets would hold only a few of each.
   */
  fromId?: number;
  toId?: number;
  /** times this batch was put back because its number already had enough jobs running */
  deferrals?: number;
}

/** The inclusive delivery id range of one dispatch batch of a campaign. */
export interface DispatchRange {
  fromId: number;
  toId: number;
}

/** The inclusive id range a batch covers. */
export function batchRange(batch: DispatchBatchJob): { from: number; to: number } {
  if (batch.fromId !== undefined && batch.toId !== undefined) return { from: batch.fromId, to: batch.toId };
  return { from: batch.bucket * DISPATCH_BUCKET, to: batch.bucket * DISPATCH_BUCKET + DISPATCH_BUCKET - 1 };
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
  constructor(private readonly producer: QueueProducer) {}

  /** One job per range, in the campaign's order (the ranges of its batches, ascending). */
  async enqueueRanges(tenantId: TenantId, campaignId: string, channelId: string, emergency: boolean, ranges: DispatchRange[], idSuffix = ''): Promise<void> {
    await this.enqueueBatches(
      ranges.map((range, order) => ({ tenantId, campaignId, channelId, bucket: order, emergency, order, ...range })),
      idSuffix,
    );
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

  /**
   * The batch again after `delayMs` because its number is busy with other batches: a job id of its
   * own per deferral, so the deferring job (still active) does not hide its successor.
   */
  async defer(batch: DispatchBatchJob, delayMs: number): Promise<void> {
    const deferrals = (batch.deferrals ?? 0) + 1;
    await this.enqueueLater({ ...batch, deferrals }, `:d${deferrals}`, delayMs);
  }

  private spec(batch: DispatchBatchJob, idSuffix: string): JobSpec<DispatchBatchJob> {
    return {
      name: DISPATCH_JOB,
      data: batch,
      options: {
        jobId: `dispatch:${batch.campaignId}:${batch.fromId !== undefined ? `r${batch.fromId}` : batch.bucket}${idSuffix}`,
        priority: dispatchPriority(batch.emergency, batch.order),
        attempts: 10,
        backoffMs: 1000,
      },
    };
  }
}

/** Campaigns queue: a campaign that cannot go on (its template refused by WhatsApp) is stopped as a cancel is, with the reason. */
export const STOP_CAMPAIGN_JOB = 'stop-campaign';

export interface StopCampaignJob {
  tenantId: string;
  campaignId: string;
  reason: string;
}
