import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig, asTenantId } from '@app/core';
import { DeliveryLedger } from '../delivery-ledger';
import { DispatchScheduler } from '../dispatch-scheduler';
import { dispatchableBatches } from '../queued-batches';

/**
 * Redis is a transport that may lose jobs and workers may die mid-batch: Postgres says what is
 * still to do. Periodically (in every worker; one at a time through an advisory lock) buckets
 * holding queued deliveries untouched for the stuck threshold, and not under a live claim, get a
 * dispatch job again. A worker that died mid-batch left its claims' leases, which expire after the
 * same threshold: those deliveries are sent again (at most the in-flight count twice). Claims are
 * atomic, so an extra job never sends twice.
 */
@Injectable()
export class DeliveryReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryReconciler.name);
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly scheduler: DispatchScheduler,
    private readonly ledger: DeliveryLedger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.delivery.reconcileIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await this.reconcile();
    } catch (error) {
      this.logger.warn(`reconciliation failed: ${(error as Error).message}`);
    } finally {
      this.running = false;
    }
  }

  /** One pass; returns the number of batches enqueued again. */
  async reconcile(): Promise<number> {
    const stuckSeconds = this.config.delivery.stuckDeliverySeconds;
    const { batches, leftovers } = await this.dataSource.transaction(async (manager) => {
      const [{ locked }] = (await manager.query(`SELECT pg_try_advisory_xact_lock(hashtext('filodiretto:delivery-reconciler')) AS locked`)) as { locked: boolean }[];
      if (!locked) return { batches: [], leftovers: [] };
      // A cancelled campaign's deliveries that a dead worker held under its lease when the cancel
      // came stay queued once the lease is gone: nothing will send them.
      const leftovers = (await manager.query(
        `SELECT d.tenant_id AS "tenantId", d.id::text AS id
           FROM campaigns c
           JOIN deliveries d ON d.tenant_id = c.tenant_id AND d.campaign_id = c.id AND d.status = 'queued'
          WHERE c.status = 'cancelled' AND c.cancelled_at > now() - interval '7 days'
            AND (d.claimed_until IS NULL OR d.claimed_until <= now())
          LIMIT 5000`,
      )) as { tenantId: string; id: string }[];
      const batches = await dispatchableBatches(manager, { untouchedForSeconds: stuckSeconds });
      return { batches, leftovers };
    });
    await this.skipCancelled(leftovers);
    if (batches.length === 0) return 0;
    const epoch = Math.floor(Date.now() / (stuckSeconds * 1000));
    await this.scheduler.enqueueBatches(batches.map((batch, order) => ({ ...batch, order })), `:rc${epoch}`);
    this.logger.log(`re-enqueued ${batches.length} dispatch batch(es) of stuck deliveries`);
    return batches.length;
  }

  /** Records the deliveries as skipped (`cancelled`), through the ledger so that the counters follow. */
  private async skipCancelled(leftovers: { tenantId: string; id: string }[]): Promise<void> {
    const byTenant = new Map<string, string[]>();
    for (const row of leftovers) {
      const ids = byTenant.get(row.tenantId);
      if (ids) ids.push(row.id);
      else byTenant.set(row.tenantId, [row.id]);
    }
    const at = new Date();
    for (const [tenantId, ids] of byTenant) {
      await this.ledger.apply(asTenantId(tenantId), ids.map((id) => ({ id, from: 'queued' as const, to: 'skipped' as const, at, reason: 'cancelled' })));
    }
    if (leftovers.length > 0) this.logger.log(`skipped ${leftovers.length} queued deliveries of cancelled campaigns`);
  }
}
