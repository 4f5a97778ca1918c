/**
 * Analytics at scale: seeds one comune with BENCH_SUBSCRIBERS subscribers (default 100,000) and
 * BENCH_DELIVERIES deliveries (default 10,000,000, spread over campaigns of one delivery per
 * subscriber) in a database of its own, then times every analytics route over HTTP and prints
 * p50/p95 per route. Target: p95 < 100 ms.
 *
 *   npm run bench:analytics
 *   BENCH_DELIVERIES=1000000 BENCH_REQUESTS=100 npm run bench:analytics
 *
 * Uses DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres); the bench
 * database is dropped at the end unless BENCH_KEEP=1. No Redis: the in-process queue transport.
 */
import { benchEnv as env, log, startBenchApp, withClient } from './bench-app';

const SUBSCRIBERS = Number(env.BENCH_SUBSCRIBERS ?? 100_000);
const DELIVERIES = Number(env.BENCH_DELIVERIES ?? 10_000_000);
const REQUESTS = Number(env.BENCH_REQUESTS ?? 200);

async function seed(url: string, tenantId: string): Promise<{ campaignId: string }> {
  return withClient(url, async (db) => {
    const started = Date.now();
    const [channel] = (
      await db.query(
        `INSERT INTO channels (tenant_id, name, provider, phone_number_id, waba_id, display_phone_number, access_token_sealed, app_secret_sealed, verify_token_sealed, quality_rating, messaging_limit_tier)
         VALUES ($1, 'WhatsApp del Comune', 'whatsapp_cloud', 'bench-pn', 'bench-waba', '+39 0571 000000', 'x', 'x', 'x', 'GREEN', 'TIER_100K') RETURNING id`,
        [tenantId],
      )
    ).rows;
    await db.query(
      `INSERT INTO topics (tenant_id, key, name) SELECT $1, k, initcap(k) FROM unnest(ARRAY['meteo','viabilita','acqua','farmacie','eventi']) k`,
      [tenantId],
    );
    // Subscribers: 88% active, 10% unsubscribed, 2% pending; sources mixed; joined over the last year.
    await db.query(
      `INSERT INTO subscribers (tenant_id, channel_id, phone, status, consent_source, subscribed_at, unsubscribed_at)
       SELECT $1, $2, '+39347' || lpad(g::text, 7, '0'),
              CASE WHEN g % 50 = 0 THEN 'pending' WHEN g % 10 = 1 THEN 'unsubscribed' ELSE 'active' END,
              (ARRAY['keyword','web_form','import','api'])[1 + g % 4],
              now() - make_interval(days => g % 365, secs => g % 86400),
              CASE WHEN g % 10 = 1 AND g % 50 <> 0 THEN now() - make_interval(days => (g % 365) / 2) END
       FROM generate_series(1, $3::int) g`,
      [tenantId, channel.id, SUBSCRIBERS],
    );
    await db.query(
      `INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id)
       SELECT s.tenant_id, s.id, t.id FROM subscribers s JOIN topics t ON t.tenant_id = s.tenant_id
        WHERE s.tenant_id = $1 AND (abs(hashtext(s.id::text || t.key)) % 3) = 0`,
      [tenantId],
    );
    await db.query(
      `INSERT INTO consent_events (tenant_id, channel_id, subscriber_id, action, source, occurred_at)
       SELECT tenant_id, channel_id, id, 'subscribed', consent_source, subscribed_at FROM subscribers WHERE tenant_id = $1 AND subscribed_at IS NOT NULL AND status <> 'pending'
       UNION ALL
       SELECT tenant_id, channel_id, id, 'unsubscribed', consent_source, unsubscribed_at FROM subscribers WHERE tenant_id = $1 AND unsubscribed_at IS NOT NULL`,
      [tenantId],
    );
    log(`seeded ${SUBSCRIBERS} subscribers, topics and consent events in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Campaigns of one delivery per subscriber until DELIVERIES rows; the last one sent minutes ago.
    const campaigns = Math.max(1, Math.ceil(DELIVERIES / SUBSCRIBERS));
    let remaining = DELIVERIES;
    let lastCampaign = '';
    for (let i = campaigns - 1; i >= 0; i--) {
      const size = Math.min(remaining, SUBSCRIBERS);
      remaining -= size;
      const startedAt = i === 0 ? `now() - interval '3 minutes'` : `now() - make_interval(days => ${i * 3})`;
      const [campaign] = (
        await db.query(
          `INSERT INTO campaigns (tenant_id, channel_id, title, message, priority, status, started_at, completed_at, created_at)
           VALUES ($1, $2, $3, $4, $5, 'completed', ${startedAt}, ${startedAt} + interval '10 minutes', ${startedAt}) RETURNING id`,
          [
            tenantId, channel.id, `Campagna ${campaigns - i}`,
            i % 10 === 0 ? JSON.stringify({ type: 'poll', text: 'Sondaggio', options: ['Sì', 'No'] }) : JSON.stringify({ type: 'text', text: 'Avviso' }),
            i % 7 === 0 ? 'emergency' : 'normal',
          ],
        )
      ).rows;
      await db.query(
        `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, subscriber_id, recipient, status, reason, error_code, sent_at, delivered_at, read_at, failed_at, updated_at, created_at)
         SELECT $1, $2, s.channel_id, s.id, s.phone, x.status,
                CASE WHEN x.status = 'skipped' THEN (ARRAY['outside_window','monthly_cap','unsubscribed'])[1 + x.h % 3] END,
                CASE WHEN x.status = 'failed' THEN (ARRAY[131026, 131049, 130429])[1 + x.h % 3] END,
                CASE WHEN x.status IN ('sent','delivered','read') THEN c.started_at + make_interval(secs => x.h % 120) END,
                CASE WHEN x.status IN ('delivered','read') THEN c.started_at + make_interval(secs => 2 + x.h % 180) END,
                CASE WHEN x.status = 'read' THEN c.started_at + make_interval(secs => 600 + x.h % 3600) END,
                CASE WHEN x.status = 'failed' THEN c.started_at + make_interval(secs => x.h % 60) END,
                c.started_at + interval '1 hour', c.started_at
           FROM (SELECT * FROM subscribers WHERE tenant_id = $1 ORDER BY id LIMIT $3) s
           JOIN campaigns c ON c.id = $2
           CROSS JOIN LATERAL (SELECT abs(hashtext(s.id::text || $2::text)) AS h) hh
           CROSS JOIN LATERAL (SELECT hh.h, CASE WHEN hh.h % 100 < 5 THEN 'skipped' WHEN hh.h % 100 < 6 THEN 'failed' WHEN hh.h % 100 < 26 THEN 'sent'
                                                  WHEN hh.h % 100 < 66 THEN 'delivered' ELSE 'read' END AS status) x`,
        [tenantId, campaign.id, size],
      );
      await db.query(
        `UPDATE campaigns c SET recipients = a.total, sent_count = a.sent, delivered_count = a.delivered, read_count = a.read, failed_count = a.failed, skipped_count = a.skipped
           FROM (SELECT count(*) AS total, count(*) FILTER (WHERE status = 'sent') AS sent, count(*) FILTER (WHERE status = 'delivered') AS delivered,
                        count(*) FILTER (WHERE status = 'read') AS read, count(*) FILTER (WHERE status = 'failed') AS failed, count(*) FILTER (WHERE status = 'skipped') AS skipped
                   FROM deliveries WHERE tenant_id = $1 AND campaign_id = $2) a
          WHERE c.id = $2`,
        [tenantId, campaign.id],
      );
      lastCampaign = campaign.id;
      const done = DELIVERIES - remaining;
      if ((campaigns - i) % 10 === 0 || i === 0) log(`  ${done.toLocaleString('en')} deliveries (${campaigns - i}/${campaigns} campaigns), ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    log('VACUUM ANALYZE ...');
    await db.query('VACUUM ANALYZE');
    log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return { campaignId: lastCampaign };
  });
}

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(index, 0)];
}

