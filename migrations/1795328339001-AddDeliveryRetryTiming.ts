import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delivery pipeline needs: when a delivery may be tried again (retry backoff, messaging-limit
 * holds), and a per-subscriber index on handed-over messages for the monthly cap.
 */
export class AddDeliveryRetryTiming1795328339001 implements MigrationInterface {
  name = 'AddDeliveryRetryTiming1795328339001';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE deliveries ADD COLUMN next_attempt_at timestamptz`);
    await db.query(`CREATE INDEX deliveries_subscriber_sent_idx ON deliveries (tenant_id, subscriber_id, sent_at) WHERE sent_at IS NOT NULL`);
    await db.query(`CREATE INDEX deliveries_campaign_id_idx ON deliveries (campaign_id, id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS deliveries_campaign_id_idx`);
    await db.query(`DROP INDEX IF EXISTS deliveries_subscriber_sent_idx`);
    await db.query(`ALTER TABLE deliveries DROP COLUMN IF EXISTS next_attempt_at`);
  }
}
