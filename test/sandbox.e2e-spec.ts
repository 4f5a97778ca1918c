import { createTestApp, FakeGraphApi, TenantSession, TestApp, waitFor } from '@app/testing';

describe('Sandbox channel: the simulated phone goes through the real inbound handling', () => {
  let testApp: TestApp;
  const fake = new FakeGraphApi();

  beforeAll(async () => {
    await fake.start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url } });
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  it('subscribes from the simulated phone, shows the welcome, answers questions, unsubscribes', async () => {
    const session = await TenantSession.create(testApp);
    const channel = (await session.as('post', '/v1/channels').send({ name: 'Prova sandbox', provider: 'sandbox' }).expect(201)).body;
    expect(channel).toMatchObject({ provider: 'sandbox', messagesPerSecond: 80 });
    const conversation = async () => (await session.as('get', `/v1/sandbox/${channel.id}/conversations/${encodeURIComponent('+39 347 000 0001')}`).expect(200)).body;

    const sent = await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '347 000 0001', name: 'Giulia', text: '  attiva   iscrizione ' }).expect(202);
    expect(sent.body).toMatchObject({ wamid: expect.stringMatching(/^wamid\.sandbox\./), contact: '+393470000001' });
    await waitFor(async () => expect((await conversation()).data).toHaveLength(2));
    const [inbound, welcome] = (await conversation()).data;
    expect(inbound).toMatchObject({ direction: 'inbound', text: '  attiva   iscrizione ' });
    expect(welcome).toMatchObject({ direction: 'outbound', contact: '+393470000001', wamid: expect.stringMatching(/^wamid\.sandbox\./), text: expect.stringContaining(`Comune`) });
    expect(welcome.text).toContain('DISATTIVA ISCRIZIONE');
    const subscribers = (await session.as('get', `/v1/subscribers?channelId=${channel.id}`).expect(200)).body.data;
    expect(subscribers).toEqual([expect.objectContaining({ phone: '+393470000001', name: 'Giulia', status: 'active', consentSource: 'keyword' })]);

    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '+393470000001', text: 'A che ora chiude il comune?' }).expect(202);
    await waitFor(async () => expect((await conversation()).data).toHaveLength(4));
    expect((await conversation()).data[3].text).toContain('URP');

    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '+393470000001', text: 'DISATTIVA ISCRIZIONE' }).expect(202);
    await waitFor(async () => expect((await conversation()).data).toHaveLength(6));
    expect((await session.as('get', `/v1/subscribers/${subscribers[0].id}`).expect(200)).body.status).toBe('unsubscribed');
    expect(fake.requests).toHaveLength(0); // nothing went to Meta

    const contacts = (await session.as('get', `/v1/sandbox/${channel.id}/conversations`).expect(200)).body.data;
    expect(contacts).toEqual([expect.objectContaining({ contact: '+393470000001', messages: 6 })]);
    const page = await testApp.http().get(`/sandbox/${channel.id}`).expect(200);
    expect(page.text).toContain('Telefono simulato');
  });

  it('confirms a web-form signup over WhatsApp, keeping it counted as a web-form signup', async () => {
    const session = await TenantSession.create(testApp);
    const channel = (await session.as('post', '/v1/channels').send({ name: 'Prova sandbox', provider: 'sandbox' }).expect(201)).body;
    await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: '347 000 0002', name: 'Marco', privacyAccepted: true }).expect(202);
    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '+393470000002', text: 'ATTIVA ISCRIZIONE' }).expect(202);
    const [marco] = await waitFor(async () => {
      const active = (await session.as('get', `/v1/subscribers?channelId=${channel.id}&status=active`).expect(200)).body.data;
      expect(active).toEqual([expect.objectContaining({ phone: '+393470000002', name: 'Marco', status: 'active', consentSource: 'web_form' })]);
      return active as { id: string }[];
    });
    const bySource = (await session.as('get', '/v1/analytics/subscribers/by-source').expect(200)).body.data;
    expect(bySource).toEqual([expect.objectContaining({ source: 'web_form', active: 1, pending: 0 })]);

    // Coming back after leaving is a new consent, given by the keyword.
    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '+393470000002', text: 'DISATTIVA ISCRIZIONE' }).expect(202);
    await waitFor(async () => expect((await session.as('get', `/v1/subscribers/${marco.id}`).expect(200)).body.status).toBe('unsubscribed'));
    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '+393470000002', text: 'ATTIVA ISCRIZIONE' }).expect(202);
    await waitFor(async () => expect((await session.as('get', `/v1/subscribers/${marco.id}`).expect(200)).body).toMatchObject({ status: 'active', consentSource: 'keyword' }));

    // Erased: the answers sent to them (welcome, goodbye, welcome) leave the outbox with the rest.
    const answers = `SELECT count(*)::int AS n FROM reply_outbox WHERE channel_id = $1 AND to_phone = '+393470000002'`;
    await waitFor(async () => expect((await testApp.dataSource.query(answers, [channel.id]))[0].n).toBe(3));
    await session.as('delete', `/v1/subscribers/${marco.id}`).expect((r) => expect([200, 204]).toContain(r.status));
    expect((await testApp.dataSource.query(answers, [channel.id]))[0].n).toBe(0);
  });

  it('counts poll answers (reply buttons and quick replies), one per citizen, last answer wins', async () => {
    const session = await TenantSession.create(testApp);
    const channel = (await session.as('post', '/v1/channels').send({ name: 'Sondaggi', provider: 'sandbox' }).expect(201)).body;
    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '3470000009', text: 'ATTIVA ISCRIZIONE' }).expect(202);
    await waitFor(async () => expect((await session.as('get', `/v1/subscribers?channelId=${channel.id}&status=active`).expect(200)).body.data).toHaveLength(1));
    const [campaign] = await testApp.dataSource.query(
      `INSERT INTO campaigns (tenant_id, channel_id, title, message, status) VALUES ($1, $2, 'Orario avvisi', $3, 'completed') RETURNING id`,
      [session.tenantId, channel.id, JSON.stringify({ type: 'poll', text: 'Quando?', options: ['Mattina', 'Sera'] })],
    );
    // The poll went to this citizen (as the dispatcher records it); another citizen, subscribed since, never got it.
    await testApp.dataSource.query(
      `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, subscriber_id, recipient, status, provider_message_id, sent_at)
       SELECT $1, $2, $3, s.id, s.phone, 'delivered', 'wamid.sandbox.poll-' || s.id, now() FROM subscribers s WHERE s.channel_id = $3`,
      [session.tenantId, campaign.id, channel.id],
    );
    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '3470000010', text: 'ATTIVA ISCRIZIONE' }).expect(202);
    await waitFor(async () => expect((await session.as('get', `/v1/subscribers?channelId=${channel.id}&status=active`).expect(200)).body.data).toHaveLength(2));
    const votes = () => testApp.dataSource.query(`SELECT option_index FROM poll_votes WHERE campaign_id = $1`, [campaign.id]);
    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '3470000010', buttonReplyId: `poll:${campaign.id}:0`, buttonTitle: 'Mattina' }).expect(202);
    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '3470000009', buttonReplyId: `poll:${campaign.id}:0`, buttonTitle: 'Mattina' }).expect(202);
    await waitFor(async () => expect(await votes()).toEqual([{ option_index: 0 }]));
    await session.as('post', `/v1/sandbox/${channel.id}/inbound`).send({ from: '3470000009', quickReplyPayload: `poll:${campaign.id}:1`, buttonTitle: 'Sera' }).expect(202);
    await waitFor(async () => expect(await votes()).toEqual([{ option_index: 1 }]));
    const inbox = (await session.as('get', `/v1/inbox?channelId=${channel.id}&handledAs=poll_vote`).expect(200)).body.data;
    expect(inbox).toHaveLength(2);
    expect(inbox.every((m: { campaignId: string }) => m.campaignId === campaign.id)).toBe(true);
    await waitFor(async () =>
      expect((await session.as('get', `/v1/inbox?channelId=${channel.id}&handledAs=poll_vote_ignored`).expect(200)).body.data).toEqual([
        expect.objectContaining({ fromPhone: '+393470000010', campaignId: campaign.id }),
      ]),
    );
    // Another comune's campaign id in a payload counts nothing.
    const other = await TenantSession.create(testApp);
    const otherChannel = (await other.as('post', '/v1/channels').send({ name: 'Altro', provider: 'sandbox' }).expect(201)).body;
    await other.as('post', `/v1/sandbox/${otherChannel.id}/inbound`).send({ from: '3470000009', text: 'ATTIVA ISCRIZIONE' }).expect(202);
    await other.as('post', `/v1/sandbox/${otherChannel.id}/inbound`).send({ from: '3470000009', buttonReplyId: `poll:${campaign.id}:0` }).expect(202);
    await waitFor(async () => expect((await other.as('get', `/v1/inbox?channelId=${otherChannel.id}`).expect(200)).body.data).toHaveLength(2));
    expect(await votes()).toEqual([{ option_index: 1 }]);
  });

  it('refuses bad input and other comuni, and only works on sandbox channels', async () => {
    const a = await TenantSession.create(testApp);
    const b = await TenantSession.create(testApp);
    const id = (await a.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox' }).expect(201)).body.id;
    await a.as('post', `/v1/sandbox/${id}/inbound`).send({ from: 'xyz', text: 'ciao' }).expect(400);
    await a.as('post', `/v1/sandbox/${id}/inbound`).send({ from: '3470000002' }).expect(400);
    await b.as('post', `/v1/sandbox/${id}/inbound`).send({ from: '3470000002', text: 'ATTIVA ISCRIZIONE' }).expect(404);
    await b.as('get', `/v1/sandbox/${id}/conversations/3470000002`).expect(404);
    const cloud = await a
      .as('post', '/v1/channels')
      .send({ name: 'Vero', provider: 'whatsapp_cloud', phoneNumberId: `pn${Date.now()}`, wabaId: '1', displayPhoneNumber: '390587000001', accessToken: 't', appSecret: 's', verifyToken: 'v' })
      .expect(201);
    await a.as('post', `/v1/sandbox/${cloud.body.id}/inbound`).send({ from: '3470000002', text: 'ciao' }).expect(400);
  });
});
