import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The answers to citizens (welcome, goodbye, automatic answer), written in the transaction that
 * handles their message and sent from here: one that Meta refuses for a while, or whose worker
 * dies before sending it, is tried again until the citizen's 24-hour window closes.
 * next_attempt_at doubles as the lease of whoever is sending it.
 */
export class ReplyOutbox1795900000000 implements MigrationInterface {
  name = 'ReplyOutbox1795900000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE reply_outbox (
        id bigserial PRIMARY KEY,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        channel_id uuid NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
        to_phone varchar(20),
        to_user_id varchar(160),
        body text NOT NULL,
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        sent_at timestamptz,
        provider_message_id varchar(255),
        given_up_at timestamptz,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (to_phone IS NOT NULL OR to_user_id IS NOT NULL)
      )`);
    await db.query(`CREATE INDEX reply_outbox_due_idx ON reply_outbox (next_attempt_at) WHERE sent_at IS NULL AND given_up_at IS NULL`);
    await db.query(`CREATE INDEX reply_outbox_contact_idx ON reply_outbox (tenant_id, channel_id, to_phone)`);
    await db.query(`CREATE INDEX reply_outbox_created_idx ON reply_outbox (created_at)`);
    // Tenant-owned: the same row-level security as every other such table (EnableRowLevelSecurity).
    await db.query(`ALTER TABLE reply_outbox ENABLE ROW LEVEL SECURITY`);
    await db.query(`ALTER TABLE reply_outbox FORCE ROW LEVEL SECURITY`);
    await db.query(`CREATE POLICY tenant_isolation ON reply_outbox USING (filodiretto_tenant_visible(tenant_id)) WITH CHECK (filodiretto_tenant_visible(tenant_id))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE reply_outbox`);
  }
}
