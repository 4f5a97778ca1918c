import { MigrationInterface, QueryRunner } from 'typeorm';

/** Who did what: append-only record of security- and privacy-relevant actions. */
export class CreateAuditLog1795328600000 implements MigrationInterface {
  name = 'CreateAuditLog1795328600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id uuid REFERENCES tenants(id) ON DELETE CASCADE,
        actor_kind varchar(16) NOT NULL CHECK (actor_kind IN ('user','api_key','system','citizen')),
        actor_id varchar(64),
        action varchar(64) NOT NULL,
        target_type varchar(32),
        target_id varchar(64),
        details jsonb,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX audit_log_tenant_idx ON audit_log (tenant_id, id)`);
    await db.query(`CREATE INDEX audit_log_time_idx ON audit_log (occurred_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE audit_log`);
  }
}
