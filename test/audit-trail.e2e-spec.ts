import { createTestApp, FakeGraphApi, graphError, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';

interface AuditEntryBody {
  actorKind: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown> | null;
  occurredAt: string;
}

/** The security- and privacy-relevant actions of a comune appear in its audit log, with who did them. */
describe('Audit trail of channels, campaigns and erasures', () => {
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

  const trail = async (): Promise<AuditEntryBody[]> => (await session.as('get', '/v1/audit-log?limit=500').expect(200)).body.data;

  it('records channel changes, sends, cancels, erasures and a pipeline pause', async () => {
    const me = (await session.as('get', '/v1/auth/me').expect(200)).body as { id: string };
    // Channel created, credentials changed (names of fields only), then a send that meets an expired token.
    const channel = await createChannel(session);
    await session.as('patch', `/v1/channels/${channel.id}`).send({ accessToken: 'EAAG-new-token', name: 'Rinominato' }).expect(200);
    await session.as('patch', `/v1/channels/${channel.id}`).send({ name: 'Solo il nome' }).expect(200);
    const [subscriber] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3);

    fake.behave(() => graphError(190, 401, 'Error validating access token'));
    const paused = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Prima' } });
    await session.as('post', `/v1/campaigns/${paused}/send`).expect(202);
    await waitFor(async () => expect((await session.as('get', `/v1/channels/${channel.id}`).expect(200)).body.status).toBe('paused'));
    await session.as('post', `/v1/campaigns/${paused}/cancel`).expect(200);
    fake.behave(() => null);
    await session.as('patch', `/v1/channels/${channel.id}`).send({ status: 'active' }).expect(200);

    // A campaign sent through an API key, then an erasure and the channel removed.
    const apiKey = await session.apiKey();
    const sent = await createCampaign(session, { channelId: channel.id, message: { type: 'template', template: { name: 'avviso', language: 'it' } } });
    await testApp.http().post(`/v1/campaigns/${sent}/send`).set('X-API-Key', apiKey).expect(202);
    await waitFor(async () => expect((await campaignOf(session, sent)).status).toBe('completed'), { timeoutMs: 20_000 });
    await session.as('delete', `/v1/subscribers/${subscriber.id}`).expect(204);
    await session.as('delete', `/v1/channels/${channel.id}`).expect(204);

    const entries = await trail();
    const actions = entries.map((e) => e.action);
    const find = (action: string, targetId?: string) => entries.find((e) => e.action === action && (!targetId || e.targetId === targetId));
    expect(find('channel.created', channel.id)).toMatchObject({ actorKind: 'user', actorId: me.id, targetType: 'channel' });
    // One credentials entry (the rename alone is not a credential change), naming the field, never the value.
    const credentials = entries.filter((e) => e.action === 'channel.credentials-changed');
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ actorKind: 'user', actorId: me.id, targetId: channel.id, details: { fields: ['accessToken'] } });
    expect(JSON.stringify(entries)).not.toContain('EAAG-new-token');
    expect(find('channel.paused', channel.id)).toMatchObject({ actorKind: 'system', actorId: null, details: expect.objectContaining({ code: 190 }) });
    expect(actions.filter((a) => a === 'channel.paused')).toHaveLength(1);
    expect(find('campaign.sent', paused)).toMatchObject({ actorKind: 'user', actorId: me.id, targetType: 'campaign' });
    expect(find('campaign.cancelled', paused)).toMatchObject({ actorKind: 'user', actorId: me.id });
    expect(find('campaign.sent', sent)).toMatchObject({ actorKind: 'api_key' });
    expect(find('subscriber.erased', subscriber.id)).toMatchObject({ actorKind: 'user', actorId: me.id, targetType: 'subscriber' });
    expect(JSON.stringify(entries)).not.toContain(subscriber.phone);
    expect(find('channel.deleted', channel.id)).toMatchObject({ actorKind: 'user', actorId: me.id });
    // Newest first.
    expect(actions.indexOf('channel.created')).toBeGreaterThan(actions.indexOf('channel.paused'));
    expect(actions.indexOf('subscriber.erased')).toBeGreaterThan(actions.indexOf('channel.deleted'));
  }, 60_000);

  it('pages through the trail newest first, each entry once', async () => {
    const all = await trail();
    expect(all.length).toBeGreaterThan(3);
    const paged: AuditEntryBody[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: AuditEntryBody[]; nextCursor: string | null } } = await session.as('get', `/v1/audit-log?limit=2${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      paged.push(...page.body.data);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(all);
    const times = all.map((entry) => Date.parse(entry.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('records nothing for a refused action', async () => {
    const before = (await trail()).length;
    const viewer = await session.member('viewer');
    await testApp.http().post('/v1/channels').set('Authorization', `Bearer ${viewer}`).send({ name: 'x', provider: 'sandbox' }).expect(403);
    await session.as('delete', '/v1/subscribers/5b0e6f1c-7a43-4d2b-9c1e-3f2a8d9e0b17').expect(404);
    await session.as('post', '/v1/campaigns/5b0e6f1c-7a43-4d2b-9c1e-3f2a8d9e0b17/send').expect(404);
    const after = await trail();
    // Only the viewer's creation is new (first: newest first).
    expect(after.slice(0, after.length - before).map((e) => e.action)).toEqual(['user.created']);
  });

  it('erases the subscribers of a deleted channel as leaving, and says in the trail what went with it', async () => {
    const channel = await createChannel(session);
    const stays = await session.as('post', '/v1/subscribers').send({ channelId: channel.id, phone: '347 123 0001' }).expect(201);
    const left = await session.as('post', '/v1/subscribers').send({ channelId: channel.id, phone: '347 123 0002' }).expect(201);
    await session.as('post', `/v1/subscribers/${left.body.id}/unsubscribe`).expect(200);
    await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Bozza' } });
    const today = async () => (await session.as('get', '/v1/analytics/subscribers').expect(200)).body.data.at(-1) as { joined: number; left: number; active: number };
    const before = await today();

    await session.as('delete', `/v1/channels/${channel.id}`).expect(204);
    // The one still active left today (the series stays joined - left = active); the other had left already.
    expect(await today()).toEqual({ ...before, left: before.left + 1, active: before.active - 1 });
    await session.as('get', `/v1/subscribers/${stays.body.id}`).expect(404);
    const deleted = (await trail()).find((e) => e.action === 'channel.deleted' && e.targetId === channel.id);
    expect(deleted?.details).toEqual({ subscribers: 2, activeSubscribers: 1, campaigns: 1 });
  });
});
