import { randomBytes } from 'crypto';
import { createTestApp, FakeGraphApi, fixtureBytes, messagesWebhook, signedWebhook, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours } from './campaign-fixtures';

/**
 * Isolation sweep generated from the OpenAPI document: comune B's credentials (its tenant admin's
 * JWT and its API key) against every operation that names a resource of comune A. Every answer is
 * 404 (403 where B's credential may not use the route at all), never 2xx, and A's data is
 * byte-for-byte unchanged afterwards. Every list B can read is scanned for A's ids and numbers.
 * A path parameter that this file does not map to one of A's resources fails the sweep, so a
 * new route cannot escape it.
 */

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

interface Operation {
  path: string;
  method: Method;
  tags: string[];
  isPublic: boolean;
  params: string[];
}

/** A's resources, created through the API (and a signed webhook) before the sweep. */
interface ComuneA {
  tenantId: string;
  slug: string;
  channelId: string;
  phoneNumberId: string;
  appSecret: string;
  sandboxChannelId: string;
  sandboxContact: string;
  topicId: string;
  subscriberId: string;
  subscriberPhone: string;
  webhookSubscriberPhone: string;
  sentCampaignId: string;
  draftCampaignId: string;
  wamid: string;
  userId: string;
  apiKeyId: string;
}

type ParamValue = (a: ComuneA) => string;

/**
 * The explicit map: for each path template with parameters, which of A's resources each
 * parameter names. `public` marks routes without credentials, checked by the webhook cases or
 * by reason (they serve public pages that hold no comune's data behind the id).
 */
const PATH_PARAMETERS: Record<string, Record<string, ParamValue> | { public: string }> = {
  '/v1/admin/tenants/{id}/approve': { id: (a) => a.tenantId },
  '/v1/admin/tenants/{id}/suspend': { id: (a) => a.tenantId },
  '/v1/analytics/campaigns/{id}': { id: (a) => a.sentCampaignId },
  '/v1/analytics/campaigns/{id}/export.csv': { id: (a) => a.sentCampaignId },
  '/v1/api-keys/{id}': { id: (a) => a.apiKeyId },
  '/v1/campaigns/{id}': { id: (a) => a.sentCampaignId },
  '/v1/campaigns/{id}/send': { id: (a) => a.draftCampaignId },
  '/v1/campaigns/{id}/cancel': { id: (a) => a.sentCampaignId },
  '/v1/campaigns/{id}/deliveries': { id: (a) => a.sentCampaignId },
  '/v1/campaigns/{id}/poll-results': { id: (a) => a.sentCampaignId },
  '/v1/campaigns/{id}/reactions': { id: (a) => a.sentCampaignId },
  '/v1/channels/{id}': { id: (a) => a.channelId },
  '/v1/channels/{id}/templates': { id: (a) => a.channelId },
  '/v1/channels/{id}/templates/sync': { id: (a) => a.channelId },
  '/v1/sandbox/{channelId}/inbound': { channelId: (a) => a.sandboxChannelId },
  '/v1/sandbox/{channelId}/conversations': { channelId: (a) => a.sandboxChannelId },
  '/v1/sandbox/{channelId}/conversations/{contact}': { channelId: (a) => a.sandboxChannelId, contact: (a) => a.sandboxContact },
  '/v1/subscribers/{id}': { id: (a) => a.subscriberId },
  '/v1/subscribers/{id}/export': { id: (a) => a.subscriberId },
  '/v1/subscribers/{id}/unsubscribe': { id: (a) => a.subscriberId },
  '/v1/users/{id}': { id: (a) => a.userId },
  '/v1/webhooks/whatsapp/{channelId}': { public: 'webhook: checked with B’s verify token and B’s app secret below' },
  '/c/{slug}': { public: 'the public signup page of a comune, by design readable by anyone' },
  '/v1/public/{slug}/subscriptions': { public: 'citizens’ public signup, no credential involved' },
  '/sandbox/{channelId}': { public: 'static page of the simulated phone; it reads data only with an API key' },
  '/console/assets/{name}': { public: 'static console assets' },
};

/** Bodies that pass validation, so that a refusal proves the ownership check and not the DTO. */
const BODIES: Record<string, object> = {
  'patch /v1/channels/{id}': { name: 'Canale di B', accessToken: 'token-of-b' },
  'patch /v1/subscribers/{id}': { name: 'Intruso' },
  'patch /v1/users/{id}': { role: 'viewer' },
  'post /v1/sandbox/{channelId}/inbound': { from: '+39 347 000 1111', text: 'ATTIVA ISCRIZIONE' },
};

