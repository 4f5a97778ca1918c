import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The channels a webhook event was verified for, kept with the event: an event whose queue job was
 * lost (Redis down at intake, or flushed) is queued again from PostgreSQL, and must reach the same
 * channels it was signed for, not the ones its payload names. Events from before have their one
 * channel in channel_id (a platform-wide event for several channels had none kept).
 */
export class WebhookEventChannels1795800000000 implements MigrationInterface {
  name = 'WebhookEventChannels1795800000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE webhook_events ADD COLUMN channel_ids uuid[]`);
    await db.query(`UPDATE webhook_events SET channel_ids = ARRAY[channel_id] WHERE channel_id IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE webhook_events DROP COLUMN channel_ids`);
  }
}
