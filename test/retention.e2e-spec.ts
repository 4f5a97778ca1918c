import { PURGE_WEBHOOK_EVENTS } from '@app/channels';
import { QueueName } from '@app/queue';
import { DeliveryDetailRetention } from '@app/subscribers';
import { createTestApp, FakeGraphApi, graphError, TenantSession, TestApp, waitFor } from '@app/testing';
import { allDeliveries, campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';

/**
 * Retention: deliveries of campaigns finished longer ago than DELIVERY_DETAIL_RETENTION_DAYS lose
 * recipient and error detail (counts, statuses and codes stay); raw webhook events go after
 * WEBHOOK_RETENTION_DAYS.
 */
describe('Retention of delivery detail and raw webhook events', () => {
  let testApp: TestApp;
  const fake = new FakeGraphApi();
  let session: TenantSession;

  beforeAll(async () => {
    await fake.start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url, DELIVERY_DETAIL_RETENTION_DAYS: '30', WEBHOOK_RETENTION_DAYS: '30' } });
    session = await TenantSession.create(testApp);
    await disableQuietHours(session);
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  const detailOf = async (campaignId: string) =>
    (await testApp.dataSource.query(`SELECT recipient, error_detail, error_code, status, provider_message_id FROM deliveries WHERE campaign_id = $1 ORDER BY id`, [campaignId])) as {
      recipient: string | null;
      error_detail: string | null;
      error_code: number | null;
      status: string;
      provider_message_id: string | null;
    }[];

  async function finishedCampaign(channelId: string, undeliverable: Set<string>): Promise<string> {
    fake.behave((request) => (undeliverable.has(String(request.body.to)) ? graphError(131026, 400, 'Message undeliverable') : null));
    const id = await createCampaign(session, { channelId, message: { type: 'template', template: { name: 'avviso', language: 'it' } } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 20_000 });
    return id;
  }

  it('clears recipient and error detail of old finished campaigns, keeping counts and statuses', async () => {
    const channel = await createChannel(session);
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 6);
    const undeliverable = new Set([subscribers[0].phone]);
    const old = await finishedCampaign(channel.id, undeliverable);
    const recent = await finishedCampaign(channel.id, undeliverable);
    // The first campaign finished 40 days ago.
    await testApp.dataSource.query(`UPDATE campaigns SET completed_at = now() - interval '40 days', updated_at = now() - interval '40 days' WHERE id = $1`, [old]);
    const statsBefore = (await campaignOf(session, old)).stats;
    const before = await detailOf(old);
    expect(before.filter((d) => d.recipient !== null)).toHaveLength(6);
    expect(before.filter((d) => d.error_detail !== null)).toHaveLength(1);

    const cleared = await testApp.app.get(DeliveryDetailRetention).runOnce();
    expect(cleared).toBe(6);

    const after = await detailOf(old);
    expect(after.every((d) => d.recipient === null && d.error_detail === null)).toBe(true);
    // What the reports need stays: statuses, codes, wamids, counters.
    expect(after.map((d) => [d.status, d.error_code, d.provider_message_id])).toEqual(before.map((d) => [d.status, d.error_code, d.provider_message_id]));
    expect((await campaignOf(session, old)).stats).toEqual(statsBefore);
    expect(statsBefore).toMatchObject({ recipients: 6, sent: 5, failed: 1 });
    const failed = await allDeliveries(session, old, 'failed');
    expect(failed).toEqual([expect.objectContaining({ subscriberId: subscribers[0].id, errorCode: 131026 })]);
    // The recent campaign keeps everything; a second run clears nothing more.
    expect((await detailOf(recent)).filter((d) => d.recipient !== null)).toHaveLength(6);
    expect(await testApp.app.get(DeliveryDetailRetention).runOnce()).toBe(0);
  });

  it('leaves a campaign still sending alone, however old', async () => {
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 2);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'x' } });
    await testApp.dataSource.query(
      `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, subscriber_id, recipient, status, updated_at)
       SELECT $1, $2, $3, s.id, s.phone, 'queued', now() - interval '90 days' FROM subscribers s WHERE s.channel_id = $3`,
      [session.tenantId, id, channel.id],
    );
    await testApp.dataSource.query(`UPDATE campaigns SET status = 'sending', started_at = now() - interval '90 days', updated_at = now() - interval '90 days' WHERE id = $1`, [id]);
    await testApp.app.get(DeliveryDetailRetention).runOnce();
    expect((await detailOf(id)).filter((d) => d.recipient !== null)).toHaveLength(2);
    await testApp.dataSource.query(`UPDATE campaigns SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [id]);
  });

  it('purges raw webhook events older than WEBHOOK_RETENTION_DAYS', async () => {
    const [oldEvent] = await testApp.dataSource.query(
      `INSERT INTO webhook_events (tenant_id, channel_id, body_sha256, payload, received_at, processed_at) VALUES ($1, NULL, 'x', '{}', now() - interval '31 days', now() - interval '31 days') RETURNING id`,
      [session.tenantId],
    );
    const [freshEvent] = await testApp.dataSource.query(
      `INSERT INTO webhook_events (tenant_id, channel_id, body_sha256, payload, received_at, processed_at) VALUES ($1, NULL, 'y', '{}', now() - interval '29 days', now()) RETURNING id`,
      [session.tenantId],
    );
    await testApp.transport.add(QueueName.WebhookEvents, { name: PURGE_WEBHOOK_EVENTS, data: {} });
    await waitFor(async () => expect(await testApp.dataSource.query(`SELECT id FROM webhook_events WHERE id = $1`, [oldEvent.id])).toEqual([]));
    expect(await testApp.dataSource.query(`SELECT id::text FROM webhook_events WHERE id = $1`, [freshEvent.id])).toEqual([{ id: String(freshEvent.id) }]);
  });
});