function operationsOf(document: { paths: Record<string, Record<string, { tags?: string[]; security?: unknown[]; parameters?: { in: string; name: string }[] }>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations.push({
        path,
        method: method as Method,
        tags: operation.tags ?? [],
        isPublic: Array.isArray(operation.security) && operation.security.length === 0,
        params: [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]),
      });
    }
  }
  return operations;
}

describe('Tenant isolation on every route of the OpenAPI document', () => {
  let testApp: TestApp;
  const fake = new FakeGraphApi();
  let operations: Operation[];
  let a: ComuneA;
  let sessionA: TenantSession;
  let sessionB: TenantSession;
  let b: { channelId: string; phoneNumberId: string; appSecret: string; apiKey: string };
  let credentialsB: { name: string; header: [string, string] }[];

  /** A fingerprint of every row comune A owns (each tenant-owned table, and its tenant row). */
  async function fingerprintOfA(): Promise<Record<string, string>> {
    const tables: { table_name: string }[] = await testApp.dataSource.query(
      `SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' ORDER BY 1`,
    );
    const result: Record<string, string> = {};
    for (const { table_name } of tables) {
      const [row] = await testApp.dataSource.query(`SELECT count(*)::int AS n, md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS h FROM "${table_name}" x WHERE tenant_id = $1`, [a.tenantId]);
      result[table_name] = `${row.n}:${row.h}`;
    }
    const [tenant] = await testApp.dataSource.query(`SELECT md5(x::text) AS h FROM tenants x WHERE id = $1`, [a.tenantId]);
    result.tenants = tenant.h;
    return result;
  }

  const pendingWebhookEvents = async () => Number((await testApp.dataSource.query(`SELECT count(*) FROM webhook_events WHERE processed_at IS NULL AND error IS NULL`))[0].count);

  beforeAll(async () => {
    await fake.start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url } });
    operations = operationsOf((await testApp.http().get('/docs-json').expect(200)).body);

    // Comune A: one resource of every kind.
    sessionA = await TenantSession.create(testApp);
    await disableQuietHours(sessionA);
    const channel = await createChannel(sessionA);
    const sandbox = await sessionA.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox' }).expect(201);
    const topic = await sessionA.as('post', '/v1/topics').send({ key: 'protezione-civile', name: 'Protezione civile' }).expect(201);
    const subscriber = await sessionA
      .as('post', '/v1/subscribers')
      .send({ channelId: channel.id, phone: '347 555 0101', name: 'Giulia', topics: ['protezione-civile'] })
      .expect(201);
    const sentCampaignId = await createCampaign(sessionA, { channelId: channel.id, message: { type: 'template', template: { name: 'allerta_meteo', language: 'it' } } });
    await sessionA.as('post', `/v1/campaigns/${sentCampaignId}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(sessionA, sentCampaignId)).status).toBe('completed'), { timeoutMs: 20_000 });
    const draftCampaignId = await createCampaign(sessionA, { channelId: channel.id, message: { type: 'text', text: 'Bozza' } });
    const user = await sessionA.as('post', '/v1/users').send({ email: `editor-${randomBytes(4).toString('hex')}@a.example`, password: 'password-of-a-member', role: 'editor' }).expect(201);
    const apiKey = await sessionA.as('post', '/v1/api-keys').send({ name: 'sito del comune' }).expect(201);
    // An inbound message through A's signed webhook (Meta's fixture, A's number).
    const inbound = Buffer.from(fixtureBytes('webhook-text-inbound.json').toString('utf8').replaceAll('118204937561023', channel.phoneNumberId));
    const signed = signedWebhook(inbound, channel.appSecret);
    await testApp.http().post(`/v1/webhooks/whatsapp/${channel.id}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signed.signature).send(inbound.toString('utf8')).expect(200);
    // The simulated phone writes to A's sandbox.
    await sessionA.as('post', `/v1/sandbox/${sandbox.body.id}/inbound`).send({ from: '+39 347 777 0202', text: 'ATTIVA ISCRIZIONE' }).expect(202);
    await waitFor(async () => expect(await pendingWebhookEvents()).toBe(0), { timeoutMs: 15_000 });
    await waitFor(async () => {
      const list = (await sessionA.as('get', `/v1/subscribers?channelId=${channel.id}`).expect(200)).body.data as { phone: string }[];
      expect(list.map((s) => s.phone)).toContain('+393478215604');
    });
    const [delivery] = (await sessionA.as('get', `/v1/campaigns/${sentCampaignId}/deliveries`).expect(200)).body.data as { providerMessageId: string }[];
    a = {
      tenantId: sessionA.tenantId,
      slug: sessionA.slug,
      channelId: channel.id,
      phoneNumberId: channel.phoneNumberId,
      appSecret: channel.appSecret,
      sandboxChannelId: sandbox.body.id,
      sandboxContact: '+393477770202',
      topicId: topic.body.id,
      subscriberId: subscriber.body.id,
      subscriberPhone: subscriber.body.phone,
      webhookSubscriberPhone: '+393478215604',
      sentCampaignId,
      draftCampaignId,
      wamid: delivery.providerMessageId,
      userId: user.body.id,
      apiKeyId: apiKey.body.id,
    };
    expect(a.wamid).toEqual(expect.any(String));

    // Comune B: its own channel, subscriber, campaign and API key.
    sessionB = await TenantSession.create(testApp);
    const channelB = await createChannel(sessionB);
    await sessionB.as('post', '/v1/subscribers').send({ channelId: channelB.id, phone: '347 555 0909' }).expect(201);
    await createCampaign(sessionB, { channelId: channelB.id, message: { type: 'text', text: 'Di B' } });
    b = { channelId: channelB.id, phoneNumberId: channelB.phoneNumberId, appSecret: channelB.appSecret, apiKey: await sessionB.apiKey() };
    credentialsB = [
      { name: "B's tenant_admin", header: ['Authorization', `Bearer ${sessionB.accessToken}`] },
      { name: "B's API key", header: ['X-API-Key', b.apiKey] },
    ];
  }, 60_000);

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  it('maps every path parameter of the document to one of A’s resources', () => {
    const unmapped = operations
      .filter((op) => op.params.length > 0)
      .filter((op) => {
        const entry = PATH_PARAMETERS[op.path];
        if (!entry) return true;
        if ('public' in entry) return !op.isPublic;
        return op.params.some((param) => typeof (entry as Record<string, ParamValue>)[param] !== 'function');
      })
      .map((op) => `${op.method.toUpperCase()} ${op.path}`);
    expect(unmapped).toEqual([]);
  });

  it('answers 404 (or 403) to B on every operation naming A’s resource, and A’s data is unchanged', async () => {
    const before = await fingerprintOfA();
    const failures: string[] = [];
    const swept: string[] = [];
    for (const op of operations.filter((o) => o.params.length > 0 && !o.isPublic)) {
      const entry = PATH_PARAMETERS[op.path] as Record<string, ParamValue> | undefined;
      if (!entry || 'public' in entry) continue; // reported by the mapping test
      const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(entry[name](a)));
      const operatorRoute = op.tags.includes('operator') || op.path.startsWith('/v1/admin/');
      const usersOnlyRoute = op.tags.includes('users') || op.tags.includes('api-keys');
      for (const credential of credentialsB) {
        const expected = operatorRoute || (credential.name.includes('API key') && usersOnlyRoute) ? 403 : 404;
        let request = testApp.http()[op.method](path).set(...credential.header);
        if (op.method !== 'get' && op.method !== 'delete') request = request.send(BODIES[`${op.method} ${op.path}`] ?? {});
        const response = await request;
        swept.push(`${op.method} ${op.path}`);
        if (response.status !== expected) {
          failures.push(`${op.method.toUpperCase()} ${path} as ${credential.name} -> ${response.status} (expected ${expected}) ${JSON.stringify(response.body).slice(0, 160)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(swept.length).toBeGreaterThanOrEqual(40);
    // Nothing B tried left a trace on A: no row of A's changed, no campaign sent, nobody unsubscribed.
    await waitFor(async () => expect(await pendingWebhookEvents()).toBe(0));
    expect(await fingerprintOfA()).toEqual(before);
    expect((await campaignOf(sessionA, a.draftCampaignId)).status).toBe('draft');
  }, 60_000);

  it('never shows A’s ids or numbers in any list or report B can read', async () => {
    const secretsOfA = [a.tenantId, a.slug, a.channelId, a.phoneNumberId, a.sandboxChannelId, a.sandboxContact, a.topicId, a.subscriberId, a.subscriberPhone, a.webhookSubscriberPhone, a.sentCampaignId, a.draftCampaignId, a.wamid, a.userId, a.apiKeyId];
    const failures: string[] = [];
    let lists = 0;
    // Webhook handshakes are not lists or reports (they echo Meta's challenge to a verify token): checked below.
    for (const op of operations.filter((o) => o.method === 'get' && o.params.length === 0 && !o.tags.includes('operator') && !o.tags.includes('webhooks') && !o.path.startsWith('/v1/admin/'))) {
      for (const credential of credentialsB) {
        const response = await testApp.http().get(op.path).set(...credential.header);
        if (response.status === 403 && op.tags.some((t) => t === 'users' || t === 'api-keys') && credential.name.includes('API key')) continue;
        if (response.status >= 400) {
          failures.push(`GET ${op.path} as ${credential.name} -> ${response.status}`);
          continue;
        }
        if (Array.isArray(response.body?.data)) lists += 1;
        const text = response.text ?? JSON.stringify(response.body);
        for (const value of secretsOfA) if (text.includes(value)) failures.push(`GET ${op.path} as ${credential.name} shows A's ${value}`);
      }
    }
    expect(failures).toEqual([]);
    expect(lists).toBeGreaterThanOrEqual(10);
    // The comune-wide reports B sees are B's own: one subscriber, one draft campaign.
    const overview = (await sessionB.as('get', '/v1/analytics/overview').expect(200)).body;
    expect(overview.subscribers).toMatchObject({ active: 1 });
    expect(overview.campaigns).toMatchObject({ total: 1, completed: 0 });
  });

  it('does not let B’s webhook URL, signed with B’s secret, act on A’s number', async () => {
    const before = await fingerprintOfA();
    const eventsBefore = Number((await testApp.dataSource.query(`SELECT count(*) FROM webhook_events WHERE channel_id = $1`, [b.channelId]))[0].count);
    const payload = messagesWebhook(a.phoneNumberId, {
      contacts: [{ profile: { name: 'Intruso' }, wa_id: '393470009999' }],
      messages: [
        { from: '393470009999', id: `wamid.intruder.${randomBytes(6).toString('hex')}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'ATTIVA ISCRIZIONE' } },
        { from: a.webhookSubscriberPhone.slice(1), id: `wamid.intruder.${randomBytes(6).toString('hex')}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'DISATTIVA ISCRIZIONE' } },
      ],
      statuses: [{ id: a.wamid, status: 'failed', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: a.subscriberPhone.slice(1), errors: [{ code: 131026, title: 'Message undeliverable' }] }],
    });
    const bytes = Buffer.from(JSON.stringify(payload));
    const signedByB = signedWebhook(bytes, b.appSecret);
    // B's own URL accepts B's signature (it is B's channel) but routes nothing to A's number.
    await testApp.http().post(`/v1/webhooks/whatsapp/${b.channelId}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signedByB.signature).send(bytes.toString('utf8')).expect(200);
    // A's URL and the platform URL refuse B's signature, storing nothing.
    await testApp.http().post(`/v1/webhooks/whatsapp/${a.channelId}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signedByB.signature).send(bytes.toString('utf8')).expect(401);
    await testApp.http().post('/v1/webhooks/whatsapp').set('Content-Type', 'application/json').set('X-Hub-Signature-256', signedByB.signature).send(bytes.toString('utf8')).expect(401);
    // A's handshake refuses B's verify token.
    await testApp.http().get(`/v1/webhooks/whatsapp/${a.channelId}`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me-not', 'hub.challenge': '42' }).expect(403);
    await testApp.http().get('/v1/webhooks/whatsapp').query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me-not', 'hub.challenge': '42' }).expect(403);
    await waitFor(async () => {
      const [row] = await testApp.dataSource.query(`SELECT count(*)::int AS n, count(processed_at)::int AS done FROM webhook_events WHERE channel_id = $1`, [b.channelId]);
      expect(row).toEqual({ n: eventsBefore + 1, done: eventsBefore + 1 });
    });
    expect(await fingerprintOfA()).toEqual(before);
    const delivery = (await sessionA.as('get', `/v1/campaigns/${a.sentCampaignId}/deliveries`).expect(200)).body.data[0];
    expect(delivery.status).not.toBe('failed');
    const intruders = await testApp.dataSource.query(`SELECT tenant_id FROM subscribers WHERE phone = '+393470009999'`);
    expect(intruders).toEqual([]);
  });
});
