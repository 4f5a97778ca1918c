import { Clock } from '@app/core';
import { createTestApp, FakeGraphApi, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, FakeClock, seedSubscribers } from './campaign-fixtures';

jest.setTimeout(60_000);

describe('Campaign timing: quiet hours and scheduledAt, with an injected clock', () => {
  // 22:30 in Rome (winter time): inside the default quiet hours 21:00-08:00.
  const clock = new FakeClock(new Date('2026-01-15T21:30:00Z'));
  let testApp: TestApp;
  let fake: FakeGraphApi;
  let session: TenantSession;

  beforeAll(async () => {
    fake = await new FakeGraphApi().start();
    testApp = await createTestApp({
      env: { WHATSAPP_GRAPH_URL: fake.url, RECONCILE_INTERVAL_MS: '200', STUCK_DELIVERY_SECONDS: '1' },
      overrides: [{ provide: Clock, useValue: clock }],
    });
    session = await TenantSession.create(testApp);
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  it('defers normal campaigns past quiet hours while emergencies go at once', async () => {
    const channel = await createChannel(session);
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3, { lastInboundAt: new Date('2026-01-15T20:00:00Z') });
    const normal = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Mercato spostato' } });
    const deferred = await session.as('post', `/v1/campaigns/${normal}/send`).expect(202);
    expect(deferred.body).toMatchObject({ id: normal, status: 'scheduled', scheduledAt: '2026-01-16T07:00:00.000Z' });
    // The answer says why it waits (a "send now" that does not go now).
    expect(deferred.body.warnings).toEqual([
      'Quiet hours (21:00–08:00, Europe/Rome): normal campaigns wait, and this one goes on at 08:00 (2026-01-16T07:00:00.000Z). Emergencies are not held',
    ]);

    const emergency = await createCampaign(session, { channelId: channel.id, priority: 'emergency', message: { type: 'text', text: 'Esondazione: salire ai piani alti' } });
    await session.as('post', `/v1/campaigns/${emergency}/send`).expect(202);
    await waitFor(async () => expect(await campaignOf(session, emergency)).toMatchObject({ status: 'completed', stats: { sent: 3 } }));
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(fake.sent.filter((r) => (r.body.text as { body: string }).body === 'Mercato spostato')).toHaveLength(0);
    expect((await campaignOf(session, normal)).status).toBe('scheduled');

    // 08:05 in Rome: the scheduler's sweep launches it (subscribers wrote within 24 h of then).
    clock.set('2026-01-16T07:05:00Z');
    await waitFor(async () => expect(await campaignOf(session, normal)).toMatchObject({ status: 'completed', stats: { sent: 3 } }));
    for (const subscriber of subscribers) expect(fake.sentTo(subscriber.phone)).toHaveLength(2);
  });

  it('honours scheduledAt', async () => {
    clock.set('2026-01-16T09:00:00Z');
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 2, { lastInboundAt: new Date('2026-01-16T08:00:00Z') });
    const id = await createCampaign(session, { channelId: channel.id, scheduledAt: '2026-01-16T10:00:00Z', message: { type: 'text', text: 'Alle 11' } });
    const scheduled = await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    expect(scheduled.body).toMatchObject({ status: 'scheduled', scheduledAt: '2026-01-16T10:00:00.000Z' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await campaignOf(session, id)).status).toBe('scheduled');
    clock.set('2026-01-16T10:00:01Z');
    await waitFor(async () => expect(await campaignOf(session, id)).toMatchObject({ status: 'completed', stats: { sent: 2 } }));
  });

  it("reads a scheduledAt without an offset as the comune's local time", async () => {
    clock.set('2026-01-16T09:00:00Z');
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1, { lastInboundAt: new Date('2026-01-16T08:30:00Z') });
    // 12:00 in Rome in winter is 11:00 UTC.
    const created = await session.as('post', '/v1/campaigns').send({ channelId: channel.id, title: 'Mezzogiorno', scheduledAt: '2026-01-16T12:00', message: { type: 'text', text: 'A mezzogiorno' } }).expect(201);
    expect(created.body.scheduledAt).toBe('2026-01-16T11:00:00.000Z');
    const patched = await session.as('patch', `/v1/campaigns/${created.body.id}`).send({ scheduledAt: '2026-01-16T12:30:00' }).expect(200);
    expect(patched.body.scheduledAt).toBe('2026-01-16T11:30:00.000Z');
    const scheduled = await session.as('post', `/v1/campaigns/${created.body.id}/send`).expect(202);
    expect(scheduled.body).toMatchObject({ status: 'scheduled', scheduledAt: '2026-01-16T11:30:00.000Z' });
    clock.set('2026-01-16T11:29:00Z');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await campaignOf(session, created.body.id)).status).toBe('scheduled');
    clock.set('2026-01-16T11:30:01Z');
    await waitFor(async () => expect(await campaignOf(session, created.body.id)).toMatchObject({ status: 'completed', stats: { sent: 1 } }));

    // A time already past (a mistyped year) is refused, at creation and in a change; the last minute counts as now.
    clock.set('2026-01-16T12:00:00Z');
    const past = await session.as('post', '/v1/campaigns').send({ channelId: channel.id, title: 'x', scheduledAt: '2025-01-16T12:00', message: { type: 'text', text: 'x' } }).expect(400);
    expect(past.body).toMatchObject({ message: 'scheduledAt 2025-01-16T11:00:00.000Z is in the past: give a time to come, or leave scheduledAt out to send when the campaign is sent' });
    const draft = await session.as('post', '/v1/campaigns').send({ channelId: channel.id, title: 'x', scheduledAt: '2026-01-16T11:59:30Z', message: { type: 'text', text: 'x' } }).expect(201);
    await session.as('patch', `/v1/campaigns/${draft.body.id}`).send({ scheduledAt: '2026-01-16T11:58:00Z' }).expect(400);
    expect((await session.as('get', `/v1/campaigns/${draft.body.id}`).expect(200)).body.scheduledAt).toBe('2026-01-16T11:59:30.000Z');

    // A date without a time, or a day that does not exist, is refused naming the field.
    for (const scheduledAt of ['2026-01-17', '2026-02-30T08:00', '17/01/2026 08:00']) {
      const refused = await session.as('post', '/v1/campaigns').send({ channelId: channel.id, title: 'x', scheduledAt, message: { type: 'text', text: 'x' } }).expect(400);
      expect(JSON.stringify(refused.body)).toContain('scheduledAt');
    }
  });
});
