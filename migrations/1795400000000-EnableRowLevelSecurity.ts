import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Row-level security on every tenant-owned table (every table with a tenant_id column, and
 * tenants itself), forced so that the owning role is subject too. The application sets
 * `app.tenant_id` on each connection it uses for an authenticated tenant request; then only that
 * tenant's rows are visible or writable. With the setting empty (workers, webhooks, the operator,
 * public routes) the policy lets the query through: they reach across tenants by design.
 * A superuser bypasses RLS; production and the test suite connect as an ordinary role.
 */
export class EnableRowLevelSecurity1795400000000 implements MigrationInterface {
  name = 'EnableRowLevelSecurity1795400000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE FUNCTION filodiretto_tenant_visible(row_tenant uuid) RETURNS boolean
      LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT coalesce(current_setting('app.tenant_id', true), '') = ''
            OR row_tenant::text = current_setting('app.tenant_id', true)
      $$`);
    await db.query(`
      DO $$
      DECLARE t record;
      BEGIN
        FOR t IN SELECT c.table_name FROM information_schema.columns c
                 JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
                 WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND tb.table_type = 'BASE TABLE'
        LOOP
          EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.table_name);
          EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.table_name);
          EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (filodiretto_tenant_visible(tenant_id)) WITH CHECK (filodiretto_tenant_visible(tenant_id))', t.table_name);
        END LOOP;
      END $$`);
    await db.query(`ALTER TABLE tenants ENABLE ROW LEVEL SECURITY`);
    await db.query(`ALTER TABLE tenants FORCE ROW LEVEL SECURITY`);
    await db.query(`CREATE POLICY tenant_isolation ON tenants USING (filodiretto_tenant_visible(id)) WITH CHECK (filodiretto_tenant_visible(id))`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`
      DO $$
      DECLARE t record;
      BEGIN
        FOR t IN SELECT tablename FROM pg_policies WHERE schemaname = 'public' AND policyname = 'tenant_isolation'
        LOOP
          EXECUTE format('DROP POLICY tenant_isolation ON %I', t.tablename);
          EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t.tablename);
          EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t.tablename);
        END LOOP;
      END $$`);
    await db.query(`DROP FUNCTION filodiretto_tenant_visible(uuid)`);
  }
}