async function time(url: string, token: string, requests: number): Promise<{ p50: number; p95: number; max: number; status: number }> {
  let status = 0;
  const once = async () => {
    const t0 = performance.now();
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    await response.arrayBuffer();
    status = response.status;
    return performance.now() - t0;
  };
  for (let i = 0; i < Math.min(20, requests); i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < requests; i++) samples.push(await once());
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), max: samples[samples.length - 1], status };
}

async function main(): Promise<void> {
  log(`${SUBSCRIBERS.toLocaleString('en')} subscribers, ${DELIVERIES.toLocaleString('en')} deliveries`);
  const bench = await startBenchApp({ label: 'analytics', population: 250_000 });
  try {
    const { campaignId } = await seed(bench.databaseUrl, bench.tenantId);
    const token = bench.adminToken;
    const operatorToken = bench.operatorToken;
    const base = bench.base;

    const today = new Date().toISOString().slice(0, 10);
    const yearAgo = new Date(Date.now() - 365 * 86_400_000).toISOString().slice(0, 10);
    const routes: [string, string, string][] = [
      ['overview', '/v1/analytics/overview', token],
      ['subscribers (30 days)', '/v1/analytics/subscribers?interval=day', token],
      ['subscribers (366 days)', `/v1/analytics/subscribers?from=${yearAgo}&to=${today}&interval=day`, token],
      ['subscribers by source', '/v1/analytics/subscribers/by-source', token],
      ['subscribers by topic', '/v1/analytics/subscribers/by-topic', token],
      ['usage this month', '/v1/analytics/usage', token],
      ['campaign funnels (50)', '/v1/analytics/campaigns', token],
      ['campaign report', `/v1/analytics/campaigns/${campaignId}`, token],
      ['admin health', '/v1/admin/health', operatorToken],
    ];
    log(`timing ${REQUESTS} requests per route (after 20 warm-up requests)`);
    const lines = [`${'route'.padEnd(26)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'max ms'.padStart(8)}  status  p95 < 100 ms`];
    for (const [name, path, credential] of routes) {
      const result = await time(`${base}${path}`, credential, REQUESTS);
      lines.push(
        `${name.padEnd(26)} ${result.p50.toFixed(1).padStart(8)} ${result.p95.toFixed(1).padStart(8)} ${result.max.toFixed(1).padStart(8)}  ${String(result.status).padEnd(6)}  ${result.p95 < 100 ? 'met' : 'NOT met'}`,
      );
    }
    const t0 = performance.now();
    const csv = await fetch(`${base}/v1/analytics/campaigns/${campaignId}/export.csv`, { headers: { Authorization: `Bearer ${token}` } });
    const bytes = (await csv.arrayBuffer()).byteLength;
    lines.push(`CSV export of one campaign (${Math.min(SUBSCRIBERS, DELIVERIES).toLocaleString('en')} rows, ${(bytes / 1e6).toFixed(1)} MB): ${(performance.now() - t0).toFixed(0)} ms (a download, not held to the 100 ms target)`);
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    await bench.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
