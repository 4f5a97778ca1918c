import { randomBytes } from 'crypto';
import { createTestApp, FakeGraphApi, fixtureBytes, graphError, signedWebhook, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';
import { messagesWebhook } from '@app/testing';

jest.setTimeout(60_000);

/** A template as Meta's `GET /<WABA>/message_templates` lists it. */
const template = (name: string, status: string, body: string, extra: Record<string, unknown> = {}) => ({
  id: String(1_000_000 + Math.floor(Math.random() * 1_000_000)),
  name,
  language: 'it',
  status,
  category: 'UTILITY',
  components: [{ type: 'HEADER', format: 'TEXT', text: 'Comune di Valdoria' }, { type: 'BODY', text: body }, { type: 'FOOTER', text: 'Rispondi STOP' }],
  ...extra,
});

/** WABA-level template webhook (message_template_status_update), as Meta posts it to the app. */
const templateEvent = (wabaId: string, name: string, event: string, reason = 'NONE') => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: wabaId,
      time: 1791275711,
      changes: [{ field: 'message_template_status_update', value: { event, message_template_id: 77, message_template_name: name, message_template_language: 'it', reason } }],
    },
  ],
});

/**
 * Template sync (whatsapp-cloud-api.md §7, §10.9): the comune's templates are listed from Meta and
 * kept current by its webhooks; a campaign whose template WhatsApp would refuse is refused once, at
 * send, instead of failing for every citizen.
 */
