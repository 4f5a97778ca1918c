import { adminQuery } from './global-setup';

/** Drops the run's database. */
export default async function globalTeardown(): Promise<void> {
  const database = process.env.FILODIRETTO_TEST_DATABASE;
  if (database) await adminQuery(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
}
