import { randomBytes } from 'crypto';
import { Client } from 'pg';
import { createTestApp, FakeGraphApi, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';
import { createIsolatedDatabase } from './isolated-database';

jest.setTimeout(60_000);

const CONCURRENCY = 4;

/**
 * The database drops every connection of the application mid-campaign (what a PostgreSQL restart
 * or failover does to clients): simulated by terminating this app's backends from an
 * administrator connection, in a database of its own, so that other test files are untouched. The
 * campaign still completes and every recipient gets the message exactly once.
 */
describe('PostgreSQL connections lost during a campaign', () => {
  const applicationName = `filodiretto-dbrestart-${randomBytes(4).toString('hex')}`;
  let testApp: TestApp;
  const fake = new FakeGraphApi();
  let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;

  /** Terminates every backend of this app (API and in-process worker share its pool); returns how many. */
  async function dropConnections(): Promise<number> {
    const url = new URL(process.env.TEST_ADMIN_DATABASE_URL!);
    url.pathname = `/${database.name}`;
    const admin = new Client({ connectionString: url.href });
    await admin.connect();
    try {
      const rows = await admin.query(`SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`, [applicationName]);
      return rows.rows.filter((r: { done: boolean }) => r.done).length;
    } finally {
      await admin.end();
    }
  }

  beforeAll(async () => {
    await fake.start();
    database = await createIsolatedDatabase('dbrestart');
    const url = new URL(database.url);
    url.searchParams.set('application_name', applicationName);
    testApp = await createTestApp({ env: { DATABASE_URL: url.href, WHATSAPP_GRAPH_URL: fake.url, RECONCILE_INTERVAL_MS: '300', STUCK_DELIVERY_SECONDS: '3', DISPATCH_CONCURRENCY: String(CONCURRENCY) } });
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
    await database.drop();
  });

  it('completes the campaign, reaching every recipient, after the connections drop twice', async () => {
    const session = await TenantSession.create(testApp);
    await disableQuietHours(session);
    const channel = await createChannel(session, { messagesPerSecond: 100 });
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 800);
    fake.latencyMs = 10;
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Allerta neve' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);

    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(150), { timeoutMs: 30_000 });
    expect(await dropConnections()).toBeGreaterThan(0);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(450), { timeoutMs: 30_000 });
    await dropConnections();

    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 45_000, intervalMs: 300 });
    const perRecipient = new Map<string, number>();
    for (const request of fake.sent) perRecipient.set(String(request.body.to), (perRecipient.get(String(request.body.to)) ?? 0) + 1);
    // Everyone got the message exactly once: the outcomes Meta accepted (their wamids) are recorded
    // on a fresh connection when the one in use dies (DeliveryLedger.applyDurably), so the
    // reconciler never finds an accepted message without its wamid.
    expect(subscribers.filter((s) => (perRecipient.get(s.phone) ?? 0) < 1).map((s) => s.phone)).toEqual([]);
    const duplicates = [...perRecipient.values()].reduce((sum, n) => sum + n - 1, 0);
    expect(duplicates).toBe(0);
    const [ledger] = await testApp.dataSource.query(`SELECT count(*)::int AS sent, count(DISTINCT provider_message_id)::int AS wamids FROM deliveries WHERE campaign_id = $1 AND status = 'sent'`, [id]);
    expect(ledger).toEqual({ sent: 800, wamids: 800 });
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 800, sent: 800, queued: 0, failed: 0 });
    // The API answers again on fresh connections.
    await session.as('get', '/v1/campaigns').expect(200);
    await testApp.http().get('/health').expect(200);
  });
});
