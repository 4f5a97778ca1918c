import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The message ids of the inbound messages an erasure deleted, and nothing else of them: Meta
 * delivers a webhook again for days when our 200 did not reach it, and the unique message id on
 * inbound_messages was the only memory that a message had been handled. With it gone, a re-delivered
 * `ATTIVA ISCRIZIONE` of an erased person subscribed them again (CONTRACT: a re-delivered event has
 * no second effect; an erased number is subscribed again only when it opts in again). Kept for the
 * webhook retention period, as the raw events are.
 */
export class CreateErasedInboundMessages1796400000000 implements MigrationInterface {
  name = 'CreateErasedInboundMessages1796400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE erased_inbound_messages (
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        channel_id uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        provider_message_id varchar(255) NOT NULL,
        erased_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (channel_id, provider_message_id)
      )`);
    await db.query(`CREATE INDEX erased_inbound_messages_erased_idx ON erased_inbound_messages (erased_at)`);
    // Tenant-owned: the same row-level security as every other such table (EnableRowLevelSecurity).
    await db.query(`ALTER TABLE erased_inbound_messages ENABLE ROW LEVEL SECURITY`);
    await db.query(`ALTER TABLE erased_inbound_messages FORCE ROW LEVEL SECURITY`);
    await db.query(`CREATE POLICY tenant_isolation ON erased_inbound_messages USING (filodiretto_tenant_visible(tenant_id)) WITH CHECK (filodiretto_tenant_visible(tenant_id))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE erased_inbound_messages`);
  }
}
