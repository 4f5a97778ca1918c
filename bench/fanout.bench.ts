/**
 * Fan-out of a regional alert and its follow-ups on a young platform: BENCH_COMUNI comuni (default
 * 20) with BENCH_RECIPIENTS active subscribers each (default 5,000) on a sandbox number send a
 * normal campaign, then BENCH_ROUNDS - 1 follow-ups (default 3 rounds in all), every comune in turn;
 * the monthly cap is BENCH_ROUNDS - 1, so the last round skips everyone as `monthly_cap`. No worker
 * runs: after each send the campaign's deliveries are marked handed over (sent, with a wamid) by
 * one statement, as the worker would have. Each campaign after a comune's first reads the month's
 * messages per recipient. Prints the send call's time (the fan-out transaction) per round:
 * - first on the statistics of a young database: never taken (no fan-out here reaches the 10,000
 *   rows that make the launcher ask for them, and autovacuum may be off or not there yet);
 * - then the same rounds again for a new number of each comune, with `ANALYZE deliveries` and
 *   `ANALYZE subscribers` before each round (untimed), as if the statistics were always fresh.
 *
 *   npm run bench:fanout
 *   BENCH_COMUNI=5 BENCH_RECIPIENTS=20000 npm run bench:fanout
 *
 * Uses DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres) with a database
 * of its own, dropped at the end unless BENCH_KEEP=1. No Redis: the in-process queue transport.
 */
import { randomBytes } from 'crypto';
import { benchEnv as env, BenchApp, log, startBenchApp } from './bench-app';

const COMUNI = Number(env.BENCH_COMUNI ?? 20);
const RECIPIENTS = Number(env.BENCH_RECIPIENTS ?? 5_000);
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3);

interface Comune {
  tenantId: string;
  auth: Record<string, string>;
}

interface Round {
  round: number;
  /** the planner's row counts when the round began (-1: never counted) */
  reltuples: { deliveries: number; subscribers: number };
  sendMs: { p50: number; max: number; total: number };
  queued: number;
  skipped: number;
}

async function createComune(bench: BenchApp, index: number): Promise<Comune> {
  const slug = `fanout-${index}-${randomBytes(3).toString('hex')}`;
  const admin = { email: `urp@${slug}.example`, password: 'password-del-banco' };
  const tenant = await bench.call<{ id: string }>('POST', '/v1/tenants/signup', { name: `Comune ${index}`, slug, adminEmail: admin.email, adminPassword: admin.password });
  await bench.call('POST', `/v1/admin/tenants/${tenant.id}/approve`, {}, { Authorization: `Bearer ${bench.operatorToken}` });
  const auth = { Authorization: `Bearer ${(await bench.call<{ accessToken: string }>('POST', '/v1/auth/login', admin)).accessToken}` };
  // No quiet hours (the send must fan out now), the cap reached by the last round.
  await bench.call('PATCH', '/v1/tenant', { quietHoursStart: '00:00', quietHoursEnd: '00:00', monthlyMessageCap: ROUNDS - 1 }, auth);
  return { tenantId: tenant.id, auth };
}

/** A new sandbox number of the comune with RECIPIENTS active subscribers. */
async function seededNumber(bench: BenchApp, comune: Comune, offset: number): Promise<string> {
  const channel = await bench.call('POST', '/v1/channels', { name: `Numero ${offset}`, provider: 'sandbox' }, comune.auth);
  await bench.dataSource.query(
    `INSERT INTO subscribers (tenant_id, channel_id, phone, status, consent_source, subscribed_at)
     SELECT $1, $2, '+39' || (3000000000 + $4::bigint + g)::text, 'active', 'api', now() FROM generate_series(1, $3::int) g`,
    [comune.tenantId, channel.id, RECIPIENTS, offset],
  );
  return channel.id;
}

async function rounds(bench: BenchApp, numbers: { comune: Comune; channelId: string }[], label: string, analyse: boolean): Promise<Round[]> {
  const results: Round[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    if (analyse) await bench.dataSource.query(`ANALYZE deliveries, subscribers`);
    const [reltuples] = (await bench.dataSource.query(
      `SELECT (SELECT reltuples::float8 FROM pg_class WHERE oid = 'deliveries'::regclass) AS deliveries, (SELECT reltuples::float8 FROM pg_class WHERE oid = 'subscribers'::regclass) AS subscribers`,
    )) as Round['reltuples'][];
    const times: number[] = [];
    let queued = 0;
    let skipped = 0;
    for (const { comune, channelId } of numbers) {
      const created = await bench.call('POST', '/v1/campaigns', { channelId, title: `${label} ${round}`, message: { type: 'text', text: `Allerta meteo, aggiornamento ${round}` } }, comune.auth);
      const started = process.hrtime.bigint();
      await bench.call('POST', `/v1/campaigns/${created.id}/send`, {}, comune.auth);
      times.push(Number(process.hrtime.bigint() - started) / 1e6);
      const { stats } = await bench.call<{ stats: { queued: number; skipped: number } }>('GET', `/v1/campaigns/${created.id}`, undefined, comune.auth);
      queued += stats.queued;
      skipped += stats.skipped;
      await bench.dataSource.query(
        `UPDATE deliveries SET status = 'sent', sent_at = now(), provider_message_id = 'wamid.bench.' || id WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'queued'`,
        [comune.tenantId, created.id],
      );
    }
    times.sort((a, b) => a - b);
    const sendMs = { p50: Math.round(times[Math.floor(times.length / 2)]), max: Math.round(times[times.length - 1]), total: Math.round(times.reduce((a, b) => a + b, 0)) };
    results.push({ round, reltuples, sendMs, queued, skipped });
    log(`${label}, round ${round}: fan-out p50 ${sendMs.p50} ms, max ${sendMs.max} ms, all ${sendMs.total} ms (queued ${queued}, skipped ${skipped})`);
  }
  return results;
}

async function main(): Promise<void> {
  const bench = await startBenchApp({ label: 'fanout' });
  try {
    log(`${COMUNI} comuni x ${RECIPIENTS.toLocaleString('en')} subscribers, ${ROUNDS} rounds, monthly cap ${ROUNDS - 1}`);
    const comuni: Comune[] = [];
    for (let i = 0; i < COMUNI; i++) comuni.push(await createComune(bench, i));
    const first: { comune: Comune; channelId: string }[] = [];
    for (const [i, comune] of comuni.entries()) first.push({ comune, channelId: await seededNumber(bench, comune, i * RECIPIENTS) });
    const young = await rounds(bench, first, 'statistics never taken', false);
    const second: { comune: Comune; channelId: string }[] = [];
    for (const [i, comune] of comuni.entries()) second.push({ comune, channelId: await seededNumber(bench, comune, (COMUNI + i) * RECIPIENTS) });
    const analysed = await rounds(bench, second, 'analysed before each round', true);
    process.stdout.write(`${JSON.stringify({ comuni: COMUNI, recipientsPerComune: RECIPIENTS, rounds: ROUNDS, statisticsNeverTaken: young, analysedBeforeEachRound: analysed }, null, 2)}\n`);
  } finally {
    await bench.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
