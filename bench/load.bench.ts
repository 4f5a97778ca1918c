/**
 * HTTP load: LOAD_CONNECTIONS keep-alive clients (default 200) for LOAD_SECONDS (default 60) on a
 * mix of reads and writes (list subscribers, get a campaign, create a subscriber, the analytics
 * overview) and a flood of signed WhatsApp status webhooks for a sent campaign. Prints throughput,
 * p50/p99 per kind and error counts, then checks: no errors, and no lost event (every webhook
 * stored and processed, every delivery at the last status sent to it).
 *
 *   npm run bench:load
 *   LOAD_SECONDS=20 LOAD_CONNECTIONS=100 npm run bench:load
 *
 * Production mode: PostgreSQL from DATABASE_URL (a database of its own, migrated, dropped at the
 * end unless BENCH_KEEP=1) and Bull on REDIS_URL (its own queue prefix). API and worker run in
 * this process, the fake Graph API too (it only answers the campaign sent before the load).
 */
import { randomBytes } from 'crypto';
import { Pool } from 'undici';
import { signBody } from '@app/whatsapp';
import { FakeGraphApi } from '../libs/testing/src/fake-graph-api';
import { messagesWebhook } from '../libs/testing/src/fixtures';
import { benchEnv as env, log, startBenchApp } from './bench-app';

const SECONDS = Number(env.LOAD_SECONDS ?? 60);
const CONNECTIONS = Number(env.LOAD_CONNECTIONS ?? 200);
const RECIPIENTS = Number(env.LOAD_RECIPIENTS ?? 5000);
const STATUSES_PER_WEBHOOK = 10;
const REDIS_URL = env.REDIS_URL ?? 'redis://127.0.0.1:6379';

type Kind = 'list-subscribers' | 'get-campaign' | 'create-subscriber' | 'overview' | 'webhook';
/** Share of each kind in the mix (out of 20). */
const MIX: Kind[] = [
  ...Array<Kind>(6).fill('list-subscribers'),
  ...Array<Kind>(4).fill('get-campaign'),
  ...Array<Kind>(3).fill('create-subscriber'),
  ...Array<Kind>(2).fill('overview'),
  ...Array<Kind>(5).fill('webhook'),
];

const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : NaN);

