import { createTestApp, fixtureBytes, signedWebhook, TenantSession, TestApp } from '@app/testing';

describe('Webhook routes under a flood of forged calls', () => {
  let testApp: TestApp;
  let channelId: string;
  const appSecret = 'secret-of-the-comune';

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false });
    const session = await TenantSession.create(testApp);
    const created = await session
      .as('post', '/v1/channels')
      .send({
        name: 'WhatsApp del Comune',
        provider: 'whatsapp_cloud',
        phoneNumberId: `9${Date.now()}`,
        wabaId: '104938275610492',
        displayPhoneNumber: '390587123450',
        accessToken: 'token',
        appSecret,
        verifyToken: 'verify',
      })
      .expect(201);
    channelId = created.body.id;
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('answers 429 to an address that keeps sending forged bodies, and never slows signed traffic from others', async () => {
    const body = fixtureBytes('webhook-status-delivered.json');
    const forged = () =>
      testApp
        .http()
        .post(`/v1/webhooks/whatsapp/${channelId}`)
        .set('X-Forwarded-For', '203.0.113.5')
        .set('Content-Type', 'application/json')
        .set('X-Hub-Signature-256', 'sha256=' + '0'.repeat(64))
        .send(body.toString('utf8'));
    const statuses: number[] = [];
    for (let i = 0; i < 62; i++) statuses.push((await forged()).status);
    expect(statuses.slice(0, 60).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(60)).toEqual([429, 429]);

    const { signature } = signedWebhook(body, appSecret);
    for (let i = 0; i < 80; i++) {
      await testApp
        .http()
        .post(`/v1/webhooks/whatsapp/${channelId}`)
        .set('X-Forwarded-For', '198.51.100.7')
        .set('Content-Type', 'application/json')
        .set('X-Hub-Signature-256', signature)
        .send(body.toString('utf8'))
        .expect(200);
    }
    const [stored] = await testApp.dataSource.query(`SELECT count(*)::int AS n FROM webhook_events WHERE channel_id = $1`, [channelId]);
    expect(stored.n).toBe(80);
  });
});
