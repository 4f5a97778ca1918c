import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { TenantId } from '@app/core';
import { DISPATCH_BUCKET, DispatchBatchJob, DispatchScheduler } from './dispatch-scheduler';

/**
 * The dispatch batches that have queued deliveries nobody is sending: of campaigns still sending,
 * on active channels, not under a live claim, due (not waiting for a retry). Read through the
 * claim's partial index (queued deliveries only).
 */
export async function dispatchableBatches(
  db: DataSource | EntityManager,
  filter: { untouchedForSeconds: number; tenantId?: TenantId; channelId?: string },
): Promise<Omit<DispatchBatchJob, 'order'>[]> {
  return (await db.query(
    `SELECT DISTINCT d.tenant_id AS "tenantId", d.campaign_id AS "campaignId", d.channel_id AS "channelId",
            (d.id / ${DISPATCH_BUCKET})::int AS bucket, c.priority = 'emergency' AS emergency
       FROM campaigns c
       JOIN channels ch ON ch.id = c.channel_id AND ch.status = 'active'
       JOIN deliveries d ON d.tenant_id = c.tenant_id AND d.campaign_id = c.id AND d.status = 'queued'
      WHERE c.status = 'sending'
        AND ($2::uuid IS NULL OR c.tenant_id = $2) AND ($3::uuid IS NULL OR c.channel_id = $3)
        AND d.updated_at < now() - make_interval(secs => $1)
        AND (d.claimed_until IS NULL OR d.claimed_until <= now())
        AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= now())
      LIMIT 20000`,
    [filter.untouchedForSeconds, filter.tenantId ?? null, filter.channelId ?? null],
  )) as Omit<DispatchBatchJob, 'order'>[];
}

/** Starts at once what a channel held back while it was paused (instead of waiting for the reconciler). */
@Injectable()
export class ChannelResumption {
  constructor(
    private readonly dataSource: DataSource,
    private readonly scheduler: DispatchScheduler,
  ) {}

  /** Enqueues the channel's queued deliveries of sending campaigns; returns the number of batches. */
  async resume(tenantId: TenantId, channelId: string): Promise<number> {
    const batches = await dispatchableBatches(this.dataSource, { untouchedForSeconds: 0, tenantId, channelId });
    if (batches.length === 0) return 0;
    // Emergencies first (their own lane), each campaign's batches in order.
    await this.scheduler.enqueueBatches(
      batches.map((batch, order) => ({ ...batch, order })),
      `:resume${Date.now()}`,
    );
    return batches.length;
  }
}
