import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Tables whose statistics a bulk write may leave behind (a fixed list: names go into ANALYZE as is). */
export type AnalyzedTable = 'deliveries';

/**
 * Refreshes a table's planner statistics after a bulk write that outgrew them. On a young
 * deployment the statistics describe a small table (a few tenants, a few rows each): once a first
 * large campaign writes its 100,000 deliveries, the planner still expects a handful per tenant and
 * reads a tenant's whole share of the table for every 100-row update, where one index lookup per
 * row would do (measured: 75-170 ms per dispatch record instead of a few, for the campaign's first
 * seconds, until autovacuum analysed the table). PostgreSQL's autovacuum gets there within about a
 * minute; this does it as soon as the write is committed. Never awaited by the write's caller.
 */
@Injectable()
export class TableStatistics {
  /** A write of fewer rows than this never triggers a refresh. */
  static readonly MIN_ROWS = 10_000;
  /** ... nor one that adds less than this share of the rows the statistics know. */
  static readonly MIN_SHARE = 0.2;
  private readonly logger = new Logger(TableStatistics.name);
  private readonly running = new Set<AnalyzedTable>();

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Notes `rows` rows written to `table` (and committed): analyses it when they are many next to
   * what its statistics count. Answers whether an analysis ran (for tests); failures are logged.
   */
  async noteBulkWrite(table: AnalyzedTable, rows: number): Promise<boolean> {
    if (rows < TableStatistics.MIN_ROWS || this.running.has(table)) return false;
    this.running.add(table);
    try {
      const [known] = (await this.dataSource.query(`SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = $1::regclass`, [table])) as { rows: number }[];
      if (rows < TableStatistics.MIN_SHARE * (known?.rows ?? 0)) return false;
      await this.dataSource.query(`ANALYZE ${table}`);
      this.logger.log(`analysed ${table} after a write of ${rows} rows (its statistics counted ${Math.round(known?.rows ?? 0)})`);
      return true;
    } catch (error) {
      this.logger.warn(`could not analyse ${table}: ${(error as Error).message}`);
      return false;
    } finally {
      this.running.delete(table);
    }
  }
}
