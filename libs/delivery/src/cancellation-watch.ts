import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';

interface Watched {
  tenantId: string;
  /** dispatch jobs of this process sending the campaign now */
  jobs: number;
}

/**
 * Which campaigns this process is sending have been cancelled since their deliveries were
 * claimed. A claim checks the campaign, but its messages then wait for the number's send slots
 * (seconds on a slow number): before each group is handed to WhatsApp, dispatch asks here, and a
 * cancelled campaign's claimed deliveries go back unsent (the ledger records them as skipped,
 * `cancelled`). One query every POLL_MS for all the campaigns in flight, only while there are any,
 * so a cancel is seen within about POLL_MS whatever process took it.
 */
@Injectable()
export class CancellationWatch implements OnModuleDestroy {
  static readonly POLL_MS = 50;
  private readonly logger = new Logger(CancellationWatch.name);
  private readonly watched = new Map<string, Watched>();
  private readonly cancelled = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  constructor(private readonly dataSource: DataSource) {}

  /** Watches the campaign while a job sends it; call the answer when the job is done with it. */
  watch(tenantId: string, campaignId: string): () => void {
    const entry = this.watched.get(campaignId);
    if (entry) entry.jobs++;
    else this.watched.set(campaignId, { tenantId, jobs: 1 });
    this.schedule();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const current = this.watched.get(campaignId);
      if (current && --current.jobs === 0) {
        this.watched.delete(campaignId);
        this.cancelled.delete(campaignId);
      }
    };
  }

  /** Whether the campaign was seen cancelled (synchronous: asked before every group of sends). */
  isCancelled(campaignId: string): boolean {
    return this.cancelled.has(campaignId);
  }

  /** One pass now (tests; the timer runs it every POLL_MS while campaigns are watched). */
  async poll(): Promise<void> {
    if (this.polling || this.watched.size === 0) return;
    this.polling = true;
    try {
      const pending = [...this.watched].filter(([id]) => !this.cancelled.has(id));
      if (pending.length === 0) return;
      const rows = (await this.dataSource.query(
        `SELECT c.id::text AS id FROM campaigns c
           JOIN unnest($1::uuid[], $2::uuid[]) AS w(tenant_id, id) ON c.tenant_id = w.tenant_id AND c.id = w.id
          WHERE c.status = 'cancelled'`,
        [pending.map(([, entry]) => entry.tenantId), pending.map(([id]) => id)],
      )) as { id: string }[];
      for (const row of rows) if (this.watched.has(row.id)) this.cancelled.add(row.id);
    } catch (error) {
      // The next pass tries again; the claim's own check still stops new claims.
      this.logger.warn(`cancellation check failed: ${(error as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.watched.size === 0) {
        clearInterval(this.timer!);
        this.timer = null;
        return;
      }
      void this.poll();
    }, CancellationWatch.POLL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