describe('Message templates', () => {
  let testApp: TestApp;
  let fake: FakeGraphApi;
  let session: TenantSession;

  const postWebhook = async (body: Buffer | object, appSecret: string) => {
    const signed = signedWebhook(body, appSecret);
    await testApp.http().post('/v1/webhooks/whatsapp').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signed.signature).send(signed.bytes.toString()).expect(200);
  };
  const templatesOf = async (channelId: string) => (await session.as('get', `/v1/channels/${channelId}/templates?limit=500`).expect(200)).body as {
    data: { name: string; status: string; reason: string | null; bodyParameters: number | null; parameterNames: string[] | null }[];
    nextCursor: string | null;
    syncedAt: string | null;
  };
  const statusOf = async (channelId: string, name: string) => (await templatesOf(channelId)).data.find((t) => t.name === name)?.status;

  beforeAll(async () => {
    fake = await new FakeGraphApi().start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url } });
    session = await TenantSession.create(testApp);
    await disableQuietHours(session);
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  beforeEach(() => fake.reset());

  it('lists every page of the WABA from Meta, with parameters, and marks templates no longer listed as deleted', async () => {
    const channel = await createChannel(session);
    const wabaId = `waba${channel.phoneNumberId}`;
    expect(await templatesOf(channel.id)).toEqual({ data: [], nextCursor: null, syncedAt: null });
    const many = Array.from({ length: 130 }, (_, i) => template(`avviso_${String(i).padStart(3, '0')}`, 'APPROVED', 'Avviso: {{1}}'));
    fake.templates.set(wabaId, [
      ...many,
      template('interruzione_idrica', 'APPROVED', 'Acqua sospesa in {{zona}} il {{data}}.', { parameter_format: 'NAMED' }),
      template('allerta_meteo', 'PAUSED', 'Allerta {{1}} dalle {{2}}'),
    ]);

    const synced = (await session.as('post', `/v1/channels/${channel.id}/templates/sync?limit=500`).expect(200)).body as Awaited<ReturnType<typeof templatesOf>>;
    expect(synced.data).toHaveLength(132);
    expect(Date.parse(synced.syncedAt!)).toBeGreaterThan(Date.now() - 60_000);
    // Two pages of 100, with the channel's token, the second from the first's cursor.
    expect(fake.templateListRequests.map((r) => [r.wabaId, r.authorization, r.query.get('limit'), r.query.get('after') !== null])).toEqual([
      [wabaId, 'Bearer EAAG-test-token', '100', false],
      [wabaId, 'Bearer EAAG-test-token', '100', true],
    ]);
    expect(fake.templateListRequests[0].query.get('fields')).toContain('status');
    expect(synced.data.find((t) => t.name === 'interruzione_idrica')).toMatchObject({ status: 'APPROVED', bodyParameters: 2, parameterNames: ['zona', 'data'] });
    expect(synced.data.find((t) => t.name === 'allerta_meteo')).toMatchObject({ status: 'PAUSED', bodyParameters: 2, parameterNames: null });
    expect(await templatesOf(channel.id)).toEqual(synced);
    // Keyset pages, as every list: 132 in pages of 100.
    const first = (await session.as('get', `/v1/channels/${channel.id}/templates?limit=100`).expect(200)).body;
    const second = (await session.as('get', `/v1/channels/${channel.id}/templates?limit=100&cursor=${first.nextCursor}`).expect(200)).body;
    expect([first.data.length, second.data.length, second.nextCursor]).toEqual([100, 32, null]);
    expect(new Set([...first.data, ...second.data].map((t: { name: string }) => t.name)).size).toBe(132);

    // Deleted in WhatsApp Manager: the next sync says so instead of forgetting it.
    fake.templates.set(wabaId, [template('interruzione_idrica', 'APPROVED', 'Acqua sospesa in {{zona}} il {{data}}.', { parameter_format: 'NAMED' })]);
    const again = (await session.as('post', `/v1/channels/${channel.id}/templates/sync?limit=500`).expect(200)).body as Awaited<ReturnType<typeof templatesOf>>;
    expect(again.data.filter((t) => t.status === 'DELETED')).toHaveLength(131);
    expect(again.data.find((t) => t.name === 'interruzione_idrica')?.status).toBe('APPROVED');

    const audit = (await session.as('get', '/v1/audit-log').expect(200)).body.data as { action: string; details: Record<string, unknown> }[];
    expect(audit.filter((entry) => entry.action === 'templates.synced').map((entry) => entry.details.changed).sort()).toEqual([131, 132]);
  });

  it('refuses at send a template that is paused or missing, and sends it with its parameter names once Meta reinstates it', async () => {
    const channel = await createChannel(session);
    const wabaId = `waba${channel.phoneNumberId}`;
    const [citizen] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1);
    fake.templates.set(wabaId, [template('interruzione_idrica', 'PAUSED', 'Acqua sospesa in {{zona}} il {{data}}.', { parameter_format: 'NAMED' })]);
    await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(200);

    const water = { type: 'template', template: { name: 'interruzione_idrica', language: 'it', bodyParameters: ['via Roma', 'giovedì 8 ottobre'] } };
    const id = await createCampaign(session, { channelId: channel.id, message: water });
    const paused = await session.as('post', `/v1/campaigns/${id}/send`).expect(409);
    expect(paused.body.message).toMatch(/Template "interruzione_idrica" \(it\) is PAUSED on WhatsApp: only an APPROVED template can be sent/);
    // Nothing happened: still a draft, nothing sent; it can be sent once the template is usable.
    expect((await campaignOf(session, id)).status).toBe('draft');

    const missing = await createCampaign(session, { channelId: channel.id, message: { type: 'template', template: { name: 'avviso_inesistente', language: 'it' } } });
    const unknown = await session.as('post', `/v1/campaigns/${missing}/send`).expect(409);
    expect(unknown.body.message).toMatch(/"avviso_inesistente" \(it\) is not among the templates of the channel's WhatsApp Business Account/);

    // Meta lifts the pause: its webhook (platform URL, signed with the channel's app secret) makes it sendable.
    await postWebhook(templateEvent(wabaId, 'interruzione_idrica', 'REINSTATED'), channel.appSecret);
    await waitFor(async () => expect(await statusOf(channel.id, 'interruzione_idrica')).toBe('APPROVED'));
    const sent = await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    expect(sent.body).toMatchObject({ id, status: 'sending', warnings: [] });
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'));
    const [request] = fake.sentTo(citizen.phone);
    // A named-format template's values go with their names (send-template-request.json).
    expect(request.body.template).toEqual({
      name: 'interruzione_idrica',
      language: { code: 'it' },
      components: [
        {
          type: 'body',
          parameters: [
            { type: 'text', parameter_name: 'zona', text: 'via Roma' },
            { type: 'text', parameter_name: 'data', text: 'giovedì 8 ottobre' },
          ],
        },
      ],
    });
    const audit = (await session.as('get', '/v1/audit-log').expect(200)).body.data as { action: string; details: Record<string, unknown> }[];
    expect(audit.find((entry) => entry.action === 'template.status-changed')?.details).toMatchObject({ name: 'interruzione_idrica', event: 'REINSTATED', from: 'PAUSED', to: 'APPROVED' });
  });

  it("applies Meta's fixture to the comune on that WABA, and a pause or a flag with its reason", async () => {
    const appSecret = randomBytes(16).toString('hex');
    const created = await session
      .as('post', '/v1/channels')
      .send({ name: 'Valdoria', provider: 'whatsapp_cloud', phoneNumberId: `118${Date.now()}`, wabaId: '104938275610492', displayPhoneNumber: '390587123450', accessToken: 't', appSecret, verifyToken: 'v' })
      .expect(201);
    const channelId = created.body.id as string;
    // Heard of by webhook before any sync: known, and its list still not (syncedAt null).
    await postWebhook(fixtureBytes('webhook-template-status-approved.json'), appSecret);
    await waitFor(async () => expect(await statusOf(channelId, 'avviso_interruzione_idrica')).toBe('APPROVED'));
    expect((await templatesOf(channelId)).syncedAt).toBeNull();

    await postWebhook(templateEvent('104938275610492', 'avviso_interruzione_idrica', 'FLAGGED'), appSecret);
    await waitFor(async () => expect((await templatesOf(channelId)).data[0].reason).toMatch(/^quality flagged by WhatsApp/));
    expect(await statusOf(channelId, 'avviso_interruzione_idrica')).toBe('APPROVED');
    await postWebhook(templateEvent('104938275610492', 'avviso_interruzione_idrica', 'PAUSED', 'Low quality: blocked by many recipients'), appSecret);
    await waitFor(async () => expect(await statusOf(channelId, 'avviso_interruzione_idrica')).toBe('PAUSED'));
    expect((await templatesOf(channelId)).data[0].reason).toBe('Low quality: blocked by many recipients');

    // Signed with another secret: refused, the status stays.
    const forged = signedWebhook(templateEvent('104938275610492', 'avviso_interruzione_idrica', 'APPROVED'), 'not-the-secret');
    await testApp.http().post('/v1/webhooks/whatsapp').set('Content-Type', 'application/json').set('X-Hub-Signature-256', forged.signature).send(forged.bytes.toString()).expect(401);
    expect(await statusOf(channelId, 'avviso_interruzione_idrica')).toBe('PAUSED');

    // A template only heard of by webhook: other names are not known to be missing, so they go out.
    const id = await createCampaign(session, { channelId, message: { type: 'template', template: { name: 'mai_sincronizzato', language: 'it' } } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
  });

  it('checks body parameters against the synced template, the fallback template, and warns of what will hold a send back', async () => {
    const channel = await createChannel(session);
    const wabaId = `waba${channel.phoneNumberId}`;
    fake.templates.set(wabaId, [template('allerta_meteo', 'APPROVED', 'Allerta {{1}} dalle {{2}}'), template('avviso_generico', 'APPROVED', '{{1}}')]);
    await session.as('post', `/v1/campaigns`).send({ title: 'x', channelId: channel.id, message: { type: 'template', template: { name: 'allerta_meteo', language: 'it', bodyParameters: ['rossa'] } } }).expect(201);
    await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(200);

    const wrong = await session
      .as('post', '/v1/campaigns')
      .send({ title: 'Allerta', channelId: channel.id, message: { type: 'template', template: { name: 'allerta_meteo', language: 'it', bodyParameters: ['rossa'] } } })
      .expect(400);
    expect(wrong.body.message).toMatch(/message\.template\.bodyParameters has 1 value\(s\), but template "allerta_meteo" \(it\) takes 2/);
    // A fallback template carries the text as its one parameter.
    const fallback = await session.as('patch', `/v1/channels/${channel.id}`).send({ fallbackTemplate: { name: 'allerta_meteo', language: 'it' } }).expect(400);
    expect(fallback.body.message).toMatch(/fallbackTemplate "allerta_meteo" \(it\) takes 2 body parameter\(s\); a fallback template takes exactly one/);

    // A fallback disabled since it was set, and a paused channel: the text still goes to those in the window, with warnings.
    await session.as('patch', `/v1/channels/${channel.id}`).send({ fallbackTemplate: { name: 'avviso_generico', language: 'it' }, status: 'paused' }).expect(200);
    await postWebhook(templateEvent(wabaId, 'avviso_generico', 'DISABLED'), channel.appSecret);
    await waitFor(async () => expect(await statusOf(channel.id, 'avviso_generico')).toBe('DISABLED'));
    // Set now, such a fallback is refused (WhatsApp will never send it).
    const disabled = await session.as('patch', `/v1/channels/${channel.id}`).send({ fallbackTemplate: { name: 'avviso_generico', language: 'it' } }).expect(400);
    expect(disabled.body).toMatchObject({ code: 'template_not_sendable', message: expect.stringMatching(/^fallbackTemplate "avviso_generico" \(it\) is DISABLED on WhatsApp/) });
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 2);
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Scuole chiuse domani' } });
    const sent = await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    expect(sent.body.warnings).toEqual([
      expect.stringMatching(/^The channel is paused: nothing goes out until it is set active again/),
      expect.stringMatching(/^Subscribers outside the 24-hour window are skipped \(outside_window\): the channel's fallback template cannot be sent\. Template "avviso_generico" \(it\) is DISABLED/),
    ]);
  });

  it('fails a scheduled template campaign whose template was paused before it came due', async () => {
    const channel = await createChannel(session);
    const wabaId = `waba${channel.phoneNumberId}`;
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 2);
    fake.templates.set(wabaId, [template('evento_piazza', 'APPROVED', 'Evento in piazza')]);
    await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(200);
    const id = await createCampaign(session, {
      channelId: channel.id,
      scheduledAt: new Date(Date.now() + 3_000).toISOString(),
      message: { type: 'template', template: { name: 'evento_piazza', language: 'it' } },
    });
    expect((await session.as('post', `/v1/campaigns/${id}/send`).expect(202)).body.status).toBe('scheduled');
    await postWebhook(templateEvent(wabaId, 'evento_piazza', 'PAUSED'), channel.appSecret);
    await waitFor(async () => expect(await statusOf(channel.id, 'evento_piazza')).toBe('PAUSED'));
    const failed = await waitFor(async () => {
      const campaign = await campaignOf(session, id);
      expect(campaign.status).toBe('failed');
      return campaign;
    }, { timeoutMs: 15_000 });
    expect(failed.stats).toMatchObject({ recipients: 0, sent: 0 });
    expect(String(failed.failureReason)).toMatch(/is PAUSED on WhatsApp.*Nothing was sent$/);
    expect(fake.sent).toHaveLength(0);
  });

  it("stops a campaign whose template Meta refuses as paused, and refuses the next one at send", async () => {
    const channel = await createChannel(session, { messagesPerSecond: 5 });
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 30);
    fake.behave((request) => (request.body.type === 'template' ? graphError(132015, 400, 'Template is paused') : null));
    const alert = { type: 'template', template: { name: 'allerta_rossa', language: 'it' } };
    const first = await createCampaign(session, { channelId: channel.id, message: alert });
    await session.as('post', `/v1/campaigns/${first}/send`).expect(202);
    const stopped = await waitFor(
      async () => {
        const campaign = await campaignOf(session, first);
        expect(campaign.status).toBe('cancelled');
        expect(campaign.stats.queued).toBe(0);
        return campaign;
      },
      { timeoutMs: 15_000 },
    );
    // The first refusals stop the rest: a few tried, none sent, the others not sent at all.
    expect(stopped.failureReason).toMatch(/^WhatsApp refused template "allerta_rossa" \(it\) as paused \(error 132015\): the messages not sent yet were stopped/);
    expect(stopped.stats.sent).toBe(0);
    expect(stopped.stats.failed).toBeGreaterThanOrEqual(1);
    expect(stopped.stats.failed + stopped.stats.skipped).toBe(30);
    expect(fake.requests.length).toBe(stopped.stats.failed);
    expect(fake.requests.length).toBeLessThan(10);
    await waitFor(async () => expect(await statusOf(channel.id, 'allerta_rossa')).toBe('PAUSED'));
    expect((await templatesOf(channel.id)).data[0].reason).toBe('WhatsApp refused sends with error 132015');

    const second = await createCampaign(session, { channelId: channel.id, message: alert });
    const refused = await session.as('post', `/v1/campaigns/${second}/send`).expect(409);
    expect(refused.body.message).toMatch(/"allerta_rossa" \(it\) is PAUSED on WhatsApp \(WhatsApp refused sends with error 132015\)/);
  });

  it('stops a campaign whose template WhatsApp does not know (never synced, so taken at send) after its first refusals, saying what to check', async () => {
    const channel = await createChannel(session, { messagesPerSecond: 5 });
    await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 30);
    fake.behave((request) => (request.body.type === 'template' ? graphError(132001, 404, 'Template name does not exist in the translation') : null));
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'template', template: { name: 'avviso_inesistente', language: 'it' } } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    const stopped = await waitFor(
      async () => {
        const campaign = await campaignOf(session, id);
        expect(campaign.status).toBe('cancelled');
        expect(campaign.stats.queued).toBe(0);
        return campaign;
      },
      { timeoutMs: 15_000 },
    );
    expect(stopped.failureReason).toMatch(
      /^WhatsApp refused template "avviso_inesistente" \(it\) as unknown in that language, or not approved \(error 132001\): the messages not sent yet were stopped\. Check its name, language and values/,
    );
    // A few tried and failed with the code; the others not sent at all (cancelled), not 30 failures.
    expect(stopped.stats.sent).toBe(0);
    expect(stopped.stats.failed).toBeGreaterThanOrEqual(1);
    expect(stopped.stats.failed + stopped.stats.skipped).toBe(30);
    expect(fake.requests.length).toBe(stopped.stats.failed);
    expect(fake.requests.length).toBeLessThan(10);
    const failed = (await session.as('get', `/v1/campaigns/${id}/deliveries?status=failed`).expect(200)).body.data;
    expect(failed.every((delivery: { errorCode: number }) => delivery.errorCode === 132001)).toBe(true);
  });

  it('refuses an answer that is not a template list without touching what is known, and forgets the list when the WABA changes', async () => {
    const channel = await createChannel(session);
    const wabaId = `waba${channel.phoneNumberId}`;
    fake.templates.set(wabaId, [template('allerta_meteo', 'APPROVED', 'Allerta {{1}}')]);
    await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(200);
    for (const garbage of [{}, { data: 'nope' }, { data: {} }, [1, 2], { data: [null, { name: 5 }, { name: 'x' }] }]) {
      fake.templateListReply = { status: 200, body: garbage };
      const refused = await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(409);
      expect(refused.body.message).toMatch(/^WhatsApp refused to list the templates of WABA waba\d+ \(HTTP 200\): Graph API answered .*Nothing was changed/);
    }
    expect((await templatesOf(channel.id)).data).toMatchObject([{ name: 'allerta_meteo', status: 'APPROVED' }]);
    // Meta's own failure is a 503 to try again, not a hint at the channel's settings.
    fake.templateListReply = graphError(2, 503, 'Service temporarily unavailable');
    const down = await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(503);
    expect(down.body).toMatchObject({ code: 'provider_unavailable', message: expect.stringMatching(/^WhatsApp failed to list the templates .*\(error 2\).*Nothing was changed; try again in a few minutes$/) });
    expect((await templatesOf(channel.id)).data).toMatchObject([{ name: 'allerta_meteo', status: 'APPROVED' }]);
    fake.templateListReply = graphError(80007, 400, 'Rate limit issues');
    expect((await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(409)).body.message).toMatch(/limit on management calls .* try again later/);
    fake.templateListReply = null;

    // A fallback template the synced list does not have is refused when set.
    const unknown = await session.as('patch', `/v1/channels/${channel.id}`).send({ fallbackTemplate: { name: 'boh', language: 'it' } }).expect(400);
    expect(unknown.body.message).toMatch(/fallbackTemplate "boh" \(it\) is not among the templates/);
    // Another WABA: its list is not known yet.
    const moved = await session.as('patch', `/v1/channels/${channel.id}`).send({ wabaId: `altro${channel.phoneNumberId}` }).expect(200);
    expect(moved.body.wabaId).toBe(`altro${channel.phoneNumberId}`);
    expect(await templatesOf(channel.id)).toEqual({ data: [], nextCursor: null, syncedAt: null });
  });

  it('skips as outside the window, instead of sending, those a refused fallback template would have carried', async () => {
    const channel = await createChannel(session);
    const wabaId = `waba${channel.phoneNumberId}`;
    fake.templates.set(wabaId, [template('avviso_generico', 'APPROVED', '{{1}}')]);
    await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(200);
    await session.as('patch', `/v1/channels/${channel.id}`).send({ fallbackTemplate: { name: 'avviso_generico', language: 'it' } }).expect(200);
    await postWebhook(templateEvent(wabaId, 'avviso_generico', 'PAUSED'), channel.appSecret);
    await waitFor(async () => expect(await statusOf(channel.id, 'avviso_generico')).toBe('PAUSED'));
    const [inside] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1);
    const [outside] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 1, { lastInboundAt: new Date(Date.now() - 3 * 86_400_000) });
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'text', text: 'Strade chiuse' } });
    const sent = await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    expect(sent.body.warnings).toEqual([expect.stringMatching(/^Subscribers outside the 24-hour window are skipped \(outside_window\)/)]);
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'));
    expect(fake.sentTo(inside.phone)).toHaveLength(1);
    expect(fake.sentTo(outside.phone)).toHaveLength(0);
    expect((await campaignOf(session, id)).stats).toMatchObject({ recipients: 2, sent: 1, skipped: 1 });
  });

  it("counts a template's quick-reply answers as a poll, from citizens outside the 24-hour window too", async () => {
    const channel = await createChannel(session);
    const wabaId = `waba${channel.phoneNumberId}`;
    // Buttons as Meta lists them: a link first, then the two quick replies (positions 1 and 2).
    fake.templates.set(wabaId, [
      template('sondaggio_servizio', 'APPROVED', 'Il servizio di allerta ti è utile?', {
        components: [
          { type: 'BODY', text: 'Il servizio di allerta ti è utile?' },
          { type: 'BUTTONS', buttons: [{ type: 'URL', text: 'Sito del Comune', url: 'https://comune.example.it' }, { type: 'QUICK_REPLY', text: 'Sì' }, { type: 'QUICK_REPLY', text: 'No' }] },
        ],
      }),
    ]);
    await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(200);
    // Their last message is days old: a poll would skip them; a template reaches them.
    const [anna, bruno, carla] = await seedSubscribers(testApp.dataSource, session.tenantId, channel.id, 3, { lastInboundAt: new Date(Date.now() - 5 * 86_400_000) });
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'template', template: { name: 'sondaggio_servizio', language: 'it' } } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(async () => expect(await campaignOf(session, id)).toMatchObject({ status: 'completed', stats: { sent: 3 } }));
    const request = fake.sentTo(anna.phone)[0];
    expect(request.body.template).toEqual({
      name: 'sondaggio_servizio',
      language: { code: 'it' },
      components: [
        { type: 'button', sub_type: 'quick_reply', index: '1', parameters: [{ type: 'payload', payload: `poll:${id}:0` }] },
        { type: 'button', sub_type: 'quick_reply', index: '2', parameters: [{ type: 'payload', payload: `poll:${id}:1` }] },
      ],
    });
    // A quick-reply answer as Meta posts it: type button, our payload, the template message as context.
    const answer = async (citizen: { phone: string }, payload: string, text: string) => {
      const wamid = fake.sentTo(citizen.phone)[0].wamid;
      const body = messagesWebhook(channel.phoneNumberId, {
        contacts: [{ profile: { name: 'Cittadino' }, wa_id: citizen.phone.slice(1) }],
        messages: [{ from: citizen.phone.slice(1), id: `wamid.qr-${randomBytes(6).toString('hex')}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'button', context: { from: '390587123450', id: wamid }, button: { payload, text } }],
      });
      const signed = signedWebhook(body, channel.appSecret);
      await testApp.http().post(`/v1/webhooks/whatsapp/${channel.id}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signed.signature).send(signed.bytes.toString()).expect(200);
    };
    await answer(anna, `poll:${id}:0`, 'Sì');
    await answer(bruno, `poll:${id}:1`, 'No');
    await answer(carla, `poll:${id}:5`, 'Forse'); // a button the template does not have
    await waitFor(async () => expect((await session.as('get', `/v1/campaigns/${id}/poll-results`).expect(200)).body).toEqual({ options: [{ title: 'Sì', votes: 1 }, { title: 'No', votes: 1 }] }));
    await answer(bruno, `poll:${id}:0`, 'Sì'); // last answer wins
    await waitFor(async () => expect((await session.as('get', `/v1/campaigns/${id}/poll-results`).expect(200)).body).toEqual({ options: [{ title: 'Sì', votes: 2 }, { title: 'No', votes: 0 }] }));
    // A template without quick replies is no poll.
    fake.templates.set(wabaId, [...fake.templates.get(wabaId)!, template('avviso_semplice', 'APPROVED', 'Avviso')]);
    await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(200);
    const plain = await createCampaign(session, { channelId: channel.id, message: { type: 'template', template: { name: 'avviso_semplice', language: 'it' } } });
    expect((await session.as('get', `/v1/campaigns/${plain}/poll-results`).expect(400)).body.message).toMatch(/^Campaign is not a poll/);
  });

  it("says what Meta answered when the listing is refused, and refuses a sandbox; editors read, admins sync", async () => {
    const channel = await createChannel(session);
    fake.templateListReply = graphError(190, 401, 'Error validating access token: Session has expired');
    const refused = await session.as('post', `/v1/channels/${channel.id}/templates/sync`).expect(409);
    expect(refused.body.message).toMatch(/WhatsApp refused to list the templates of WABA waba\d+ \(error 190\): Error validating access token.*Check the channel's wabaId and accessToken/);
    expect((await templatesOf(channel.id)).syncedAt).toBeNull();

    const sandbox = await createChannel(session, { provider: 'sandbox' });
    const noTemplates = await session.as('post', `/v1/channels/${sandbox.id}/templates/sync`).expect(409);
    expect(noTemplates.body.message).toMatch(/sandbox channel has no WhatsApp templates/);
    expect(await templatesOf(sandbox.id)).toEqual({ data: [], nextCursor: null, syncedAt: null });

    const editor = await session.member('editor');
    await testApp.http().get(`/v1/channels/${channel.id}/templates`).set('Authorization', `Bearer ${editor}`).expect(200);
    await testApp.http().post(`/v1/channels/${channel.id}/templates/sync`).set('Authorization', `Bearer ${editor}`).expect(403);
  });
});
