import { FakeGraphApi, createTestApp, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';

jest.setTimeout(90_000);

/**
 * Worker slots are shared by every comune: a big campaign on one number must not hold them all
 * while it waits for that number's send rate, leaving other numbers idle (a regional alert sent by
 * many comuni at once). Four slots here; a number runs at most two jobs with a third waiting, its other batches are
 * put back for later and still sent, each delivery once.
 */
describe('Dispatch slots shared between numbers', () => {
  let testApp: TestApp;
  let fake: FakeGraphApi;
  let session: TenantSession;

  beforeAll(async () => {
    fake = await new FakeGraphApi().start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url, DISPATCH_CONCURRENCY: '4', RECONCILE_INTERVAL_MS: '60000' } });
    session = await TenantSession.create(testApp);
    await disableQuietHours(session);
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  it("sends a small campaign on another number while a big one waits for its own number's rate", async () => {
    // 850 recipients at 100/s: four batches (250, 250, 250, 100), about 9 s of sending on that number.
    const busy = await createChannel(session, { messagesPerSecond: 100 });
    const busySubscribers = await seedSubscribers(testApp.dataSource, session.tenantId, busy.id, 850);
    const other = await createChannel(session, { messagesPerSecond: 100 });
    const otherSubscribers = await seedSubscribers(testApp.dataSource, session.tenantId, other.id, 10);
    const big = await createCampaign(session, { channelId: busy.id, message: { type: 'text', text: 'Allerta meteo: chiusura parchi.' } });
    const small = await createCampaign(session, { channelId: other.id, message: { type: 'text', text: 'Interruzione idrica in via Roma.' } });

    await session.as('post', `/v1/campaigns/${big}/send`).expect(202);
    // The big campaign's batches have taken the slots they may.
    await waitFor(() => expect(fake.sent.length).toBeGreaterThan(0));
    await session.as('post', `/v1/campaigns/${small}/send`).expect(202);

    await waitFor(async () => expect((await campaignOf(session, small)).status).toBe('completed'));
    expect((await campaignOf(session, big)).status).toBe('sending');
    for (const subscriber of otherSubscribers) expect(fake.sentTo(subscriber.phone)).toHaveLength(1);
    // The small campaign was not queued behind a whole batch of the big one: had the big one held
    // all four slots, its shortest batch (100 messages) would have gone first, and with the three
    // others about 400 messages.
    const firstOther = fake.sent.findIndex((request) => request.phoneNumberId === other.phoneNumberId);
    const busyBefore = fake.sent.slice(0, firstOther).filter((request) => request.phoneNumberId === busy.phoneNumberId).length;
    expect(busyBefore).toBeLessThan(100);

    // Batches put back are sent later: every recipient of the big campaign once, none twice.
    const done = await waitFor(
      async () => {
        const campaign = await campaignOf(session, big);
        expect(campaign.status).toBe('completed');
        return campaign;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(done.stats).toMatchObject({ recipients: 850, queued: 0, sent: 850, failed: 0, skipped: 0 });
    for (const subscriber of busySubscribers) expect(fake.sentTo(subscriber.phone)).toHaveLength(1);
  });
});
