import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppConfig, Clock } from '@app/core';

const BATCH = 5000;
const EVERY_MS = 6 * 3600 * 1000;
/** Advisory lock key: one worker replica purges at a time. */
const LOCK_KEY = 0x46494c4f; // 'FILO'

/**
 * Data minimisation for deliveries (DELIVERY_DETAIL_RETENTION_DAYS): once a campaign is finished
 * (completed, cancelled or failed) for longer than the retention period, its deliveries lose the
 * recipient's number and the provider's error text. Status, error code, reason, timestamps and
 * the campaign's counters stay, so reports and funnels are unchanged. Runs in the worker at start
 * and every 6 hours, under an advisory lock (one replica at a time), in batches (short locks).
 */
@Injectable()
export class DeliveryDetailRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryDetailRetention.name);
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.deliveryDetailRetentionDays === null) return;
    const tick = () => {
      this.running ??= this.runOnce()
        .catch((error: unknown) => this.logger.warn(`delivery-detail purge failed: ${String(error)}`))
        .finally(() => (this.running = null));
    };
    this.timer = setInterval(tick, EVERY_MS);
    this.timer.unref();
    setImmediate(tick);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** One purge with the configured period, unless another replica holds the lock; returns how many deliveries were cleared (null: not run). */
  async runOnce(): Promise<number | null> {
    const days = this.config.deliveryDetailRetentionDays;
    if (days === null) return null;
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = (await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [LOCK_KEY])) as { locked: boolean }[];
      if (!locked) return null;
      try {
        return await this.purgeOlderThan(days, (sql, params) => runner.query(sql, params));
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [LOCK_KEY]);
      }
    } finally {
      await runner.release();
    }
  }

  /** Clears deliveries of campaigns finished more than `days` ago; returns how many. */
  async purgeOlderThan(days: number, query: (sql: string, params: unknown[]) => Promise<unknown> = (sql, params) => this.dataSource.query(sql, params)): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - days * 86_400_000);
    let total = 0;
    for (;;) {
      const result = (await query(
        `WITH batch AS (
           SELECT d.id FROM deliveries d
             JOIN campaigns c ON c.tenant_id = d.tenant_id AND c.id = d.campaign_id
            WHERE c.status IN ('completed', 'cancelled', 'failed')
              AND coalesce(c.completed_at, c.cancelled_at, c.updated_at) < $1
              AND (d.recipient IS NOT NULL OR d.error_detail IS NOT NULL)
            LIMIT ${BATCH}
         )
         UPDATE deliveries SET recipient = NULL, error_detail = NULL FROM batch WHERE deliveries.id = batch.id RETURNING deliveries.id`,
        [cutoff],
      )) as unknown[];
      // TypeORM answers an UPDATE ... RETURNING with [rows, count].
      const cleared = Array.isArray(result[0]) ? (result[0] as unknown[]).length : result.length;
      total += cleared;
      if (cleared < BATCH) break;
    }
    if (total) this.logger.log(`cleared recipient and error detail of ${total} deliveries of campaigns finished before ${cutoff.toISOString()}`);
    return total;
  }
}
