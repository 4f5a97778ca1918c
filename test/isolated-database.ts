import { randomBytes } from 'crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from '../libs/database/src/data-source-options';
import { adminQuery, APP_ROLE } from './global-setup';

/**
 * A database of the test file's own, migrated, for fault tests whose worker and reconciler must
 * not meet other test files' deliveries (the reconciler is platform-wide by design: with a short
 * stuck threshold it re-dispatches any comune's queued deliveries through its own process).
 */
export async function createIsolatedDatabase(label: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `filodiretto_test_${label}_${randomBytes(3).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}" OWNER ${APP_ROLE}`);
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `/${name}`;
  const dataSource = new DataSource(buildDataSourceOptions({ url: url.href, poolSize: 1 }));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
  return { url: url.href, name, drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
