import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The WhatsApp message templates of each comune's Business Accounts, as Meta last reported them
 * (a sync of `GET /<WABA>/message_templates`, then `message_template_status_update` webhooks):
 * a campaign whose template is not APPROVED is refused at send time instead of failing once per
 * citizen. channels.templates_synced_at says whether the list is known at all: before a first sync
 * a template the platform has not heard of may still exist.
 */
export class CreateMessageTemplates1796300000000 implements MigrationInterface {
  name = 'CreateMessageTemplates1796300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE message_templates (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        waba_id varchar(64) NOT NULL,
        name varchar(512) NOT NULL,
        language varchar(20) NOT NULL,
        status varchar(40) NOT NULL,
        category varchar(40),
        provider_template_id varchar(64),
        reason text,
        body_parameter_count int,
        body_parameter_names text[],
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE UNIQUE INDEX message_templates_key ON message_templates (tenant_id, waba_id, name, language)`);
    await db.query(`ALTER TABLE channels ADD COLUMN templates_synced_at timestamptz`);
    // Tenant-owned: the same row-level security as every other such table (EnableRowLevelSecurity).
    await db.query(`ALTER TABLE message_templates ENABLE ROW LEVEL SECURITY`);
    await db.query(`ALTER TABLE message_templates FORCE ROW LEVEL SECURITY`);
    await db.query(`CREATE POLICY tenant_isolation ON message_templates USING (filodiretto_tenant_visible(tenant_id)) WITH CHECK (filodiretto_tenant_visible(tenant_id))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE channels DROP COLUMN IF EXISTS templates_synced_at`);
    await db.query(`DROP TABLE message_templates`);
  }
}
