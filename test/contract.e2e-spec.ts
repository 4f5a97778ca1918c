import { createTestApp, FakeGraphApi, fixtureBytes, signedWebhook, TenantSession, TestApp, waitFor } from '@app/testing';

/**
 * A walk through CONTRACT.md as an integrator would make it, checking the exact shapes and
 * status codes the contract fixes (other suites go deep on each capability).
 */
describe('Public API contract walkthrough', () => {
  let testApp: TestApp;
  let session: TenantSession;
  const fake = new FakeGraphApi();
  const phoneNumberId = `7${Date.now()}`;
  const appSecret = 'contract-app-secret';

  beforeAll(async () => {
    await fake.start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url } });
    session = await TenantSession.create(testApp, { population: 1000 });
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  it('channels, topics, subscribers, webhooks, campaigns and analytics answer as the contract says', async () => {
    // Channels: 201 without secrets, default rate, unique phoneNumberId.
    const channelBody = {
      name: 'WhatsApp del Comune',
      provider: 'whatsapp_cloud',
      phoneNumberId,
      wabaId: '104938275610492',
      displayPhoneNumber: '390587123450',
      accessToken: 'EAAG-contract-token',
      appSecret,
      verifyToken: 'contract-verify',
    };
    const channel = (await session.as('post', '/v1/channels').send(channelBody).expect(201)).body;
    expect(channel).toMatchObject({ id: expect.any(String), name: 'WhatsApp del Comune', provider: 'whatsapp_cloud', phoneNumberId, messagesPerSecond: 80 });
    expect(JSON.stringify(channel)).not.toMatch(/EAAG-contract-token|contract-app-secret|contract-verify/);
    const duplicate = await session.as('post', '/v1/channels').send(channelBody).expect(409);
    expect(duplicate.body.message).toContain('phoneNumberId');
    expect((await session.as('get', '/v1/channels').expect(200)).body).toEqual({ data: [expect.objectContaining({ id: channel.id })], nextCursor: null });
    await session.as('get', `/v1/channels/${channel.id}`).expect(200);

    // Webhook handshake.
    const handshake = await testApp
      .http()
      .get(`/v1/webhooks/whatsapp/${channel.id}`)
      .query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'contract-verify', 'hub.challenge': '1158201444' })
      .expect(200);
    expect(handshake.text).toBe('1158201444');
    await testApp.http().get(`/v1/webhooks/whatsapp/${channel.id}`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': 'x' }).expect(403);

    // Topics and subscribers.
    expect((await session.as('post', '/v1/topics').send({ key: 'meteo', name: 'Allerte meteo' }).expect(201)).body).toMatchObject({ key: 'meteo', name: 'Allerte meteo' });
    expect((await session.as('get', '/v1/topics').expect(200)).body.data).toEqual([expect.objectContaining({ key: 'meteo' })]);
    const subscriber = (await session.as('post', '/v1/subscribers').send({ channelId: channel.id, phone: '0039 347 123 4567', name: 'Giulia', topics: ['meteo'], consentSource: 'api' }).expect(201)).body;
    expect(subscriber).toMatchObject({
      id: expect.any(String),
      channelId: channel.id,
      phone: '+393471234567',
      name: 'Giulia',
      status: 'active',
      topics: ['meteo'],
      consentSource: 'api',
      subscribedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    await session.as('post', '/v1/subscribers').send({ channelId: channel.id, phone: '+39 347 123 4567' }).expect(409);
    const invalid = await session.as('post', '/v1/subscribers').send({ channelId: channel.id, phone: '12' }).expect(400);
    expect(JSON.stringify(invalid.body.message)).toContain('phone');
    const listed = await session.as('get', `/v1/subscribers?channelId=${channel.id}&status=active&topic=meteo&limit=10`).expect(200);
    expect(listed.body).toEqual({ data: [expect.objectContaining({ id: subscriber.id })], nextCursor: null });
    await session.as('patch', `/v1/subscribers/${subscriber.id}`).send({ name: 'Giulia B.' }).expect(200);
    const exported = (await session.as('get', `/v1/subscribers/${subscriber.id}/export`).expect(200)).body;
    expect(JSON.stringify(exported)).toContain('+393471234567');

    // A citizen subscribes by keyword over the signed webhook, and gets the welcome.
    const inbound = fixtureBytes('webhook-text-inbound.json').toString('utf8').replaceAll('118204937561023', phoneNumberId);
    const { signature } = signedWebhook(inbound, appSecret);
    await testApp.http().post(`/v1/webhooks/whatsapp/${channel.id}`).set('Content-Type', 'application/json').send(inbound).expect(401);
    await testApp.http().post(`/v1/webhooks/whatsapp/${channel.id}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signature).send(inbound).expect(200);
    await waitFor(() => expect(fake.sentTo('+393478215604')).toHaveLength(1));
    expect(fake.sentTo('+393478215604')[0].authorization).toBe('Bearer EAAG-contract-token');

    // Campaigns: draft → send (202) → completed, deliveries, a second send is 409.
    const campaign = (
      await session
        .as('post', '/v1/campaigns')
        .send({ channelId: channel.id, title: 'Interruzione idrica', message: { type: 'template', template: { name: 'avviso_interruzione_idrica', language: 'it', bodyParameters: ['via Roma'] } }, priority: 'emergency' })
        .expect(201)
    ).body;
    expect(campaign).toMatchObject({ id: expect.any(String), status: 'draft' });
    expect((await session.as('post', `/v1/campaigns/${campaign.id}/send`).expect(202)).body).toMatchObject({ id: campaign.id, status: 'sending' });
    await session.as('post', `/v1/campaigns/${campaign.id}/send`).expect(409);
    const done = await waitFor(async () => {
      const state = (await session.as('get', `/v1/campaigns/${campaign.id}`).expect(200)).body;
      expect(state.status).toBe('completed');
      return state;
    });
    expect(done).toMatchObject({ id: campaign.id, title: 'Interruzione idrica', priority: 'emergency' });
    expect(done.stats).toEqual({ recipients: 2, queued: 0, sent: 2, delivered: 0, read: 0, failed: 0, skipped: 0 });
    const deliveries = (await session.as('get', `/v1/campaigns/${campaign.id}/deliveries?status=sent`).expect(200)).body;
    expect(deliveries.nextCursor).toBeNull();
    expect(deliveries.data).toHaveLength(2);
    for (const delivery of deliveries.data) {
      expect(Object.keys(delivery)).toEqual(expect.arrayContaining(['subscriberId', 'phone', 'status', 'providerMessageId', 'errorCode', 'reason', 'updatedAt']));
      expect(delivery).toMatchObject({ status: 'sent', providerMessageId: expect.stringMatching(/^wamid\./), errorCode: null });
    }

    // Unsubscribe, erase.
    expect((await session.as('post', `/v1/subscribers/${subscriber.id}/unsubscribe`).expect(200)).body).toMatchObject({ status: 'unsubscribed' });
    await session.as('delete', `/v1/subscribers/${subscriber.id}`).expect(204);
    await session.as('get', `/v1/subscribers/${subscriber.id}`).expect(404);

    // Analytics.
    const overview = (await session.as('get', '/v1/analytics/overview').expect(200)).body;
    expect(overview).toEqual({
      subscribers: { active: 1, unsubscribed: 0, pending: 0 },
      adoptionRate: 0.001,
      messages: { sent: 2, delivered: 0, read: 0, failed: 0 },
      campaigns: { total: 1, completed: 1 },
    });
    const series = (await session.as('get', '/v1/analytics/subscribers?interval=day').expect(200)).body;
    expect(series.data.at(-1)).toEqual({ date: expect.stringMatching(/^\d{4}-\d\d-\d\d$/), joined: expect.any(Number), left: expect.any(Number), active: 1 });

    // Operator health.
    const operator = await TenantSession.operatorToken(testApp);
    const health = (await testApp.http().get('/v1/admin/health').set('Authorization', `Bearer ${operator}`).expect(200)).body;
    expect(health).toMatchObject({ queues: expect.any(Array), throughput: { lastMinute: expect.any(Number), last5Minutes: expect.any(Number) }, providerErrors: expect.any(Array), channels: expect.any(Array) });
    expect(health.queues[0]).toEqual({ name: expect.any(String), waiting: expect.any(Number), active: expect.any(Number), delayed: expect.any(Number), failed: expect.any(Number) });
  });

  it('lets a citizen sign up on the comune page, pending until they confirm', async () => {
    const page = await testApp.http().get(`/c/${session.slug}`).expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    const response = await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: '333 512 0987', name: 'Francesca', privacyAccepted: true }).expect(202);
    expect(response.body).toMatchObject({ status: 'pending' });
    await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: '333 512 0988', privacyAccepted: false }).expect(400);
  });
});
