import { FakeGraphApi, createTestApp, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';

jest.setTimeout(60_000);

/**
 * When many comuni press send at once, a process writes at most LAUNCH_CONCURRENCY campaigns'
 * deliveries at a time (one here): the others wait their turn before opening a transaction.
 * An emergency never waits behind them.
 */
describe('Campaign fan-outs taking turns', () => {
  let testApp: TestApp;
  let fake: FakeGraphApi;
  let session: TenantSession;

  beforeAll(async () => {
    fake = await new FakeGraphApi().start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url, LAUNCH_CONCURRENCY: '1', RECONCILE_INTERVAL_MS: '60000' } });
    session = await TenantSession.create(testApp);
    await disableQuietHours(session);
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  it('holds the next normal fan-out while one runs, and lets an emergency through', async () => {
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 5);
    const message = { type: 'text', text: 'Allerta meteo arancione' };
    const first = await createCampaign(session, { channelId: channel.id, message });
    const second = await createCampaign(session, { channelId: channel.id, message });
    const emergency = await createCampaign(session, { channelId: channel.id, message, priority: 'emergency' });

    // Another transaction holds the first campaign's row: its fan-out (holding the only turn)
    // waits for it inside its own transaction.
    const holder = testApp.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    let released = false;
    try {
      await holder.query(`SELECT id FROM campaigns WHERE id = $1 FOR UPDATE`, [first]);
      const firstSend = session.as('post', `/v1/campaigns/${first}/send`).then((response) => response.status);
      await waitFor(async () => {
        // (The launcher's locking SELECT is longer than the activity view keeps of a query's text.)
        const [row] = (await testApp.dataSource.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT "campaign"."id"%'`,
        )) as { n: number }[];
        expect(row.n).toBe(1);
      });
      const secondSend = session.as('post', `/v1/campaigns/${second}/send`).then((response) => response.status);

      await session.as('post', `/v1/campaigns/${emergency}/send`).expect(202);
      await waitFor(async () => expect((await campaignOf(session, emergency)).status).toBe('completed'));
      // The second normal campaign was sent before the emergency, yet has not started: it waits its turn.
      expect((await campaignOf(session, second)).status).toBe('draft');
      const [written] = (await testApp.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE campaign_id = ANY($1)`, [[first, second]])) as { n: number }[];
      expect(written.n).toBe(0);

      await holder.commitTransaction();
      released = true;
      expect(await firstSend).toBe(202);
      expect(await secondSend).toBe(202);
    } finally {
      if (!released) await holder.rollbackTransaction();
      await holder.release();
    }
    for (const id of [first, second]) {
      await waitFor(async () => expect(await campaignOf(session, id)).toMatchObject({ status: 'completed', stats: { recipients: 5, sent: 5 } }));
    }
  });
});
