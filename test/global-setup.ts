import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../libs/database/src/data-source-options';

/** The role the application connects as in tests: owner of its database, not a superuser, so row-level security applies. */
export const APP_ROLE = 'filodiretto_app';

/** The server as an administrator (the local superuser by default). */
const adminUrl = () => {
  const url = new URL(process.env.TEST_ADMIN_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  return url;
};

export async function adminQuery(sql: string): Promise<void> {
  const admin = new Client({ connectionString: adminUrl().href });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** The URL of a database of this server, as the application role. */
export function appDatabaseUrl(database: string): string {
  const url = adminUrl();
  url.username = APP_ROLE;
  url.password = '';
  url.pathname = `/${database}`;
  return url.href;
}

/**
 * Migrates a template database once for the run, owned by a non-superuser role; every test file
 * then gets a database of its own copied from it (test/per-file-database.ts), so that files never
 * meet each other's rows, queues or platform-wide jobs (the reconciler), even in parallel.
 */
export default async function globalSetup(): Promise<void> {
  process.env.TEST_ADMIN_DATABASE_URL = adminUrl().href;
  await adminQuery(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
        CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS;
      END IF;
    END $$`);
  const run = `filodiretto_test_${randomBytes(4).toString('hex')}`;
  const template = `${run}_template`;
  await adminQuery(`CREATE DATABASE "${template}" OWNER ${APP_ROLE}`);
  const dataSource = new DataSource(buildDataSourceOptions({ url: appDatabaseUrl(template), poolSize: 1 }));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
  process.env.FILODIRETTO_TEST_RUN = run;
  process.env.FILODIRETTO_TEST_TEMPLATE = template;
  // Until a file's own database exists, nothing may connect to the template (copying needs it idle).
  process.env.DATABASE_URL = appDatabaseUrl(`${run}_unassigned`);
}
