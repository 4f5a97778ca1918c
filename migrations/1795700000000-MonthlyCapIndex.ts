import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The monthly cap counts each recipient's campaign messages since the start of the month at every
 * fan-out. `deliveries_subscriber_sent_idx` (tenant_id, subscriber_id, sent_at) made that read every
 * delivery the comune ever sent (sent_at is its third column); this index reads the month's alone,
 * without the table (subscriber and kind are carried in it). Measured on 626k deliveries of which
 * 123k of this month: 153 ms -> 43 ms, and no longer growing with the months behind.
 */
export class MonthlyCapIndex1795700000000 implements MigrationInterface {
  name = 'MonthlyCapIndex1795700000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX deliveries_tenant_sent_idx ON deliveries (tenant_id, sent_at) INCLUDE (subscriber_id, kind) WHERE sent_at IS NOT NULL`);
    await db.query(`DROP INDEX deliveries_subscriber_sent_idx`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX deliveries_subscriber_sent_idx ON deliveries (tenant_id, subscriber_id, sent_at) WHERE sent_at IS NOT NULL`);
    await db.query(`DROP INDEX deliveries_tenant_sent_idx`);
  }
}
