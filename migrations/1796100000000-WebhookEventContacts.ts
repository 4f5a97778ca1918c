import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The citizens each raw webhook event names (WhatsApp ids, business-scoped user ids), indexed:
 * erasing a person deletes the events naming them without reading every stored body as text. Events
 * stored before have none (null); a partial index keeps their text search to them alone, and the
 * retention purge takes them away within its period.
 */
export class WebhookEventContacts1796100000000 implements MigrationInterface {
  name = 'WebhookEventContacts1796100000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE webhook_events ADD COLUMN contacts text[]`);
    await db.query(`CREATE INDEX webhook_events_contacts_idx ON webhook_events USING gin (contacts)`);
    await db.query(`CREATE INDEX webhook_events_without_contacts_idx ON webhook_events (id) WHERE contacts IS NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS webhook_events_without_contacts_idx`);
    await db.query(`DROP INDEX IF EXISTS webhook_events_contacts_idx`);
    await db.query(`ALTER TABLE webhook_events DROP COLUMN IF EXISTS contacts`);
  }
}
