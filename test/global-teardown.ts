import { Client } from 'pg';

/** Drops every database of the run (the template and any a failed file left behind). */
export default async function globalTeardown(): Promise<void> {
  const run = process.env.FILODIRETTO_TEST_RUN;
  if (!run) return;
  const url = new URL(process.env.TEST_ADMIN_DATABASE_URL!);
  const admin = new Client({ connectionString: url.href });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${run}%`]);
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
