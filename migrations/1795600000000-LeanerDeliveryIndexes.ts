import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every delivery row is written once at fan-out and rewritten (not heap-only: its status changes)
 * when it is sent, so each index on deliveries costs an entry per message twice. Two go:
 * - `deliveries_campaign_id_idx` (campaign_id, id) served the campaign foreign key's cascade. The
 *   key becomes (tenant_id, campaign_id) -> campaigns (tenant_id, id), whose cascade uses the
 *   (tenant_id, campaign_id, subscriber_id) unique index; it also makes a delivery of another
 *   comune's campaign impossible.
 * - `deliveries_queued_idx` (updated_at) of queued rows served the reconciler and the operator's
 *   stuck-campaign check; both now start from the campaigns in `sending` and read their queued rows
 *   through `deliveries_queued_range_idx`. A retry (queued -> queued) then changes no indexed
 *   column and is written heap-only.
 */
export class LeanerDeliveryIndexes1795600000000 implements MigrationInterface {
  name = 'LeanerDeliveryIndexes1795600000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE UNIQUE INDEX campaigns_tenant_id_key ON campaigns (tenant_id, id)`);
    await db.query(`ALTER TABLE campaigns ADD CONSTRAINT campaigns_tenant_id_key UNIQUE USING INDEX campaigns_tenant_id_key`);
    await db.query(`DROP INDEX campaigns_tenant_idx`);
    await db.query(`ALTER TABLE deliveries DROP CONSTRAINT deliveries_campaign_id_fkey`);
    await db.query(
      `ALTER TABLE deliveries ADD CONSTRAINT deliveries_campaign_fkey FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE NOT VALID`,
    );
    await db.query(`ALTER TABLE deliveries VALIDATE CONSTRAINT deliveries_campaign_fkey`);
    await db.query(`DROP INDEX deliveries_campaign_id_idx`);
    await db.query(`DROP INDEX deliveries_queued_idx`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX deliveries_queued_idx ON deliveries (updated_at) WHERE status = 'queued'`);
    await db.query(`CREATE INDEX deliveries_campaign_id_idx ON deliveries (campaign_id, id)`);
    await db.query(`ALTER TABLE deliveries DROP CONSTRAINT deliveries_campaign_fkey`);
    await db.query(`ALTER TABLE deliveries ADD CONSTRAINT deliveries_campaign_id_fkey FOREIGN KEY (campaign_id) REFERENCES campaigns (id) ON DELETE CASCADE`);
    await db.query(`CREATE INDEX campaigns_tenant_idx ON campaigns (tenant_id, id)`);
    await db.query(`ALTER TABLE campaigns DROP CONSTRAINT campaigns_tenant_id_key`);
  }
}
