import { randomBytes } from 'crypto';
import { adminQuery, APP_ROLE, appDatabaseUrl } from './global-setup';

/**
 * Each test file runs on a fresh copy of the migrated template (fast: a file copy on the
 * server), and drops it at the end.
 */
let database: string | null = null;

beforeAll(async () => {
  database = `${process.env.FILODIRETTO_TEST_RUN}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${database}" TEMPLATE "${process.env.FILODIRETTO_TEST_TEMPLATE}" OWNER ${APP_ROLE}`);
  process.env.DATABASE_URL = appDatabaseUrl(database);
});

afterAll(async () => {
  if (database) await adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
});
