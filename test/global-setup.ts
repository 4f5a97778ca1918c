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

/**
 * Creates a database of this run's own (so that concurrent runs never meet), owned by a
 * non-superuser role, migrates it once as that role, and hands its URL to the test files.
 */
export default async function globalSetup(): Promise<void> {
  process.env.TEST_ADMIN_DATABASE_URL = adminUrl().href;
  await adminQuery(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
        CREATE ROLE ${APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS;
      END IF;
    END $$`);
  const database = `filodiretto_test_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${database}" OWNER ${APP_ROLE}`);
  const url = adminUrl();
  url.username = APP_ROLE;
  url.password = '';
  url.pathname = `/${database}`;
  process.env.DATABASE_URL = url.href;
  process.env.FILODIRETTO_TEST_DATABASE = database;
  const dataSource = new DataSource(buildDataSourceOptions({ url: url.href, poolSize: 1 }));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
}
