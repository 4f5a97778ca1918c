import { ANSWER_LOST, FakeGraphApi, createTestApp, fixtureJson, graphError, messagesWebhook, signedWebhook, TenantSession, TestApp, waitFor } from '@app/testing';
import { asTenantId } from '@app/core';
import { DeliveryLedger } from '@app/delivery';
import {
  allDeliveries,
  campaignOf,
  createCampaign,
  createChannel,
  disableQuietHours,
  pushStatuses,
  seedSubscribers,
} from './campaign-fixtures';

jest.setTimeout(60_000);

describe('Campaigns over HTTP', () => {
  let testApp: TestApp;
  let fake: FakeGraphApi;
  let session: TenantSession;

  beforeAll(async () => {
    fake = await new FakeGraphApi().start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url, RECONCILE_INTERVAL_MS: '500', STUCK_DELIVERY_SECONDS: '30' } });
    session = await TenantSession.create(testApp);
    await disableQuietHours(session);
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  beforeEach(() => fake.reset());

  it('drafts, sends, completes and tracks statuses that never move backwards', async () => {
    const channel = await createChannel(session);
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 5);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Domani chiusura scuole per allerta meteo.' } });
    const draft = await campaignOf(session, id);
    expect(draft).toMatchObject({ id, status: 'draft', priority: 'normal', stats: { recipients: 0, queued: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0 } });

    const sent = await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    expect(sent.body).toMatchObject({ id, status: 'sending' });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(409);

    const done = await waitFor(async () => {
      const campaign = await campaignOf(session, id);
      expect(campaign.status).toBe('completed');
      return campaign;
    });
    expect(done.stats).toEqual({ recipients: 5, queued: 0, sent: 5, delivered: 0, read: 0, failed: 0, skipped: 0 });
    expect(fake.sent).toHaveLength(5);
    for (const subscriber of subscribers) expect(fake.sentTo(subscriber.phone)).toHaveLength(1);
    const request = fake.sentTo(subscribers[0].phone)[0];
    expect(request.phoneNumberId).toBe(channel.phoneNumberId);
    expect(request.authorization).toBe('Bearer EAAG-test-token');
    expect(request.body).toMatchObject({ messaging_product: 'whatsapp', to: subscribers[0].phone, type: 'text', text: { body: 'Domani chiusura scuole per allerta meteo.' } });
    expect(request.body.biz_opaque_callback_data).toMatch(/^\d+$/);

    // The citizen's own export (GDPR Art. 15) lists the campaign messages meant for them.
    const exported = await session.as('get', `/v1/subscribers/${subscribers[0].id}/export`).expect(200);
    expect(exported.body.deliveries).toEqual([
      expect.objectContaining({ campaignId: id, campaignTitle: 'Avviso', status: 'sent', reason: null, errorCode: null, sentAt: expect.any(String), deliveredAt: null }),
    ]);

    const deliveries = await allDeliveries(session, id);
    expect(deliveries).toHaveLength(5);
    const first = deliveries.find((d) => d.phone === subscribers[0].phone)!;
    expect(first).toMatchObject({ subscriberId: subscribers[0].id, status: 'sent', providerMessageId: request.wamid, errorCode: null, reason: null });

    const wamids = fake.sent.map((r) => r.wamid!);
    await pushStatuses(testApp, session.tenantId, channel.id, [
      { wamid: wamids[0], status: 'read' },
      { wamid: wamids[1], status: 'delivered' },
      { wamid: wamids[2], status: 'failed', errorCode: 131026, errorTitle: 'Message undeliverable' },
    ]);
    await waitFor(async () => expect((await campaignOf(session, id)).stats).toMatchObject({ sent: 2, delivered: 1, read: 1, failed: 1 }));
    // Late and out-of-order events: delivered after read, failed after delivered, sent after failed.
    await pushStatuses(testApp, session.tenantId, channel.id, [
      { wamid: wamids[0], status: 'delivered' },
      { wamid: wamids[1], status: 'failed', errorCode: 131026 },
      { wamid: wamids[2], status: 'sent' },
      { wamid: wamids[3], status: 'delivered' },
    ]);
    await waitFor(async () => expect((await campaignOf(session, id)).stats).toEqual({ recipients: 5, queued: 0, sent: 1, delivered: 2, read: 1, failed: 1, skipped: 0 }));
    const byWamid = new Map((await allDeliveries(session, id)).map((d) => [d.providerMessageId, d]));
    expect(byWamid.get(wamids[0])).toMatchObject({ status: 'read' });
    expect(byWamid.get(wamids[1])).toMatchObject({ status: 'delivered', errorCode: null });
    expect(byWamid.get(wamids[2])).toMatchObject({ status: 'failed', errorCode: 131026 });
    expect((await allDeliveries(session, id, 'read')).map((d) => d.providerMessageId)).toEqual([wamids[0]]);
    expect((await campaignOf(session, id)).status).toBe('completed');

    const list = await session.as('get', '/v1/campaigns?limit=500').expect(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toContain(id);
    expect(list.body).toHaveProperty('nextCursor');
  });

  it('validates campaigns and names what is wrong', async () => {
    const channel = await createChannel(session);
    const bad = async (body: Record<string, unknown>, status = 400) =>
      (await session.as('post', '/v1/campaigns').send({ title: 'x', channelId: channel.id, ...body }).expect(status)).body;
    expect(await bad({ message: { type: 'text', text: '' } })).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    await bad({ message: { type: 'text', text: 'x'.repeat(4097) } });
    await bad({ message: { type: 'text' } });
    await bad({ message: { type: 'poll', text: 'Ti piace?', options: ['Sì'] } });
    await bad({ message: { type: 'poll', text: 'Ti piace?', options: ['a', 'b', 'c', 'd'] } });
    expect((await bad({ message: { type: 'poll', text: 'Ti piace?', options: ['Sì', 'Sì'] } })).message).toContain('message.options must all differ');
    await bad({ message: { type: 'poll', text: 'Ti piace?', options: ['Sì', 'Un titolo davvero troppo lungo'] } });
    // Blank or near-identical (case, surrounding spaces) answers, blank texts and titles.
    expect((await bad({ message: { type: 'poll', text: 'Ti piace?', options: ['Sì', 'sì '] } })).message).toContain('message.options must all differ');
    expect((await bad({ message: { type: 'poll', text: 'Ti piace?', options: ['Sì', '  '] } })).message).toContain('message.options must not be blank');
    expect((await bad({ message: { type: 'poll', text: '  ', options: ['Sì', 'No'] } })).message).toContain('message.text must not be blank');
    expect((await bad({ message: { type: 'text', text: ' \n\t ' } })).message).toContain('message.text must not be blank');
    expect((await bad({ title: '   ', message: { type: 'text', text: 'x' } })).message).toContain('title must not be blank');
    // Template parameters WhatsApp would refuse for every recipient (132018), or blank ones.
    for (const parameter of ['rossa\nforte', 'ore\t8', 'ore     8']) {
      const refused = await bad({ message: { type: 'template', template: { name: 'allerta', language: 'it', bodyParameters: ['ok', parameter] } } });
      expect(String(refused.message)).toContain('message.template.bodyParameters must not contain line breaks, tabs or more than four spaces in a row');
    }
    expect((await bad({ message: { type: 'template', template: { name: 'allerta', language: 'it', bodyParameters: [' '] } } })).message).toContain('message.template.bodyParameters must not be blank');
    await session.as('post', '/v1/campaigns').send({ title: 'x', channelId: channel.id, message: { type: 'template', template: { name: 'allerta', language: 'it', bodyParameters: ['ore    8', 'Piazza  Farinata'] } } }).expect(201);
    await bad({ message: { type: 'image', url: 'ftp://example.org/a.jpg' } });
    await bad({ message: { type: 'template' } });
    await bad({ message: { type: 'fax', text: 'x' } });
    await bad({ message: { type: 'text', text: 'x' }, priority: 'urgent' });
    await bad({ message: { type: 'text', text: 'x' }, scheduledAt: 'domani' });
    await bad({ message: { type: 'text', text: 'x', options: ['a', 'b'] } });
    const unknown = await bad({ message: { type: 'text', text: 'x' }, topics: ['meteo', 'nessuno', 'altro'] });
    expect(String(unknown.message)).toContain('nessuno');
    expect(String(unknown.message)).toContain('altro');
    await bad({ channelId: 'not-a-uuid', message: { type: 'text', text: 'x' } });

    const other = await TenantSession.create(testApp);
    const foreign = await createChannel(other);
    expect(await bad({ channelId: foreign.id, message: { type: 'text', text: 'x' } }, 404)).toMatchObject({ message: 'Channel not found' });
    await session.as('get', '/v1/campaigns/00000000-0000-4000-8000-000000000000').expect(404);
    await session.as('get', '/v1/campaigns/nope').expect(404);
  });

  it('reaches only followers of the chosen topics', async () => {
    const channel = await createChannel(session);
    const meteo = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3, { topicKeys: ['meteo'] });
    const traffico = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 2, { topicKeys: ['traffico'] });
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 4);
    const id = await createCampaign(session, { channelId: channel.id, topics: ['meteo', 'traffico'], message: { type: 'text', text: 'Neve in arrivo' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(async () => expect(await campaignOf(session, id)).toMatchObject({ status: 'completed', stats: { recipients: 5, sent: 5 } }));
    expect(new Set(fake.sent.map((r) => r.body.to))).toEqual(new Set([...meteo, ...traffico].map((s) => s.phone)));
  });

  it("plans again as outside the window a free-form message Meta refuses with 131047 although the window looked open", async () => {
    const withFallback = await createChannel(session, { fallbackTemplate: { name: 'avviso_generico', language: 'it' } });
    const plain = await createChannel(session);
    // Their last message looks recent (a late webhook, a skewed clock), but Meta says the window is closed.
    const [skewed] = await seedSubscribers(testApp.dataSource, session.tenantId, withFallback.id, 1);
    const [pollReader] = await seedSubscribers(testApp.dataSource, session.tenantId, plain.id, 1);
    fake.behave((request) => (request.body.type !== 'template' ? graphError(131047, 400, 'Re-engagement message') : null));
    const text = await createCampaign(session, { channelId: withFallback.id, message: { type: 'text', text: 'Strada chiusa' } });
    const poll = await createCampaign(session, { channelId: plain.id, message: { type: 'poll', text: 'Ti è utile?', options: ['Sì', 'No'] } });
    for (const id of [text, poll]) await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    for (const id of [text, poll]) await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 15_000 });
    // The text went through the fallback template; the poll, which has none, is skipped as outside the window.
    expect(fake.sentTo(skewed.phone).map((r) => r.body.template)).toEqual([{ name: 'avviso_generico', language: { code: 'it' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Strada chiusa' }] }] }]);
    expect((await campaignOf(session, text)).stats).toMatchObject({ recipients: 1, sent: 1, failed: 0 });
    expect(fake.sentTo(pollReader.phone)).toEqual([]);
    expect(await allDeliveries(session, poll)).toEqual([expect.objectContaining({ status: 'skipped', reason: 'outside_window' })]);
  });

  it('sends again as outside the window a free-form message Meta took and then reported failed with 131047, ignoring that message\'s late webhooks', async () => {
    const withFallback = await createChannel(session, { fallbackTemplate: { name: 'avviso_generico', language: 'it' } });
    const plain = await createChannel(session);
    const [citizen] = await seedSubscribers(testApp.dataSource, session.tenantId, withFallback.id, 1);
    const [pollReader] = await seedSubscribers(testApp.dataSource, session.tenantId, plain.id, 1);
    const post = async (channel: { id: string; phoneNumberId: string; appSecret: string }, statuses: Record<string, unknown>[]) => {
      const { bytes, signature } = signedWebhook(messagesWebhook(channel.phoneNumberId, { statuses }), channel.appSecret);
      await testApp.http().post(`/v1/webhooks/whatsapp/${channel.id}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signature).send(bytes.toString('utf8')).expect(200);
    };
    // Meta's failed status as in its fixture, with the re-engagement error instead of 131026.
    const windowClosed = (request: { wamid: string | null; body: Record<string, unknown> }) => {
      const status = fixtureJson<{ entry: { changes: { value: { statuses: Record<string, unknown>[] } }[] }[] }>('webhook-status-failed.json').entry[0].changes[0].value.statuses[0];
      const error = { ...(status.errors as Record<string, unknown>[])[0], code: 131047, title: 'Re-engagement message', message: 'Re-engagement message' };
      return { ...status, id: request.wamid, recipient_id: String(request.body.to).slice(1), timestamp: String(Math.floor(Date.now() / 1000)), biz_opaque_callback_data: request.body.biz_opaque_callback_data, errors: [error] };
    };

    const text = await createCampaign(session, { channelId: withFallback.id, message: { type: 'text', text: 'Allerta arancione: fiume in piena' } });
    const poll = await createCampaign(session, { channelId: plain.id, message: { type: 'poll', text: 'Ti è utile?', options: ['Sì', 'No'] } });
    for (const id of [text, poll]) await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    for (const id of [text, poll]) await waitFor(async () => expect(await campaignOf(session, id)).toMatchObject({ status: 'completed', stats: { sent: 1 } }));
    const [freeForm] = fake.sentTo(citizen.phone);
    expect(freeForm.body.type).toBe('text');

    // The template's first attempt meets a 5xx, so the delivery waits a moment: the failed message's
    // own late `sent` webhook (it names the delivery) must not be taken for the template.
    let templateAttempts = 0;
    fake.behave((request) => (request.body.type === 'template' && templateAttempts++ === 0 ? graphError(131000, 500, 'Something went wrong') : null));
    await post(withFallback, [windowClosed(freeForm)]);
    await waitFor(() => expect(templateAttempts).toBe(1));
    await post(withFallback, [{ id: freeForm.wamid, status: 'sent', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: citizen.phone.slice(1), biz_opaque_callback_data: freeForm.body.biz_opaque_callback_data }]);
    expect(await allDeliveries(session, text)).toEqual([expect.objectContaining({ status: 'queued', providerMessageId: null })]);
    expect((await campaignOf(session, text)).status).toBe('sending');

    await waitFor(async () => expect(await campaignOf(session, text)).toMatchObject({ status: 'completed', stats: { recipients: 1, queued: 0, sent: 1, failed: 0 } }), { timeoutMs: 15_000 });
    const sent = fake.sentTo(citizen.phone);
    expect(sent.map((r) => r.body.type)).toEqual(['text', 'template']);
    // The attempt after the template's 5xx is the template again: Meta said the window is closed.
    expect(fake.requests.filter((r) => r.body.to === citizen.phone).map((r) => r.body.type)).toEqual(['text', 'template', 'template']);
    expect(sent[1].body.template).toEqual({ name: 'avviso_generico', language: { code: 'it' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Allerta arancione: fiume in piena' }] }] });
    expect(await allDeliveries(session, text)).toEqual([expect.objectContaining({ status: 'sent', providerMessageId: sent[1].wamid, errorCode: null })]);
    // The template's statuses are the delivery's from now on.
    await post(withFallback, [{ id: sent[1].wamid, status: 'delivered', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: citizen.phone.slice(1) }]);
    await waitFor(async () => expect((await campaignOf(session, text)).stats).toMatchObject({ sent: 0, delivered: 1 }));

    // A poll has no template to go through: skipped as outside the window, as when refused at once.
    await post(plain, [windowClosed(fake.sentTo(pollReader.phone)[0])]);
    await waitFor(async () => expect(await allDeliveries(session, poll)).toEqual([expect.objectContaining({ status: 'skipped', reason: 'outside_window' })]));
    expect(await campaignOf(session, poll)).toMatchObject({ status: 'completed', stats: { recipients: 1, sent: 0, failed: 0, skipped: 1 } });
    expect(fake.sentTo(pollReader.phone)).toHaveLength(1);

    // The fallback template itself reported failed with 131047 (as Meta does on template
    // broadcasts, webhook-batched.json): failed, never sent again, whether it went out as the
    // template from the start (the citizen's window closed) or after a free-form refusal.
    const [quiet] = await seedSubscribers(testApp.dataSource, session.tenantId, withFallback.id, 1, { lastInboundAt: null });
    const later = await createCampaign(session, { channelId: withFallback.id, message: { type: 'text', text: 'Scuole chiuse domani' } });
    await session.as('post', `/v1/campaigns/${later}/send`).expect(202);
    await waitFor(async () => expect(await campaignOf(session, later)).toMatchObject({ status: 'completed', stats: { recipients: 2, sent: 2 } }));
    // The citizen's window looks open again (a new campaign): free-form first, then the template.
    const [toQuiet, toCitizen] = [fake.sentTo(quiet.phone)[0], fake.sentTo(citizen.phone)[2]];
    expect([toQuiet.body.type, toCitizen.body.type]).toEqual(['template', 'text']);
    await post(withFallback, [windowClosed(toQuiet), windowClosed(toCitizen)]);
    await waitFor(() => expect(fake.sentTo(citizen.phone)).toHaveLength(4));
    expect(fake.sentTo(citizen.phone)[3].body.type).toBe('template');
    await waitFor(async () => expect(await campaignOf(session, later)).toMatchObject({ status: 'completed', stats: { sent: 1, failed: 1 } }));
    await post(withFallback, [windowClosed(fake.sentTo(citizen.phone)[3])]);
    await waitFor(async () => expect((await campaignOf(session, later)).stats).toMatchObject({ sent: 0, failed: 2 }));
    expect((await allDeliveries(session, later)).map((d) => [d.status, d.errorCode])).toEqual([
      ['failed', 131047],
      ['failed', 131047],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(fake.sentTo(quiet.phone)).toHaveLength(1);
    expect(fake.sentTo(citizen.phone)).toHaveLength(4);
  });

  it('applies the 24-hour rule: fallback template for text, skips polls and images outside the window', async () => {
    const plain = await createChannel(session);
    const withFallback = await createChannel(session, { fallbackTemplate: { name: 'avviso_generico', language: 'it' } });
    const old = new Date(Date.now() - 3 * 24 * 3600 * 1000);
    for (const channel of [plain, withFallback]) {
      await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 2);
      await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3, { lastInboundAt: old });
    }
    const text = await createCampaign(session, { channelId: plain.id, message: { type: 'text', text: 'Solo chi ci ha scritto' } });
    const fallback = await createCampaign(session, { channelId: withFallback.id, message: { type: 'text', text: 'A\n\ttutti' } });
    // A text the fallback template could not carry (over 1,024 characters once its white space is folded) is refused at send, naming it.
    const long = await createCampaign(session, { channelId: withFallback.id, message: { type: 'text', text: 'Avviso. '.repeat(200) } });
    const refused = await session.as('post', `/v1/campaigns/${long}/send`).expect(400);
    expect(refused.body.message).toMatch(/^message\.text is 1599 characters: the channel's fallback template carries at most 1024/);
    expect((await campaignOf(session, long)).status).toBe('draft');
    const poll = await createCampaign(session, { channelId: withFallback.id, message: { type: 'poll', text: 'Vi piace la nuova piazza?', options: ['Sì', 'No', 'Non so'] } });
    const image = await createCampaign(session, { channelId: withFallback.id, message: { type: 'image', url: 'https://www.comune.example/mappa.jpg', caption: 'Mappa' } });
    const template = await createCampaign(session, {
      channelId: plain.id,
      message: { type: 'template', template: { name: 'allerta_meteo', language: 'it', bodyParameters: ['arancione'] } },
    });
    for (const id of [text, fallback, poll, image, template]) await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    for (const id of [text, fallback, poll, image, template]) await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'));

    expect((await campaignOf(session, text)).stats).toMatchObject({ recipients: 5, sent: 2, skipped: 3 });
    expect((await allDeliveries(session, text, 'skipped')).map((d) => d.reason)).toEqual(['outside_window', 'outside_window', 'outside_window']);
    expect((await campaignOf(session, fallback)).stats).toMatchObject({ recipients: 5, sent: 5, skipped: 0 });
    expect((await campaignOf(session, poll)).stats).toMatchObject({ recipients: 5, sent: 2, skipped: 3 });
    expect((await campaignOf(session, image)).stats).toMatchObject({ recipients: 5, sent: 2, skipped: 3 });
    expect((await campaignOf(session, template)).stats).toMatchObject({ recipients: 5, sent: 5, skipped: 0 });

    const bodies = fake.sent.map((r) => r.body);
    // Inside the window the text goes as written; through the template, folded (Meta refuses line breaks there).
    expect(bodies.filter((b) => b.type === 'text').map((b) => (b.text as { body: string }).body)).toContain('A\n\ttutti');
    const fallbackTemplates = bodies.filter((b) => b.type === 'template' && (b.template as { name: string }).name === 'avviso_generico');
    expect(fallbackTemplates).toHaveLength(3);
    expect(fallbackTemplates[0].template).toEqual({ name: 'avviso_generico', language: { code: 'it' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'A tutti' }] }] });
    const interactive = bodies.filter((b) => b.type === 'interactive');
    expect(interactive).toHaveLength(2);
    expect(interactive[0].interactive).toMatchObject({
      type: 'button',
      body: { text: 'Vi piace la nuova piazza?' },
      action: { buttons: [0, 1, 2].map((i) => ({ type: 'reply', reply: { id: `poll:${poll}:${i}`, title: ['Sì', 'No', 'Non so'][i] } })) },
    });
    expect(bodies.filter((b) => b.type === 'image')[0].image).toEqual({ link: 'https://www.comune.example/mappa.jpg', caption: 'Mappa' });
    expect(bodies.filter((b) => b.type === 'template' && (b.template as { name: string }).name === 'allerta_meteo')).toHaveLength(5);

    // Poll results come from poll_votes (written by the inbound side): each citizen once.
    const voters = (await testApp.dataSource.query(`SELECT subscriber_id FROM deliveries WHERE campaign_id = $1 AND status = 'sent'`, [poll])) as { subscriber_id: string }[];
    await testApp.dataSource.query(
      `INSERT INTO poll_votes (tenant_id, campaign_id, subscriber_id, option_index, answered_at) VALUES ($1, $2, $3, 0, now()), ($1, $2, $4, 2, now())`,
      [session.tenantId, poll, voters[0].subscriber_id, voters[1].subscriber_id],
    );
    const results = await session.as('get', `/v1/campaigns/${poll}/poll-results`).expect(200);
    expect(results.body).toEqual({ options: [{ title: 'Sì', votes: 1 }, { title: 'No', votes: 0 }, { title: 'Non so', votes: 1 }] });
    await session.as('get', `/v1/campaigns/${text}/poll-results`).expect(400);
  });

  it('counts a poll answer only from a citizen the poll went to: the delivery its context names, or for a payload alone any sent one', async () => {
    const channel = await createChannel(session);
    const [anna, bruno] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 2);
    const [carla] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1, { lastInboundAt: new Date(Date.now() - 3 * 24 * 3600 * 1000) });
    const poll = await createCampaign(session, { channelId: channel.id, message: { type: 'poll', text: 'Vi piace la nuova piazza?', options: ['Sì', 'No', 'Non so'] } });
    await session.as('post', `/v1/campaigns/${poll}/send`).expect(202);
    await waitFor(async () => expect(await campaignOf(session, poll)).toMatchObject({ status: 'completed', stats: { recipients: 3, sent: 2, skipped: 1 } }));
    // Subscribed after the poll went out: no delivery of it.
    const [dario] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1);
    const wamidTo = (phone: string) => fake.sentTo(phone)[0].wamid!;

    // Meta's button reply (context: the poll message), or a template's quick reply, here without context.
    let sequence = 0;
    const answer = async (from: { phone: string }, option: number, context: string | null, kind: 'button_reply' | 'quick_reply' = 'button_reply') => {
      const waId = from.phone.slice(1);
      const reply = `poll:${poll}:${option}`;
      const payload = messagesWebhook(channel.phoneNumberId, {
        contacts: [{ profile: { name: 'Cittadino' }, wa_id: waId }],
        messages: [
          {
            ...(context ? { context: { from: '390587123450', id: context } } : {}),
            from: waId,
            id: `wamid.vote.${poll}.${++sequence}`,
            timestamp: String(Math.floor(Date.now() / 1000) + sequence),
            ...(kind === 'button_reply' ? { type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: reply, title: 'Sì' } } } : { type: 'button', button: { payload: reply, text: 'Sì' } }),
          },
        ],
      });
      const { bytes, signature } = signedWebhook(payload, channel.appSecret);
      await testApp.http().post(`/v1/webhooks/whatsapp/${channel.id}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signature).send(bytes.toString('utf8')).expect(200);
    };
    await answer(anna, 0, wamidTo(anna.phone)); // counted, then replaced below
    await answer(bruno, 2, null, 'quick_reply'); // payload alone, from a recipient: counted
    await answer(carla, 1, null); // her delivery was skipped: the poll never reached her
    await answer(dario, 1, wamidTo(anna.phone)); // the context names someone else's delivery
    await answer(dario, 1, null, 'quick_reply'); // no delivery of the poll at all
    await answer(anna, 1, null); // Anna changes her mind: last answer wins
    await answer(bruno, 7, wamidTo(bruno.phone)); // an option the poll does not have: his answer stays
    const handled = async () =>
      (await testApp.dataSource.query(`SELECT handled_as FROM inbound_messages WHERE channel_id = $1 ORDER BY handled_as`, [channel.id])).map((r: { handled_as: string }) => r.handled_as);
    await waitFor(async () => expect(await handled()).toEqual(['poll_vote', 'poll_vote', 'poll_vote', 'poll_vote_ignored', 'poll_vote_ignored', 'poll_vote_ignored', 'poll_vote_ignored']));
    const results = await session.as('get', `/v1/campaigns/${poll}/poll-results`).expect(200);
    expect(results.body).toEqual({ options: [{ title: 'Sì', votes: 0 }, { title: 'No', votes: 1 }, { title: 'Non so', votes: 1 }] });
    const voters = (await testApp.dataSource.query(`SELECT subscriber_id, option_index FROM poll_votes WHERE campaign_id = $1 ORDER BY option_index`, [poll])) as { subscriber_id: string; option_index: number }[];
    expect(voters).toEqual([{ subscriber_id: anna.id, option_index: 1 }, { subscriber_id: bruno.id, option_index: 2 }]);
  });

  it('sends what a paused channel held back (an emergency among it) as soon as it is active again, without waiting for the reconciler', async () => {
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 6);
    fake.behave(() => graphError(190, 401, 'Error validating access token'));
    const normal = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Mercato' } });
    await session.as('post', `/v1/campaigns/${normal}/send`).expect(202);
    await waitFor(async () => expect((await session.as('get', `/v1/channels/${channel.id}`).expect(200)).body.status).toBe('paused'));
    const alert = await createCampaign(session, { channelId: channel.id, priority: 'emergency', message: { type: 'text', text: 'Allerta' } });
    // Accepted (it goes once the channel is fixed), and the comune and the operator are told at once why it waits.
    const sent = await session.as('post', `/v1/campaigns/${alert}/send`).expect(202);
    expect(sent.body.warnings).toEqual([expect.stringMatching(/^The channel is paused \(WhatsApp error 190: Error validating access token\): nothing goes out until it is set active again/)]);
    const held = await campaignOf(session, alert);
    expect(held.stats).toMatchObject({ queued: 6 });
    expect(held.heldBack).toMatch(/^The channel is paused \(WhatsApp error 190/);
    const operator = await TenantSession.operatorToken(testApp);
    const health = (await testApp.http().get('/v1/admin/health').set('Authorization', `Bearer ${operator}`).expect(200)).body as { heldCampaigns: Record<string, unknown>[] };
    const mine = health.heldCampaigns.filter((c) => c.channelId === channel.id);
    // The emergency first, then the normal one it jumps.
    expect(mine).toEqual([
      { id: alert, tenantId: session.tenantId, title: 'Avviso', priority: 'emergency', channelId: channel.id, pausedReason: expect.stringContaining('190'), queued: 6 },
      expect.objectContaining({ id: normal, priority: 'normal' }),
    ]);
    fake.reset();
    const resumedAt = Date.now();
    await session.as('patch', `/v1/channels/${channel.id}`).send({ accessToken: 'token-nuovo', status: 'active' }).expect(200);
    // This app's reconciler only takes deliveries untouched for 30 s: these go well before.
    for (const id of [alert, normal]) await waitFor(async () => expect(await campaignOf(session, id)).toMatchObject({ status: 'completed', stats: { sent: 6 } }), { timeoutMs: 15_000 });
    expect(Date.now() - resumedAt).toBeLessThan(15_000);
    expect(fake.sent).toHaveLength(12);
    expect((await campaignOf(session, alert)).heldBack).toBeNull();
  });

  it('tells the comune what else holds a campaign back: messages waiting to be tried again, and its quiet hours', async () => {
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3);
    let throttled = true;
    fake.behave(() => (throttled ? graphError(130429, 400, 'Rate limit hit') : null));
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Lavori in corso' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    const waiting = await waitFor(async () => {
      const campaign = await campaignOf(session, id);
      expect(campaign.heldBack).toMatch(/^3 message\(s\) wait to be tried again after WhatsApp errors \(130429: 3\); the next attempt at \d{4}-/);
      return campaign;
    });
    expect(waiting).toMatchObject({ status: 'sending', stats: { queued: 3 } });
    throttled = false;
    await waitFor(async () => expect(await campaignOf(session, id)).toMatchObject({ status: 'completed', heldBack: null, stats: { sent: 3 } }), { timeoutMs: 15_000 });

    // Quiet hours from an hour ago to an hour from now, in the comune's time zone.
    const rome = (offsetMs: number) => new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Rome', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(Date.now() + offsetMs));
    const [start, end] = [rome(-3_600_000), rome(3_600_000)];
    await session.as('patch', '/v1/tenant').send({ timezone: 'Europe/Rome', quietHoursStart: start, quietHoursEnd: end }).expect(200);
    try {
      const normal = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Mercato domenica' } });
      expect((await session.as('post', `/v1/campaigns/${normal}/send`).expect(202)).body.status).toBe('scheduled');
      expect((await campaignOf(session, normal)).heldBack).toBe(`Quiet hours (${start}–${end}, Europe/Rome): normal campaigns wait, and this one goes on at ${end} (${(await campaignOf(session, normal)).scheduledAt}). Emergencies are not held`);
      const alert = await createCampaign(session, { channelId: channel.id, priority: 'emergency', message: { type: 'text', text: 'Allerta' } });
      await session.as('post', `/v1/campaigns/${alert}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, alert)).toMatchObject({ status: 'completed', heldBack: null }));
      await session.as('post', `/v1/campaigns/${normal}/cancel`).expect(200);
    } finally {
      await disableQuietHours(session);
    }
  });

  it('lets editors draft but only tenant admins and API keys send; a pending comune cannot send', async () => {
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1);
    const editor = await session.member('editor');
    const viewer = await session.member('viewer');
    const created = await testApp.http().post('/v1/campaigns').set('Authorization', `Bearer ${editor}`).send({ title: 't', channelId: channel.id, message: { type: 'text', text: 'x' } }).expect(201);
    await testApp.http().post('/v1/campaigns').set('Authorization', `Bearer ${viewer}`).send({ title: 't', channelId: channel.id, message: { type: 'text', text: 'x' } }).expect(403);
    await testApp.http().get(`/v1/campaigns/${created.body.id}`).set('Authorization', `Bearer ${viewer}`).expect(200);
    await testApp.http().post(`/v1/campaigns/${created.body.id}/send`).set('Authorization', `Bearer ${editor}`).expect(403);
    await testApp.http().post(`/v1/campaigns/${created.body.id}/cancel`).set('Authorization', `Bearer ${editor}`).expect(403);
    const key = await session.apiKey();
    await testApp.http().post(`/v1/campaigns/${created.body.id}/send`).set('X-API-Key', key).expect(202);

    const pending = await TenantSession.create(testApp, { approve: false });
    const pendingChannel = await createChannel(pending);
    const draft = await createCampaign(pending, { channelId: pendingChannel.id, message: { type: 'text', text: 'x' } });
    const refused = await pending.as('post', `/v1/campaigns/${draft}/send`).expect(403);
    expect(refused.body).toMatchObject({ statusCode: 403, error: 'Forbidden', message: expect.stringContaining('approval') });
    expect((await campaignOf(pending, draft)).status).toBe('draft');
  });

  it("answers 404 on every route for another comune's campaign", async () => {
    const channel = await createChannel(session);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'poll', text: 'Sì o no?', options: ['Sì', 'No'] } });
    const other = await TenantSession.create(testApp);
    for (const [method, path] of [
      ['get', `/v1/campaigns/${id}`],
      ['post', `/v1/campaigns/${id}/send`],
      ['post', `/v1/campaigns/${id}/cancel`],
      ['get', `/v1/campaigns/${id}/deliveries`],
      ['get', `/v1/campaigns/${id}/poll-results`],
      ['get', `/v1/campaigns/${id}/reactions`],
    ] as const) {
      const response = await other.as(method, path).expect(404);
      expect(response.body).toMatchObject({ statusCode: 404, message: 'Campaign not found' });
    }
    const list = await other.as('get', '/v1/campaigns').expect(200);
    expect(list.body.data).toEqual([]);
    expect((await campaignOf(session, id)).status).toBe('draft');
  });

  it('cancel stops what was not yet handed to WhatsApp', async () => {
    const channel = await createChannel(session, { messagesPerSecond: 5 });
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 40);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Lento' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(2));
    const cancelled = await session.as('post', `/v1/campaigns/${id}/cancel`).expect(200);
    expect(cancelled.body).toMatchObject({ id, status: 'cancelled' });
    await session.as('post', `/v1/campaigns/${id}/cancel`).expect(409);
    await session.as('post', `/v1/campaigns/${id}/send`).expect(409);
    const settled = await waitFor(async () => {
      const campaign = await campaignOf(session, id);
      expect(campaign.stats.queued).toBe(0);
      return campaign;
    });
    expect(settled.status).toBe('cancelled');
    const handed = settled.stats.sent;
    expect(handed).toBeLessThan(40);
    expect(settled.stats.skipped).toBe(40 - handed);
    expect((await allDeliveries(session, id, 'skipped')).every((d) => d.reason === 'cancelled')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(fake.sent.length).toBe(handed);
  });

  it('sends nothing after the cancel is answered, not even what a job had claimed and was pacing out', async () => {
    // At 1 message/s a dispatch job holds claimed deliveries for seconds while they wait for their
    // send slots: the cancel must reach them before their turn, and its answer is final.
    const channel = await createChannel(session, { messagesPerSecond: 1 });
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 12);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Un messaggio al secondo' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(1));
    const held = await testApp.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE campaign_id = $1 AND status = 'queued' AND claimed_until > now()`, [id]);
    expect(held[0].n).toBeGreaterThan(0);
    const beforeCancel = fake.sent.length;
    const cancelled = await session.as('post', `/v1/campaigns/${id}/cancel`).expect(200);
    const handed = fake.sent.length;
    // At most the one whose slot came due while the cancel was being taken: the held ones were not paced out.
    expect(handed).toBeLessThanOrEqual(beforeCancel + 1);
    expect(cancelled.body.stats).toMatchObject({ recipients: 12, queued: 0, sent: handed, skipped: 12 - handed });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(fake.sent.length).toBe(handed);
    expect((await campaignOf(session, id)).stats).toMatchObject({ queued: 0, sent: handed, skipped: 12 - handed });
    expect((await allDeliveries(session, id, 'skipped')).every((d) => d.reason === 'cancelled')).toBe(true);
  });

  it('stops what a comune is sending when the operator suspends it, and fails its scheduled campaign when due', async () => {
    // A comune of its own: it is suspended here.
    const comune = await TenantSession.create(testApp);
    await disableQuietHours(comune);
    const channel = await createChannel(comune, { messagesPerSecond: 1 });
    await seedSubscribers(testApp.dataSource, comune.tenantId, channel.id, 12);
    const message = { type: 'text', text: 'Un messaggio al secondo' };
    const later = await createCampaign(comune, { channelId: channel.id, message, scheduledAt: new Date(Date.now() + 5_000).toISOString() });
    expect((await comune.as('post', `/v1/campaigns/${later}/send`).expect(202)).body.status).toBe('scheduled');
    const sending = await createCampaign(comune, { channelId: channel.id, message });
    await comune.as('post', `/v1/campaigns/${sending}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(1));

    const operator = await TenantSession.operatorToken(testApp);
    await testApp.http().post(`/v1/admin/tenants/${comune.tenantId}/suspend`).set('Authorization', `Bearer ${operator}`).expect(200);
    const handed = fake.sent.length;
    const stopped = await campaignOf(comune, sending);
    expect(stopped).toMatchObject({ status: 'cancelled', failureReason: 'The comune was suspended by the platform operator' });
    expect(stopped.stats).toMatchObject({ recipients: 12, queued: 0, skipped: 12 - stopped.stats.sent });

    // The scheduled one comes due while the comune is suspended: it fails, sending nothing.
    await waitFor(async () => expect(await campaignOf(comune, later)).toMatchObject({ status: 'failed', failureReason: expect.stringContaining('suspended') }), { timeoutMs: 20_000 });
    expect(fake.sent.length).toBeLessThanOrEqual(handed + 1);
    expect(fake.sent.length).toBe(stopped.stats.sent);
    const [written] = (await testApp.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE campaign_id = $1`, [later])) as { n: number }[];
    expect(written.n).toBe(0);
  }, 40_000);

  it('cancel does not wait for a delivery a dispatch job is writing (no deadlock with its record)', async () => {
    const channel = await createChannel(session, { messagesPerSecond: 2 });
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 40);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Lento' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    // Another transaction holds the last delivery's row, as a dispatch job's record does while it
    // waits for the campaign row that cancel holds.
    const holder = testApp.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    try {
      const [locked] = (await holder.query(`SELECT id::text AS id FROM deliveries WHERE campaign_id = $1 ORDER BY id DESC LIMIT 1 FOR UPDATE`, [id])) as { id: string }[];
      const cancel = session.as('post', `/v1/campaigns/${id}/cancel`).then((response) => response.status);
      const waited = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000));
      expect(await Promise.race([cancel, waited])).toBe(200);
      const [row] = await testApp.dataSource.query(`SELECT status FROM deliveries WHERE id = $1`, [locked.id]);
      expect(row.status).toBe('queued');
      const [skipped] = await testApp.dataSource.query(`SELECT count(*)::int AS n FROM deliveries WHERE campaign_id = $1 AND reason = 'cancelled'`, [id]);
      expect(skipped.n).toBeGreaterThan(30);
    } finally {
      await holder.commitTransaction();
      await holder.release();
    }
  });

  it('skips, as cancelled, a delivery whose send was in flight at cancel and came back retryable', async () => {
    const channel = await createChannel(session);
    const subscribers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3);
    fake.latencyMs = 1_500;
    fake.behave(() => graphError(130429, 400, '(#130429) Rate limit hit'));
    try {
      const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'In volo' } });
      await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
      await waitFor(() => expect(fake.requests.filter((r) => r.phoneNumberId === channel.phoneNumberId)).toHaveLength(3));
      // The three sends are in flight (their deliveries under a live lease): cancel leaves them to their outcome.
      await session.as('post', `/v1/campaigns/${id}/cancel`).expect(200);
      await waitFor(async () => expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 3, queued: 0, skipped: 3 }));
      const campaign = await campaignOf(session, id);
      expect(campaign.status).toBe('cancelled');
      const deliveries = await allDeliveries(session, id);
      expect(deliveries.map((d) => [d.status, d.reason])).toEqual(subscribers.map(() => ['skipped', 'cancelled']));
    } finally {
      fake.reset();
    }
  });

  it('records a delivered status for a send whose answer was lost and whose campaign was cancelled meanwhile', async () => {
    const channel = await createChannel(session);
    const [citizen] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1);
    fake.behave(() => ANSWER_LOST);
    try {
      const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Risposta persa' } });
      await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
      await waitFor(() => expect(fake.requests.filter((r) => r.phoneNumberId === channel.phoneNumberId)).toHaveLength(1));
      // Held for Meta's status webhook (the send may have reached WhatsApp), then cancelled.
      await session.as('post', `/v1/campaigns/${id}/cancel`).expect(200);
      await waitFor(async () => expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 1, queued: 0, skipped: 1 }));
      const [request] = fake.requests.filter((r) => r.phoneNumberId === channel.phoneNumberId);
      await pushStatuses(testApp, session.tenantId, channel.id, [{ wamid: request.wamid!, status: 'delivered', callbackData: String(request.body.biz_opaque_callback_data) }]);
      await waitFor(async () => expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 1, skipped: 0, delivered: 1 }));
      const [delivery] = await allDeliveries(session, id);
      expect(delivery).toMatchObject({ subscriberId: citizen.id, status: 'delivered', providerMessageId: request.wamid, reason: null });
      expect((await campaignOf(session, id)).status).toBe('cancelled');
    } finally {
      fake.reset();
    }
  });

  it('does not take a status naming a delivery skipped before any send as its hand-over', async () => {
    const channel = await createChannel(session);
    const [inside] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1);
    const [outside] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1, { lastInboundAt: new Date(Date.now() - 3 * 86_400_000) });
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Solo nella finestra' } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 2, sent: 1, skipped: 1 }));
    const [request] = fake.requests.filter((r) => r.phoneNumberId === channel.phoneNumberId);
    const [skipped] = await testApp.dataSource.query(`SELECT id::text AS id FROM deliveries WHERE campaign_id = $1 AND subscriber_id = $2`, [id, outside.id]);
    // In one batch: the real message's status, and one naming the skipped delivery's callback data.
    await pushStatuses(testApp, session.tenantId, channel.id, [
      { wamid: request.wamid!, status: 'delivered', callbackData: String(request.body.biz_opaque_callback_data) },
      { wamid: 'wamid.NEVER-SENT', status: 'delivered', callbackData: skipped.id },
    ]);
    await waitFor(async () => expect((await campaignOf(session, id)).stats).toMatchObject({ delivered: 1 }));
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 2, delivered: 1, skipped: 1 });
    const deliveries = await allDeliveries(session, id);
    expect(deliveries.find((d) => d.subscriberId === outside.id)).toMatchObject({ status: 'skipped', reason: 'outside_window', providerMessageId: null });
    expect(deliveries.find((d) => d.subscriberId === inside.id)).toMatchObject({ status: 'delivered' });
  });

  it('applies a failed status Meta sends before the worker has recorded the message it answered', async () => {
    const channel = await createChannel(session);
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1);
    // Meta answers slowly; its failed webhook (which carries no callback data) comes first.
    fake.latencyMs = 2_000;
    fake.behave(() => ({ status: 200, body: { messaging_product: 'whatsapp', contacts: [{ input: 'x', wa_id: 'x' }], messages: [{ id: 'wamid.early-failure' }] } }));
    try {
      const id = await createCampaign(session, { channelId: channel.id, message: { type: 'template', template: { name: 'avviso', language: 'it' } } });
      await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
      await waitFor(() => expect(fake.requests.filter((r) => r.phoneNumberId === channel.phoneNumberId)).toHaveLength(1));
      await pushStatuses(testApp, session.tenantId, channel.id, [{ wamid: 'wamid.early-failure', status: 'failed', errorCode: 131026, errorTitle: 'Message undeliverable' }]);
      await waitFor(async () => expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 1, failed: 1 }), { timeoutMs: 20_000 });
      const [delivery] = await allDeliveries(session, id);
      expect(delivery).toMatchObject({ status: 'failed', providerMessageId: 'wamid.early-failure', errorCode: 131026 });
    } finally {
      fake.reset();
    }
  }, 30_000);

  it('skips, as cancelled, what a dead worker held when the campaign was cancelled, once its lease expires', async () => {
    const channel = await createChannel(session);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Orfano' } });
    // As a cancel leaves it when the job holding the delivery died: cancelled, one delivery still
    // queued under a lease that has now run out.
    const [orphan] = (await testApp.dataSource.query(
      `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, recipient, status, claimed_until)
       VALUES ($1, $2, $3, '+393470000010', 'queued', now() - interval '1 second') RETURNING id::text AS id`,
      [session.tenantId, id, channel.id],
    )) as { id: string }[];
    await testApp.dataSource.query(
      `UPDATE campaigns SET status = 'cancelled', cancelled_at = now(), recipients = 1, queued_count = 1 WHERE id = $1`,
      [id],
    );
    await waitFor(async () => expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 1, queued: 0, skipped: 1 }));
    const [row] = await testApp.dataSource.query(`SELECT status, reason FROM deliveries WHERE id = $1`, [orphan.id]);
    expect(row).toEqual({ status: 'skipped', reason: 'cancelled' });
    expect((await campaignOf(session, id)).status).toBe('cancelled');
    expect(fake.sent).toHaveLength(0);
  });

  it("does not let a job whose lease expired put back a delivery another job has claimed since", async () => {
    const channel = await createChannel(session);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Lease' } });
    // A delivery claimed by a first job, whose lease then expired (a stall longer than the stuck
    // threshold) and which a second job claimed again.
    const [first] = (await testApp.dataSource.query(
      `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, recipient, status, claimed_until)
       VALUES ($1, $2, $3, '+393470000009', 'queued', now() - interval '1 second') RETURNING id::text AS id, claimed_until::text AS lease`,
      [session.tenantId, id, channel.id],
    )) as { id: string; lease: string }[];
    // (An UPDATE answers its rows and its count.)
    const [[second]] = (await testApp.dataSource.query(`UPDATE deliveries SET claimed_until = now() + interval '2 minutes' WHERE id = $1 RETURNING claimed_until::text AS lease`, [
      first.id,
    ])) as [{ lease: string }[], number];
    const ledger = testApp.app.get(DeliveryLedger);
    const retry = (lease: string) => ledger.apply(asTenantId(session.tenantId), [{ id: first.id, from: 'queued', to: 'queued', at: new Date(), errorCode: 130429, lease }]);

    // The first job's retryable outcome arrives late: the second job's lease stays.
    expect(await retry(first.lease)).toEqual(new Set());
    const [held] = await testApp.dataSource.query(`SELECT claimed_until::text AS lease, error_code FROM deliveries WHERE id = $1`, [first.id]);
    expect(held).toEqual({ lease: second.lease, error_code: null });
    // The second job's own outcome applies and releases the delivery.
    expect(await retry(second.lease)).toEqual(new Set([first.id]));
    const [released] = await testApp.dataSource.query(`SELECT claimed_until, error_code FROM deliveries WHERE id = $1`, [first.id]);
    expect(released).toEqual({ claimed_until: null, error_code: 130429 });
  });

  it('skips subscribers over the monthly cap, except for emergencies', async () => {
    await session.as('patch', '/v1/tenant').send({ monthlyMessageCap: 1 }).expect(200);
    try {
      const channel = await createChannel(session);
      await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3);
      const first = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Primo' } });
      await session.as('post', `/v1/campaigns/${first}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, first)).toMatchObject({ status: 'completed', stats: { sent: 3 } }));
      const second = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Secondo' } });
      await session.as('post', `/v1/campaigns/${second}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, second)).toMatchObject({ status: 'completed', stats: { recipients: 3, sent: 0, skipped: 3 } }));
      expect((await allDeliveries(session, second)).map((d) => d.reason)).toEqual(['monthly_cap', 'monthly_cap', 'monthly_cap']);
      const emergency = await createCampaign(session, { channelId: channel.id, priority: 'emergency', message: { type: 'text', text: 'Evacuazione' } });
      await session.as('post', `/v1/campaigns/${emergency}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, emergency)).toMatchObject({ status: 'completed', priority: 'emergency', stats: { sent: 3 } }));

      // Messages still waiting for their number count too.
      const slow = await createChannel(session, { messagesPerSecond: 1 });
      await seedSubscribers(testApp.dataSource, session.tenantId, slow.id, 3);
      const waiting = await createCampaign(session, { channelId: slow.id, message: { type: 'text', text: 'In coda' } });
      await session.as('post', `/v1/campaigns/${waiting}/send`).expect(202);
      expect((await campaignOf(session, waiting)).stats.queued).toBeGreaterThan(1);
      const behind = await createCampaign(session, { channelId: slow.id, message: { type: 'text', text: 'Dietro' } });
      await session.as('post', `/v1/campaigns/${behind}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, behind)).toMatchObject({ status: 'completed', stats: { recipients: 3, sent: 0, skipped: 3 } }));
      await waitFor(async () => expect(await campaignOf(session, waiting)).toMatchObject({ status: 'completed', stats: { sent: 3 } }));

      // Emergencies do not use the cap up: after one, a normal campaign still reaches everyone.
      const fresh = await createChannel(session);
      await seedSubscribers(testApp.dataSource, session.tenantId, fresh.id, 3);
      const alert = await createCampaign(session, { channelId: fresh.id, priority: 'emergency', message: { type: 'text', text: 'Allerta rossa' } });
      await session.as('post', `/v1/campaigns/${alert}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, alert)).toMatchObject({ status: 'completed', stats: { sent: 3 } }));
      const followUp = await createCampaign(session, { channelId: fresh.id, message: { type: 'text', text: 'Scuole chiuse domani' } });
      await session.as('post', `/v1/campaigns/${followUp}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, followUp)).toMatchObject({ status: 'completed', stats: { recipients: 3, sent: 3, skipped: 0 } }));
    } finally {
      await session.as('patch', '/v1/tenant').send({ monthlyMessageCap: 5 }).expect(200);
    }
  });

  it('applies the monthly cap to each subscriber on their own count', async () => {
    await session.as('patch', '/v1/tenant').send({ monthlyMessageCap: 2 }).expect(200);
    try {
      const channel = await createChannel(session);
      const followers = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 2, { topicKeys: ['traffico'] });
      const others = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3);
      // The topic's followers get two messages this month, the others none.
      const sent: string[] = [];
      for (const [text, topics] of [['Lavori in via Roma', ['traffico']], ['Chiusura ponte', ['traffico']], ['Mercato spostato', undefined]] as const) {
        const id = await createCampaign(session, { channelId: channel.id, ...(topics ? { topics } : {}), message: { type: 'text', text } });
        await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
        await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'));
        sent.push(id);
      }
      // The third campaign found the followers at the cap: they were skipped, the others were not.
      const byId = new Map((await allDeliveries(session, sent[2])).map((d) => [d.subscriberId, d]));
      for (const follower of followers) expect(byId.get(follower.id)).toMatchObject({ status: 'skipped', reason: 'monthly_cap' });
      for (const other of others) expect(byId.get(other.id)).toMatchObject({ status: 'sent', reason: null });
      // One more: the others reach the cap with it, so the followers and nobody else are skipped.
      const fourth = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Raccolta rifiuti' } });
      await session.as('post', `/v1/campaigns/${fourth}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, fourth)).toMatchObject({ status: 'completed', stats: { recipients: 5, sent: 3, skipped: 2 } }));
      const fifth = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Ancora' } });
      await session.as('post', `/v1/campaigns/${fifth}/send`).expect(202);
      await waitFor(async () => expect(await campaignOf(session, fifth)).toMatchObject({ status: 'completed', stats: { recipients: 5, sent: 0, skipped: 5 } }));
    } finally {
      await session.as('patch', '/v1/tenant').send({ monthlyMessageCap: 5 }).expect(200);
    }
  });

  it("says how many more normal campaigns fit in every subscriber's monthly cap, counting each subscriber's own messages", async () => {
    const comune = await TenantSession.create(testApp);
    await disableQuietHours(comune);
    const channel = await createChannel(comune);
    await seedSubscribers(testApp.dataSource, comune.tenantId, channel.id, 2, { topicKeys: ['traffico'] });
    await seedSubscribers(testApp.dataSource, comune.tenantId, channel.id, 3, { topicKeys: ['meteo'] });
    // Two campaigns to two different topics: each subscriber has used one message of five.
    for (const topic of ['traffico', 'meteo']) {
      const id = await createCampaign(comune, { channelId: channel.id, topics: [topic], message: { type: 'text', text: `Avviso ${topic}` } });
      await comune.as('post', `/v1/campaigns/${id}/send`).expect(202);
      await waitFor(async () => expect((await campaignOf(comune, id)).status).toBe('completed'));
    }
    const usage = (await comune.as('get', '/v1/analytics/usage').expect(200)).body;
    expect(usage).toMatchObject({ monthlyMessageCap: 5, normalCampaigns: 2, messagesSent: 5, remainingNormalCampaigns: 4 });
    // An emergency to everyone uses none of it; a normal one to everyone, one more each.
    for (const priority of ['emergency', 'normal']) {
      const id = await createCampaign(comune, { channelId: channel.id, priority, message: { type: 'text', text: `A tutti (${priority})` } });
      await comune.as('post', `/v1/campaigns/${id}/send`).expect(202);
      await waitFor(async () => expect((await campaignOf(comune, id)).status).toBe('completed'));
    }
    expect((await comune.as('get', '/v1/analytics/usage').expect(200)).body).toMatchObject({ normalCampaigns: 3, emergencyCampaigns: 1, remainingNormalCampaigns: 3 });
  });

  it('lets an emergency overtake a normal campaign in flight on the same number', async () => {
    const channel = await createChannel(session, { messagesPerSecond: 20 });
    const crowd = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 120);
    const urgent = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3, { topicKeys: ['protezione-civile'] });
    const normal = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Notizie' } });
    await session.as('post', `/v1/campaigns/${normal}/send`).expect(202);
    await waitFor(() => expect(fake.sent.length).toBeGreaterThanOrEqual(5));
    const emergency = await createCampaign(session, { channelId: channel.id, topics: ['protezione-civile'], priority: 'emergency', message: { type: 'text', text: 'Allerta rossa' } });
    await session.as('post', `/v1/campaigns/${emergency}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(session, emergency)).status).toBe('completed'));
    const normalDone = fake.sent.filter((r) => (r.body.text as { body: string }).body === 'Notizie').length;
    // The emergency went out while most of the normal campaign was still waiting.
    expect(normalDone).toBeLessThan(crowd.length + urgent.length);
    await session.as('post', `/v1/campaigns/${normal}/cancel`).expect(200);
  });
  it('marks the citizens WhatsApp cannot reach (131026) for the comune, until a message reaches them or they write', async () => {
    const channel = await createChannel(session);
    const [syncFailed, asyncFailed, reachable] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3);
    /** A signed `messages` webhook, as Meta posts it to the channel's URL. */
    const webhook = async (value: Record<string, unknown>) => {
      const { bytes, signature } = signedWebhook(messagesWebhook(channel.phoneNumberId, value), channel.appSecret);
      await testApp.http().post(`/v1/webhooks/whatsapp/${channel.id}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signature).send(bytes.toString('utf8')).expect(200);
    };
    // Meta's failed status as in its fixture, for one of our messages.
    const failedStatus = (wamid: string, recipient: string, at: Date) => {
      const status = fixtureJson<{ entry: { changes: { value: { statuses: Record<string, unknown>[] } }[] }[] }>('webhook-status-failed.json').entry[0].changes[0].value.statuses[0];
      return { ...status, id: wamid, recipient_id: recipient.slice(1), timestamp: String(Math.floor(at.getTime() / 1000)) };
    };
    const status = (wamid: string, recipient: string, value: 'delivered' | 'read', at = new Date()) => ({ id: wamid, status: value, timestamp: String(Math.floor(at.getTime() / 1000)), recipient_id: recipient.slice(1) });
    const undeliverable = async () => (await session.as('get', `/v1/subscribers?channelId=${channel.id}&undeliverable=true`).expect(200)).body.data as { id: string; undeliverableSince: string | null }[];
    const sinceOf = async (id: string) => (await session.as('get', `/v1/subscribers/${id}`).expect(200)).body.undeliverableSince as string | null;

    // One refused at once, one failed after its 200 (as Meta often reports 131026).
    fake.behave((request) => (request.body.to === syncFailed.phone ? graphError(131026, 400, 'Message undeliverable') : null));
    const first = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Acqua interrotta in via Roma' } });
    await session.as('post', `/v1/campaigns/${first}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(session, first)).status).toBe('completed'));
    expect(fake.requests.filter((r) => r.body.to === syncFailed.phone)).toHaveLength(1); // not retried
    const failedAt = new Date(Date.now() - 1000);
    await webhook({ statuses: [failedStatus(fake.sentTo(asyncFailed.phone)[0].wamid!, asyncFailed.phone, failedAt)] });
    await waitFor(async () => expect((await campaignOf(session, first)).stats).toMatchObject({ sent: 1, failed: 2 }));

    const marked = await undeliverable();
    expect(marked.map((s) => s.id).sort()).toEqual([syncFailed.id, asyncFailed.id].sort());
    expect(new Date((await sinceOf(asyncFailed.id))!).getTime()).toBe(Math.floor(failedAt.getTime() / 1000) * 1000);
    expect(await sinceOf(reachable.id)).toBeNull();
    const others = (await session.as('get', `/v1/subscribers?channelId=${channel.id}&undeliverable=false`).expect(200)).body.data;
    expect(others.map((s: { id: string }) => s.id)).toEqual([reachable.id]);
    const bad = await session.as('get', '/v1/subscribers?undeliverable=maybe').expect(400);
    expect(String(bad.body.message)).toContain('undeliverable must be true or false');
    // Another comune's list does not show them.
    const other = await TenantSession.create(testApp);
    expect((await other.as('get', '/v1/subscribers?undeliverable=true').expect(200)).body.data).toEqual([]);

    // Later campaigns still try them (a new message is no retry: the app may have been updated).
    fake.behave(() => null);
    const second = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Acqua di nuovo disponibile' } });
    await session.as('post', `/v1/campaigns/${second}/send`).expect(202);
    await waitFor(async () => expect(await campaignOf(session, second)).toMatchObject({ status: 'completed', stats: { sent: 3 } }));
    // A message that reaches the phone clears the mark; so does the citizen writing to the comune.
    await webhook({ statuses: [status(fake.sentTo(syncFailed.phone)[0].wamid!, syncFailed.phone, 'read')] });
    await waitFor(async () => expect(await sinceOf(syncFailed.id)).toBeNull());
    expect(await sinceOf(asyncFailed.id)).not.toBeNull();
    await webhook({
      contacts: [{ profile: { name: 'Luca' }, wa_id: asyncFailed.phone.slice(1) }],
      messages: [{ from: asyncFailed.phone.slice(1), id: `wamid.undeliverable-${Date.now()}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Grazie, ora lo ricevo' } }],
    });
    await waitFor(async () => expect(await sinceOf(asyncFailed.id)).toBeNull());

    // A late report of a failure older than a message that reached the citizen since marks nothing.
    await webhook({ statuses: [status(fake.sentTo(reachable.phone)[1].wamid!, reachable.phone, 'delivered')] });
    await waitFor(async () => expect((await campaignOf(session, second)).stats.delivered).toBe(1));
    await webhook({ statuses: [failedStatus(fake.sentTo(reachable.phone)[0].wamid!, reachable.phone, new Date(Date.now() - 60_000))] });
    await waitFor(async () => expect(await allDeliveries(session, first, 'failed')).toHaveLength(3));
    expect(await sinceOf(reachable.id)).toBeNull();
    expect(await undeliverable()).toEqual([]);
  });
});
