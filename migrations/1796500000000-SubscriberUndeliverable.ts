import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Citizens WhatsApp cannot reach (error 131026: not a WhatsApp number, terms not accepted, an
 * outdated app). Meta's advice is to mark the recipient, not retry, and tell the comune so that it
 * can reach the citizen another way: `undeliverable_since` is the first such failure since the
 * citizen was last reachable, cleared when they write to the channel or a later message reaches
 * their phone. The partial index keeps the clearing and the comune's list cheap: it holds only the
 * marked ones.
 */
export class SubscriberUndeliverable1796500000000 implements MigrationInterface {
  name = 'SubscriberUndeliverable1796500000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE subscribers ADD COLUMN undeliverable_since timestamptz`);
    await db.query(`CREATE INDEX subscribers_undeliverable_idx ON subscribers (tenant_id, id) WHERE undeliverable_since IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS subscribers_undeliverable_idx`);
    await db.query(`ALTER TABLE subscribers DROP COLUMN IF EXISTS undeliverable_since`);
  }
}
