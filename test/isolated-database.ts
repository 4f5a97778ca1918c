import { randomBytes } from 'crypto';
import { adminQuery, APP_ROLE, appDatabaseUrl } from './global-setup';

/**
 * A second database for a test file (each file already has its own, see per-file-database.ts), for fault tests whose worker and reconciler must
 * not meet other test files' deliveries (the reconciler is platform-wide by design: with a short
 * stuck threshold it re-dispatches any comune's queued deliveries through its own process).
 */
export async function createIsolatedDatabase(label: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${process.env.FILODIRETTO_TEST_RUN}_${label}_${randomBytes(3).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${process.env.FILODIRETTO_TEST_TEMPLATE}" OWNER ${APP_ROLE}`);
  return { url: appDatabaseUrl(name), name, drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
