import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../libs/database/src/data-source-options';

/** Creates a fresh test database and migrates it once for the whole e2e run. */
export default async function globalSetup(): Promise<void> {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/filodiretto_test');
  const database = url.pathname.slice(1);
  const admin = new Client({ connectionString: Object.assign(new URL(url.href), { pathname: '/postgres' }).href });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const dataSource = new DataSource(buildDataSourceOptions({ url: url.href, poolSize: 1 }));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
}
