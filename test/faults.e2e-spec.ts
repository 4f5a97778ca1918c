import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import Redis from 'ioredis';
import { join } from 'path';
import { ANSWER_LOST, createTestApp, FakeGraphApi, graphError, TenantSession, TestApp, waitFor } from '@app/testing';
import { allDeliveries, campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';

jest.setTimeout(90_000);

/** Successful sends per recipient. */
const sendsByRecipient = (fake: FakeGraphApi): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const request of fake.sent) counts.set(String(request.body.to), (counts.get(String(request.body.to)) ?? 0) + 1);
  return counts;
};

/** How long a send whose answer was lost waits for its status webhook in these tests. */
const HOLD_SECONDS = 3;

describe('Delivery under faults: provider errors, opt-outs, lost Redis', () => {
  let testApp: TestApp;
  let fake: FakeGraphApi;
  let session: TenantSession;

  beforeAll(async () => {
    fake = await new FakeGraphApi().start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url, RECONCILE_INTERVAL_MS: '300', STUCK_DELIVERY_SECONDS: '2', UNCERTAIN_HOLD_SECONDS: String(HOLD_SECONDS) } });
    session = await TenantSession.create(testApp);
    await disableQuietHours(session);
    await session.as('patch', '/v1/tenant').send({ monthlyMessageCap: 100 }).expect(200);
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  beforeEach(() => fake.reset());

  it('retries 5xx and 130429 until delivered, records 131026 as failed without retrying', async () => {
    const channel = await createChannel(session);
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 200);
    const undeliverable = new Set(subscribers.slice(0, 3).map((s) => s.phone));
    const index = new Map(subscribers.map((s, i) => [s.phone, i]));
    fake.behave((request, attempt) => {
      const to = String(request.body.to);
      if (undeliverable.has(to)) return graphError(131026, 400, 'Message undeliverable');
      const i = index.get(to)!;
      if (attempt === 1 && i % 10 === 5) return { status: 503, body: 'Service Unavailable' };
      if (attempt <= 2 && i % 20 === 7) return graphError(130429, 400, 'Rate limit hit');
      return null;
    });
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Avviso importante' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    const done = await waitFor(
      async () => {
        const campaign = await campaignOf(session, id);
        expect(campaign.status).toBe('completed');
        return campaign;
      },
      { timeoutMs: 45_000, intervalMs: 200 },
    );
    expect(done.stats).toMatchObject({ recipients: 200, queued: 0, sent: 197, failed: 3 });
    const counts = sendsByRecipient(fake);
    for (const subscriber of subscribers) expect(counts.get(subscriber.phone) ?? 0).toBe(undeliverable.has(subscriber.phone) ? 0 : 1);
    for (const phone of undeliverable) expect(fake.requests.filter((r) => r.body.to === phone)).toHaveLength(1);
    expect(fake.requests.length).toBeGreaterThan(200);
    const failed = await allDeliveries(session, id, 'failed');
    expect(failed.map((d) => d.errorCode)).toEqual([131026, 131026, 131026]);
    // Those that went through after a retry do not keep the code of the attempt that failed.
    const sent = await allDeliveries(session, id, 'sent');
    expect(sent).toHaveLength(197);
    expect(sent.filter((d) => d.errorCode !== null)).toEqual([]);
  });

  it("records a send whose answer was lost from Meta's status webhook instead of sending it again", async () => {
    const channel = await createChannel(session);
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 60);
    const lost = new Set(subscribers.filter((_, i) => i % 6 === 0).map((s) => s.phone));
    fake.behave((request, attempt) => (attempt === 1 && lost.has(String(request.body.to)) ? ANSWER_LOST : null));
    fake.reportStatuses({ baseUrl: testApp.url, channelFor: (phoneNumberId) => (phoneNumberId === channel.phoneNumberId ? { channelId: channel.id, appSecret: channel.appSecret } : undefined) });
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Interruzione idrica' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 30_000, intervalMs: 200 });
    // Past the hold and a few reconciler passes: nothing goes out again.
    await new Promise((resolve) => setTimeout(resolve, (HOLD_SECONDS + 1) * 1000));
    await fake.statusReportsSettled();
    expect(fake.statusReportFailures).toEqual([]);
    const counts = sendsByRecipient(fake);
    for (const subscriber of subscribers) expect(counts.get(subscriber.phone)).toBe(1);
    expect(fake.requests).toHaveLength(60);
    const deliveries = await allDeliveries(session, id);
    const wamidOf = new Map(fake.sent.map((request) => [String(request.body.to), request.wamid]));
    for (const delivery of deliveries) expect(delivery).toMatchObject({ status: 'sent', providerMessageId: wamidOf.get(String(delivery.phone)) });
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 60, sent: 60, queued: 0 });
  });

  it('sends again a message whose answer was lost and whose status never came, once the hold is over', async () => {
    const channel = await createChannel(session);
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 20);
    const lost = subscribers[3].phone;
    fake.behave((request, attempt) => (attempt === 1 && request.body.to === lost ? ANSWER_LOST : null));
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Chiusura scuole' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 30_000, intervalMs: 200 });
    // Without a webhook the platform cannot know: after the hold it sends again (at least once wins).
    const attempts = fake.sentTo(lost);
    expect(attempts).toHaveLength(2);
    expect(attempts[1].receivedAt - attempts[0].receivedAt).toBeGreaterThanOrEqual(HOLD_SECONDS * 1000 - 50);
    for (const subscriber of subscribers) if (subscriber.phone !== lost) expect(fake.sentTo(subscriber.phone)).toHaveLength(1);
    const [delivery] = (await allDeliveries(session, id)).filter((d) => d.phone === lost);
    expect(delivery).toMatchObject({ status: 'sent', providerMessageId: attempts[1].wamid });
  });

  it('pauses the channel on an expired token instead of failing every delivery', async () => {
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 20);
    fake.behave(() => graphError(190, 401, 'Error validating access token'));
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'x' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(async () => expect((await session.as('get', `/v1/channels/${channel.id}`).expect(200)).body.status).toBe('paused'));
    const campaign = await campaignOf(session, id);
    expect(campaign.stats).toMatchObject({ failed: 0, queued: 20 });
    // Token fixed, channel resumed: the reconciler sends what was waiting.
    fake.behave(() => null);
    await session.as('patch', `/v1/channels/${channel.id}`).send({ status: 'active' }).expect(200);
    await waitFor(async () => expect(await campaignOf(session, id)).toMatchObject({ status: 'completed', stats: { sent: 20 } }), { timeoutMs: 20_000 });
  });

  it('sends nothing to a subscriber after their opt-out is processed', async () => {
    const channel = await createChannel(session, { messagesPerSecond: 20 });
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 40);
    const leaver = subscribers[subscribers.length - 1];
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Lungo' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(3));
    await session.as('post', `/v1/subscribers/${leaver.id}/unsubscribe`).expect(200);
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 20_000 });
    expect(fake.sentTo(leaver.phone)).toHaveLength(0);
    const skipped = await allDeliveries(session, id, 'skipped');
    expect(skipped).toEqual([expect.objectContaining({ subscriberId: leaver.id, reason: 'unsubscribed' })]);
  });

  it('sends nothing after the opt-out or erasure of subscribers whose messages were claimed already and wait for their slots', async () => {
    // 5/s: each job holds its chunk and the next one while it waits for the number's slots.
    const channel = await createChannel(session, { messagesPerSecond: 5 });
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 40);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Lento' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(2));
    const claimed = (await testApp.dataSource.query(
      `SELECT subscriber_id AS id FROM deliveries WHERE campaign_id = $1 AND status = 'queued' AND claimed_until > now() ORDER BY id`,
      [id],
    )) as { id: string }[];
    expect(claimed.length).toBeGreaterThanOrEqual(2);
    const phoneOf = new Map(subscribers.map((s) => [s.id, s.phone]));
    // Half leave through the comune, half are erased; each answer is the moment the opt-out is processed.
    const processedAt = new Map<string, number>();
    await Promise.all(
      claimed.map(async ({ id: subscriberId }, i) => {
        if (i % 2 === 0) await session.as('post', `/v1/subscribers/${subscriberId}/unsubscribe`).expect(200);
        else await session.as('delete', `/v1/subscribers/${subscriberId}`).expect(204);
        processedAt.set(subscriberId, Date.now());
      }),
    );
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 30_000 });
    for (const { id: subscriberId } of claimed) {
      const after = fake.sentTo(phoneOf.get(subscriberId)!).filter((r) => r.receivedAt > processedAt.get(subscriberId)!);
      expect(after).toEqual([]);
    }
    // Those whose message had not gone yet are skipped as unsubscribed; nobody else is.
    const skipped = await allDeliveries(session, id, 'skipped');
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    for (const delivery of skipped) {
      expect(claimed.map((c) => c.id)).toContain(delivery.subscriberId);
      expect(delivery.reason).toBe('unsubscribed');
    }
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 40, sent: 40 - skipped.length });
  });

  it('delivers everything after Redis loses the queues halfway', async () => {
    const channel = await createChannel(session, { messagesPerSecond: 100 });
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 300);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Dopo il guasto' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(60));
    const redis = new Redis(testApp.config.redisUrl!);
    const keys = await redis.keys(`{${testApp.config.queuePrefix}}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 45_000, intervalMs: 200 });
    const counts = sendsByRecipient(fake);
    for (const subscriber of subscribers) expect(counts.get(subscriber.phone) ?? 0).toBeGreaterThanOrEqual(1);
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 300, sent: 300 });
  });
});

describe('Delivery when the worker process is killed', () => {
  const prefix = `fault-${randomBytes(4).toString('hex')}`;
  const concurrency = 4;
  let testApp: TestApp;
  let fake: FakeGraphApi;
  let worker: ChildProcess | null = null;

  const startWorker = (env: Record<string, string> = {}): ChildProcess => {
    const child = spawn(process.execPath, [join(__dirname, '../dist/apps/worker/src/main.js')], {
      env: {
        ...process.env,
        QUEUE_PREFIX: prefix,
        WHATSAPP_GRAPH_URL: fake.url,
        RECONCILE_INTERVAL_MS: '300',
        STUCK_DELIVERY_SECONDS: '2',
        DISPATCH_CONCURRENCY: String(concurrency),
        // A killed worker's jobs (webhook events among them) are taken over within seconds.
        QUEUE_LOCK_SECONDS: '3',
        LOG_LEVEL: 'silent',
        ...env,
      },
      stdio: 'ignore',
    });
    return child;
  };

  beforeAll(async () => {
    fake = await new FakeGraphApi().start();
    testApp = await createTestApp({ worker: false, env: { QUEUE_PREFIX: prefix, WHATSAPP_GRAPH_URL: fake.url } });
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    await testApp.close();
    await fake.stop();
  });

  it('delivers to every recipient after a SIGKILL and restart, duplicating at most the in-flight sends', async () => {
    const session = await TenantSession.create(testApp);
    await disableQuietHours(session);
    const channel = await createChannel(session, { messagesPerSecond: 200 });
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 600);
    worker = startWorker();
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Allerta' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(150), { timeoutMs: 30_000 });
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    const atKill = fake.sent.length;
    expect(atKill).toBeLessThan(600);
    worker = startWorker();
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 45_000, intervalMs: 250 });
    const counts = sendsByRecipient(fake);
    for (const subscriber of subscribers) expect(counts.get(subscriber.phone) ?? 0).toBeGreaterThanOrEqual(1);
    const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);
    // At most one chunk per concurrent batch was in flight when the process died.
    expect(duplicates).toBeLessThanOrEqual(concurrency * 50);
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 600, sent: 600, queued: 0 });
  });

  it("sends nothing twice after a SIGKILL when Meta's status webhooks name the messages in flight", async () => {
    if (worker && worker.exitCode === null) worker.kill('SIGKILL');
    fake.reset();
    const session = await TenantSession.create(testApp);
    await disableQuietHours(session);
    const channel = await createChannel(session, { messagesPerSecond: 200 });
    fake.reportStatuses({ baseUrl: testApp.url, channelFor: (phoneNumberId) => (phoneNumberId === channel.phoneNumberId ? { channelId: channel.id, appSecret: channel.appSecret } : undefined) });
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 600);
    // The dead worker's claims are held longer than its jobs (webhook events among them) stay
    // locked to it: the restarted worker applies the webhooks before any claim lapses.
    const env = { STUCK_DELIVERY_SECONDS: '15' };
    worker = startWorker(env);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Allerta' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(150), { timeoutMs: 30_000 });
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker!.once('exit', resolve));
    expect(fake.sent.length).toBeLessThan(600);
    worker = startWorker(env);
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 60_000, intervalMs: 250 });
    await fake.statusReportsSettled();
    expect(fake.statusReportFailures).toEqual([]);
    const counts = sendsByRecipient(fake);
    for (const subscriber of subscribers) expect(counts.get(subscriber.phone)).toBe(1);
    expect(fake.sent).toHaveLength(600);
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 600, sent: 600, queued: 0 });
  });
});
