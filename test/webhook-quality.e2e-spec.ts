import { createTestApp, signedWebhook, TenantSession, TestApp, waitFor } from '@app/testing';

/** `phone_number_quality_update` (whatsapp-cloud-api.md §4, §6.1): Meta's flags and tiers reach the channel. */
describe("Meta's phone-number quality and messaging-limit updates", () => {
  let testApp: TestApp;
  let session: TenantSession;
  let channelId: string;
  const wabaId = `8${Date.now()}`;
  const appSecret = 'quality-app-secret';

  const qualityUpdate = (event: string, limit: string) => ({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: wabaId,
        time: 1791448200,
        changes: [{ field: 'phone_number_quality_update', value: { display_phone_number: '390587123450', event, max_daily_conversations_per_business: limit } }],
      },
    ],
  });

  const channelHealth = async () => {
    const operator = await TenantSession.operatorToken(testApp);
    const health = (await testApp.http().get('/v1/admin/health').set('Authorization', `Bearer ${operator}`).expect(200)).body;
    return (health.channels as { id: string; qualityRating: string | null; messagingLimitTier: string | null }[]).find((c) => c.id === channelId);
  };

  beforeAll(async () => {
    testApp = await createTestApp();
    session = await TenantSession.create(testApp);
    const created = await session
      .as('post', '/v1/channels')
      .send({ name: 'WhatsApp', provider: 'whatsapp_cloud', phoneNumberId: `6${Date.now()}`, wabaId, displayPhoneNumber: '+39 0587 123450', accessToken: 't', appSecret, verifyToken: 'v' })
      .expect(201);
    channelId = created.body.id;
  });

  afterAll(async () => {
    await testApp.close();
  });

  it("records a flag and the tier from the channel's URL and from the platform URL, in the audit log too", async () => {
    const flagged = signedWebhook(qualityUpdate('FLAGGED', 'TIER_10K'), appSecret);
    await testApp.http().post(`/v1/webhooks/whatsapp/${channelId}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', flagged.signature).send(flagged.bytes.toString()).expect(200);
    await waitFor(async () => expect(await channelHealth()).toMatchObject({ qualityRating: 'RED', messagingLimitTier: 'TIER_10K' }));

    // WABA-level fields come to the app's callback: routed by entry.id and the display number.
    const unflagged = signedWebhook(qualityUpdate('UNFLAGGED', 'TIER_100K'), appSecret);
    await testApp.http().post('/v1/webhooks/whatsapp').set('Content-Type', 'application/json').set('X-Hub-Signature-256', unflagged.signature).send(unflagged.bytes.toString()).expect(200);
    await waitFor(async () => expect(await channelHealth()).toMatchObject({ qualityRating: 'GREEN', messagingLimitTier: 'TIER_100K' }));

    const audit = (await session.as('get', '/v1/audit-log').expect(200)).body.data as { action: string; details: Record<string, unknown> }[];
    expect(audit.filter((entry) => entry.action === 'channel.quality-changed').map((entry) => entry.details.event)).toEqual(['UNFLAGGED', 'FLAGGED']);
  });

  it('ignores a quality update signed with another secret', async () => {
    const forged = signedWebhook(qualityUpdate('FLAGGED', 'TIER_250'), 'someone-else');
    await testApp.http().post('/v1/webhooks/whatsapp').set('Content-Type', 'application/json').set('X-Hub-Signature-256', forged.signature).send(forged.bytes.toString()).expect(401);
    expect(await channelHealth()).toMatchObject({ qualityRating: 'GREEN', messagingLimitTier: 'TIER_100K' });
  });
});
