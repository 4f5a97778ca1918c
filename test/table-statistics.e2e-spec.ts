import { TableStatistics } from '@app/database';
import { APPLY_CHANGES } from '@app/delivery';
import { createTestApp, FakeGraphApi, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';

jest.setTimeout(60_000);

/**
 * A first large campaign on a young deployment: its fan-out outgrows what the planner knows of
 * deliveries, so the table is analysed as soon as the rows are committed (the dispatch records
 * were planned for a handful of rows per comune, 75-170 ms each, until autovacuum came by).
 */
describe('Planner statistics after a large fan-out', () => {
  let testApp: TestApp;
  const fake = new FakeGraphApi();
  let session: TenantSession;

  beforeAll(async () => {
    await fake.start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url } });
    session = await TenantSession.create(testApp);
    await disableQuietHours(session);
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  /** Manual analyses of deliveries (autovacuum's own are counted apart), and the rows the planner counts. */
  const deliveriesStats = async () => {
    const [row] = (await testApp.dataSource.query(
      `SELECT s.analyze_count::int AS analyses, greatest(c.reltuples, 0)::int AS rows
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relname = 'deliveries' AND s.schemaname = current_schema()`,
    )) as { analyses: number; rows: number }[];
    return row;
  };

  it('analyses deliveries once a fan-out has written many rows more than its statistics count, and not for small ones', async () => {
    const channel = await createChannel(session, { messagesPerSecond: 1000 });
    // A small campaign first: nothing to refresh.
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 50);
    const small = await createCampaign(session, { channelId: channel.id, title: 'Piccola', message: { type: 'text', text: 'Avviso' } });
    const before = await deliveriesStats();
    await session.as('post', `/v1/campaigns/${small}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(session, small)).status).toBe('completed'));
    expect((await deliveriesStats()).analyses).toBe(before.analyses);

    // The first flood alert to the whole town: 12,000 rows, far more than the statistics count.
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 12_000);
    const alert = await createCampaign(session, { channelId: channel.id, title: 'Allerta', message: { type: 'text', text: 'Allerta meteo rossa' } });
    await session.as('post', `/v1/campaigns/${alert}/send`).expect(202);
    await waitFor(async () => expect(await deliveriesStats()).toMatchObject({ analyses: before.analyses + 1, rows: expect.any(Number) }), { timeoutMs: 15_000 });
    expect((await deliveriesStats()).rows).toBeGreaterThanOrEqual(12_000);
    await session.as('post', `/v1/campaigns/${alert}/cancel`).expect(200);

    // Below MIN_ROWS nothing is analysed whatever the table; above it, only a write that is a fair
    // share of what the statistics count (here they know some 62,000 rows: 10,000 is not).
    const statistics = testApp.app.get(TableStatistics);
    expect(await statistics.noteBulkWrite('deliveries', TableStatistics.MIN_ROWS - 1)).toBe(false);
    await testApp.dataSource.query(
      `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, status, reason) SELECT $1, $2, $3, 'skipped', 'cancelled' FROM generate_series(1, 50000)`,
      [session.tenantId, alert, channel.id],
    );
    await testApp.dataSource.query(`ANALYZE deliveries`);
    const known = await deliveriesStats();
    expect(known.rows).toBeGreaterThan(TableStatistics.MIN_ROWS / TableStatistics.MIN_SHARE);
    expect(await statistics.noteBulkWrite('deliveries', TableStatistics.MIN_ROWS)).toBe(false);
    expect(await statistics.noteBulkWrite('deliveries', Math.ceil(known.rows * TableStatistics.MIN_SHARE))).toBe(true);
    expect((await deliveriesStats()).analyses).toBe(known.analyses + 1);
  });

  it("finds a new comune's deliveries by their ids when the statistics have not seen that comune yet", async () => {
    // The statistics know the first comune's rows (the test above); a second comune's 20,000
    // deliveries arrive unseen, too few next to the table for an analysis.
    const other = await TenantSession.create(testApp);
    const channel = await createChannel(other, { messagesPerSecond: 1000 });
    const campaignId = await createCampaign(other, { channelId: channel.id, title: 'Prima allerta', message: { type: 'text', text: 'Allerta' } });
    await testApp.dataSource.query(`ANALYZE deliveries`);
    const ids = (
      (await testApp.dataSource.query(
        `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, status) SELECT $1, $2, $3, 'queued' FROM generate_series(1, 20000) RETURNING id::text AS id`,
        [other.tenantId, campaignId, channel.id],
      )) as { id: string }[]
    ).map((row) => row.id);
    const batch = ids.slice(0, 100);
    const runner = testApp.dataSource.createQueryRunner();
    try {
      await runner.query(`PREPARE record_changes AS ${APPLY_CHANGES}`);
      const n = batch.length;
      // EXPLAIN takes no bound parameters: the arguments are written out (ids and uuids of our own).
      const list = (value: string) => `'{${Array(n).fill(value).join(',')}}'`;
      const args = [`'${other.tenantId}'`, `'{${batch.join(',')}}'`, list('queued'), list('sent'), list(`"${new Date().toISOString()}"`), `'{${batch.map((id) => `wamid.${id}`).join(',')}}'`];
      args.push(list('NULL'), list('NULL'), list('NULL'), list('NULL'), list('NULL'), list('f'));
      const [{ 'QUERY PLAN': plan }] = (await runner.query(`EXPLAIN (FORMAT JSON) EXECUTE record_changes(${args.join(', ')})`)) as { 'QUERY PLAN': unknown }[];
      const scans: string[] = [];
      const walk = (node: Record<string, unknown>) => {
        if (node['Relation Name'] === 'deliveries' && node['Node Type'] !== 'ModifyTable') scans.push(`${node['Node Type']}:${node['Index Name'] ?? ''}`);
        for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
      };
      walk((plan as { Plan: Record<string, unknown> }[])[0].Plan);
      // One primary-key lookup per id, not the comune's deliveries read through a tenant index.
      expect(scans).toEqual(['Index Scan:deliveries_pkey']);
    } finally {
      await runner.query(`DEALLOCATE ALL`).catch(() => undefined);
      await runner.release();
    }
  });
});