async function main(): Promise<void> {
  const fake = await new FakeGraphApi().start();
  const bench = await startBenchApp({ label: 'load', worker: true, redisUrl: REDIS_URL, poolSize: 20, env: { WHATSAPP_GRAPH_URL: fake.url } });
  const { dataSource } = bench;
  const http = new Pool(bench.base, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 });
  let ok = true;
  try {
    const call = async (method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers: Record<string, string> = {}) => {
      const response = await http.request({ method, path, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.body.text();
      if (response.statusCode >= 300) throw new Error(`${method} ${path} -> ${response.statusCode} ${text.slice(0, 200)}`);
      return text ? JSON.parse(text) : null;
    };

    // The comune gets a channel, RECIPIENTS subscribers and a sent campaign (one wamid per recipient).
    const auth = { authorization: `Bearer ${bench.adminToken}` };
    await call('PATCH', '/v1/tenant', { quietHoursStart: '00:00', quietHoursEnd: '00:00', monthlyMessageCap: 1000 }, auth);
    const { key } = await call('POST', '/v1/api-keys', { name: 'load' }, auth);
    const apiKey = { 'x-api-key': key as string };
    const appSecret = randomBytes(16).toString('hex');
    const phoneNumberId = String(100_000_000_000_000 + (randomBytes(6).readUIntBE(0, 6) % 800_000_000_000_000));
    const channel = await call(
      'POST',
      '/v1/channels',
      { name: 'WhatsApp', provider: 'whatsapp_cloud', phoneNumberId, wabaId: 'waba', displayPhoneNumber: '390587123450', accessToken: 'EAAG-bench', appSecret, verifyToken: 'v', messagesPerSecond: 1000 },
      apiKey,
    );
    await dataSource.query(
      `INSERT INTO subscribers (tenant_id, channel_id, phone, wa_id, status, consent_source, subscribed_at, last_inbound_at)
       SELECT $1, $2, '+39347' || lpad(g::text, 7, '0'), '39347' || lpad(g::text, 7, '0'), 'active', 'api', now(), now() FROM generate_series(1, $3::int) g`,
      [bench.tenantId, channel.id, RECIPIENTS],
    );
    const campaign = await call('POST', '/v1/campaigns', { channelId: channel.id, title: 'Carico', message: { type: 'template', template: { name: 'avviso', language: 'it' } } }, apiKey);
    await call('POST', `/v1/campaigns/${campaign.id}/send`, {}, apiKey);
    const sendStart = Date.now();
    for (;;) {
      const state = await call('GET', `/v1/campaigns/${campaign.id}`, undefined, apiKey);
      if (state.status === 'completed') break;
      if (Date.now() - sendStart > 300_000) throw new Error(`campaign not completed: ${JSON.stringify(state.stats)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const wamids = ((await dataSource.query(`SELECT provider_message_id AS wamid, recipient FROM deliveries WHERE campaign_id = $1 ORDER BY id`, [campaign.id])) as { wamid: string; recipient: string }[]).filter(
      (d) => d.wamid,
    );
    log(`setup: ${wamids.length} deliveries sent in ${((Date.now() - sendStart) / 1000).toFixed(1)} s; load: ${CONNECTIONS} connections for ${SECONDS} s`);

    // Webhooks walk the deliveries, STATUSES_PER_WEBHOOK statuses each: delivered on the first
    // pass, read on the later ones (repeats, which must have no second effect).
    let webhookCursor = 0;
    const lastStatus = new Map<string, 'delivered' | 'read'>();
    const nextWebhook = (): Buffer | null => {
      const start = webhookCursor;
      webhookCursor += STATUSES_PER_WEBHOOK;
      const status: 'delivered' | 'read' = start < wamids.length ? 'delivered' : 'read';
      const slice = wamids.slice(start % wamids.length, (start % wamids.length) + STATUSES_PER_WEBHOOK);
      const timestamp = String(Math.floor(Date.now() / 1000));
      for (const d of slice) lastStatus.set(d.wamid, status);
      return Buffer.from(
        JSON.stringify(
          messagesWebhook(phoneNumberId, { statuses: slice.map((d) => ({ id: d.wamid, status, timestamp, recipient_id: d.recipient.slice(1) })) }),
        ),
      );
    };

    const latencies = new Map<Kind, number[]>();
    const errors = new Map<string, number>();
    let webhooksPosted = 0;
    let phoneCounter = 0;
    const deadline = Date.now() + SECONDS * 1000;
    const client = async (index: number) => {
      let turn = index;
      while (Date.now() < deadline) {
        let kind = MIX[turn++ % MIX.length];
        let webhook: Buffer | null = null;
        if (kind === 'webhook') {
          webhook = nextWebhook();
          if (!webhook) kind = 'list-subscribers';
        }
        const started = performance.now();
        try {
          if (kind === 'list-subscribers') await call('GET', `/v1/subscribers?channelId=${channel.id}&limit=50`, undefined, apiKey);
          else if (kind === 'get-campaign') await call('GET', `/v1/campaigns/${campaign.id}`, undefined, apiKey);
          else if (kind === 'overview') await call('GET', '/v1/analytics/overview', undefined, apiKey);
          else if (kind === 'create-subscriber') await call('POST', '/v1/subscribers', { channelId: channel.id, phone: `+39 348 ${String(++phoneCounter).padStart(7, '0')}` }, apiKey);
          else {
            const response = await http.request({ method: 'POST', path: `/v1/webhooks/whatsapp/${channel.id}`, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(webhook!, appSecret) }, body: webhook! });
            await response.body.text();
            if (response.statusCode !== 200) throw new Error(`webhook -> ${response.statusCode}`);
            webhooksPosted += 1;
          }
          const list = latencies.get(kind) ?? [];
          list.push(performance.now() - started);
          latencies.set(kind, list);
        } catch (error) {
          const message = `${kind}: ${error instanceof Error ? error.message.slice(0, 120) : String(error)}`;
          errors.set(message, (errors.get(message) ?? 0) + 1);
        }
      }
    };
    const loadStart = performance.now();
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => client(i)));
    const elapsed = (performance.now() - loadStart) / 1000;

    const all = [...latencies.values()].flat().sort((a, b) => a - b);
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    log(`requests: ${all.length} ok, ${errorCount} errors in ${elapsed.toFixed(1)} s = ${(all.length / elapsed).toFixed(0)} req/s; p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms`);
    for (const [kind, values] of latencies) {
      values.sort((a, b) => a - b);
      log(`  ${kind.padEnd(18)} ${String(values.length).padStart(7)} req  ${(values.length / elapsed).toFixed(0).padStart(5)}/s  p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms  p99 ${percentile(values, 99).toFixed(1).padStart(7)} ms`);
    }
    for (const [message, count] of errors) log(`  error x${count}: ${message}`);

    // No lost event: every webhook stored and processed, every delivery at its last status.
    const drainStart = Date.now();
    let processed = 0;
    for (;;) {
      const [row] = await dataSource.query(`SELECT count(*)::int AS stored, count(processed_at)::int AS processed FROM webhook_events WHERE channel_id = $1`, [channel.id]);
      processed = row.processed;
      if (row.stored === webhooksPosted && row.processed === webhooksPosted) break;
      if (Date.now() - drainStart > 120_000) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const expectedByStatus = { delivered: 0, read: 0 };
    for (const status of lastStatus.values()) expectedByStatus[status] += 1;
    let mismatched = 0;
    for (;;) {
      const rows = (await dataSource.query(`SELECT provider_message_id AS wamid, status FROM deliveries WHERE campaign_id = $1`, [campaign.id])) as { wamid: string; status: string }[];
      mismatched = rows.filter((r) => lastStatus.has(r.wamid) && r.status !== lastStatus.get(r.wamid)).length;
      if (mismatched === 0 || Date.now() - drainStart > 120_000) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    log(
      `webhooks: ${webhooksPosted} posted (${webhooksPosted * STATUSES_PER_WEBHOOK} statuses), ${processed} processed ${((Date.now() - drainStart) / 1000).toFixed(1)} s after the load; ` +
        `deliveries expected delivered/read ${expectedByStatus.delivered}/${expectedByStatus.read}, not at their last status: ${mismatched}`,
    );
    ok = errorCount === 0 && processed === webhooksPosted && mismatched === 0;
    log(ok ? 'PASS: no errors, no lost events' : 'FAIL: errors or lost events (see above)');
  } finally {
    await http.close();
    await bench.close();
    await fake.stop();
  }
  if (!ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
