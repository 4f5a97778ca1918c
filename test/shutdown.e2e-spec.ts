import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { join } from 'path';
import { createTestApp, FakeGraphApi, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';
import { createIsolatedDatabase } from './isolated-database';

jest.setTimeout(60_000);

/**
 * Graceful shutdown: a worker process told to stop (SIGTERM) mid-campaign finishes what it has in
 * hand, exits 0, and a new worker finishes the campaign. Nothing is lost and nobody gets a
 * message twice.
 */
describe('Worker graceful shutdown on SIGTERM', () => {
  const prefix = `shutdown-${randomBytes(4).toString('hex')}`;
  let testApp: TestApp;
  const fake = new FakeGraphApi();
  let worker: ChildProcess | null = null;
  let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;

  const startWorker = (): ChildProcess =>
    spawn(process.execPath, [join(__dirname, '../dist/apps/worker/src/main.js')], {
      env: { ...process.env, DATABASE_URL: database.url, QUEUE_PREFIX: prefix, WHATSAPP_GRAPH_URL: fake.url, DISPATCH_CONCURRENCY: '1', LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });

  beforeAll(async () => {
    await fake.start();
    database = await createIsolatedDatabase('shutdown');
    testApp = await createTestApp({ worker: false, env: { DATABASE_URL: database.url, QUEUE_PREFIX: prefix, WHATSAPP_GRAPH_URL: fake.url } });
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await testApp.close();
    await fake.stop();
    await database.drop();
  });

  it('drains in-flight sends, exits 0, and a new worker completes the campaign with exactly one message each', async () => {
    const session = await TenantSession.create(testApp);
    await disableQuietHours(session);
    const channel = await createChannel(session, { messagesPerSecond: 100 });
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1000);
    fake.latencyMs = 15;
    worker = startWorker();
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Interruzione idrica' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(80), { timeoutMs: 30_000 });

    const exited = new Promise<number | null>((resolve) => worker!.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    const atStop = fake.sent.length;
    expect(atStop).toBeLessThan(1000);
    // Every send the provider accepted before the stop is recorded (no answered request without its wamid stored).
    const acceptedAtStop = fake.sent.slice(0, atStop).map((r) => r.wamid);
    const recorded = new Set(((await testApp.dataSource.query(`SELECT provider_message_id AS wamid FROM deliveries WHERE campaign_id = $1 AND provider_message_id IS NOT NULL`, [id])) as { wamid: string }[]).map((r) => r.wamid));
    expect(acceptedAtStop.filter((wamid) => !recorded.has(wamid!))).toEqual([]);
    // Nothing is left held under the stopped worker's claims (they would wait for their lease to expire).
    const [held] = await testApp.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE campaign_id = $1 AND claimed_until > now()`, [id]);
    expect(held).toEqual({ n: 0 });

    worker = startWorker();
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 40_000, intervalMs: 250 });
    const perRecipient = new Map<string, number>();
    for (const request of fake.sent) perRecipient.set(String(request.body.to), (perRecipient.get(String(request.body.to)) ?? 0) + 1);
    // Exactly one message each: none twice at the provider, all 1000 sent with distinct wamids.
    expect(subscribers.filter((s) => (perRecipient.get(s.phone) ?? 0) !== 1)).toEqual([]);
    const [ledger] = await testApp.dataSource.query(`SELECT count(*)::int AS sent, count(DISTINCT provider_message_id)::int AS wamids FROM deliveries WHERE campaign_id = $1 AND status = 'sent'`, [id]);
    expect(ledger).toEqual({ sent: 1000, wamids: 1000 });
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 1000, sent: 1000, queued: 0, failed: 0 });
  });
});
