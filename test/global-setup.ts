import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../libs/database/src/data-source-options';

const serverUrl = () => new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');

async function adminQuery(sql: string): Promise<void> {
  const url = serverUrl();
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.href });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * Creates a database of this run's own (so that concurrent runs never meet), migrates it once,
 * and hands its URL to the test files through the environment.
 */
export default async function globalSetup(): Promise<void> {
  const database = `filodiretto_test_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${database}"`);
  const url = serverUrl();
  url.pathname = `/${database}`;
  process.env.DATABASE_URL = url.href;
  process.env.FILODIRETTO_TEST_DATABASE = database;
  const dataSource = new DataSource(buildDataSourceOptions({ url: url.href, poolSize: 1 }));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
}

export { adminQuery };
