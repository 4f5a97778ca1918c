import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A dispatch job claims deliveries with a lease (`claimed_until`) instead of moving them to
 * `sending`: the claim then changes no indexed column, so PostgreSQL can write it as a heap-only
 * update (no index entries), which needs free room in the row's page (fillfactor). The claim's
 * index holds queued deliveries only: rows leave it when they are sent, failed or skipped.
 * Deliveries in `sending` when this runs keep a lease as long as the old stuck threshold (120 s).
 */
export class DeliveryClaimLease1795500000000 implements MigrationInterface {
  name = 'DeliveryClaimLease1795500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE deliveries ADD COLUMN claimed_until timestamptz`);
    await db.query(`UPDATE deliveries SET status = 'queued', claimed_until = updated_at + interval '120 seconds' WHERE status = 'sending'`);
    await db.query(`ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check`);
    await db.query(`ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('queued','sent','delivered','read','failed','skipped'))`);
    await db.query(`DROP INDEX deliveries_campaign_status_idx`);
    await db.query(`CREATE INDEX deliveries_queued_range_idx ON deliveries (tenant_id, campaign_id, id) WHERE status = 'queued'`);
    await db.query(`DROP INDEX deliveries_queued_idx`);
    await db.query(`CREATE INDEX deliveries_queued_idx ON deliveries (updated_at) WHERE status = 'queued'`);
    await db.query(`ALTER TABLE deliveries SET (fillfactor = 60)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE deliveries RESET (fillfactor)`);
    await db.query(`DROP INDEX deliveries_queued_idx`);
    await db.query(`CREATE INDEX deliveries_queued_idx ON deliveries (updated_at) WHERE status IN ('queued','sending')`);
    await db.query(`DROP INDEX deliveries_queued_range_idx`);
    await db.query(`CREATE INDEX deliveries_campaign_status_idx ON deliveries (tenant_id, campaign_id, status, id)`);
    await db.query(`ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check`);
    await db.query(
      `ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('queued','sending','sent','delivered','read','failed','skipped'))`,
    );
    await db.query(`ALTER TABLE deliveries DROP COLUMN claimed_until`);
  }
}
