import fc from 'fast-check';
import { gzipSync } from 'zlib';
import { createTestApp, TenantSession, TestApp } from '@app/testing';
import { createChannel } from './campaign-fixtures';

/**
 * Hostile input against every operation of the OpenAPI document: wrong types, huge strings, odd
 * Unicode, prototype keys, deep nesting. The answer is always below 500, and a refused request
 * stores nothing.
 */

interface Operation {
  path: string;
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  hasBody: boolean;
  isPublic: boolean;
  queryNames: string[];
}

const hostileString = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e', '💥'.repeat(300), 'a'.repeat(70_000), "' OR 1=1 --", '../../etc/passwd', '<script>alert(1)</script>', 'NaN', '-1', '1e309'),
);

const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    hostileString,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const hostileBody: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.dictionary(fc.constantFrom('name', 'phone', 'channelId', 'message', 'topics', 'email', 'password', 'role', 'type', 'text', 'slug'), hostileValue).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '{"__proto__": {"role": "platform_admin", "isAdmin": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    `${'['.repeat(5000)}${']'.repeat(5000)}`,
    `{"a":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`,
    '{"name": "x", "name": "y"}',
    'not json at all',
    '{"unterminated": ',
  ),
);

function operationsOf(document: { paths: Record<string, Record<string, { requestBody?: unknown; security?: unknown[]; parameters?: { in: string; name: string }[] }>> }): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      operations.push({
        path,
        method: method as Operation['method'],
        hasBody: operation.requestBody !== undefined,
        isPublic: Array.isArray(operation.security) && operation.security.length === 0,
        queryNames: (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      });
    }
  }
  return operations;
}

describe('Hostile input on every route', () => {
  let testApp: TestApp;
  let session: TenantSession;
  let operations: Operation[];

  /** Rows of the fuzzed tenant across every table that has a tenant_id. */
  async function storedRows(): Promise<number> {
    const tables: { table_name: string }[] = await testApp.dataSource.query(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'tenant_id' AND table_name <> 'audit_log'`,
    );
    const counts = await testApp.dataSource.query(
      tables.map((t) => `SELECT count(*)::int AS n FROM "${t.table_name}" WHERE tenant_id = $1`).join(' UNION ALL '),
      [session.tenantId],
    );
    return counts.reduce((sum: number, row: { n: number }) => sum + row.n, 0);
  }

  beforeAll(async () => {
    testApp = await createTestApp();
    session = await TenantSession.create(testApp);
    operations = operationsOf((await testApp.http().get('/docs-json').expect(200)).body);
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('never answers 5xx, and stores nothing when it refuses', async () => {
    const uuid = fc.oneof(fc.uuid(), hostileString);
    const failures: string[] = [];
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(uuid, hostileBody, fc.dictionary(fc.constantFrom(...operation.queryNames, 'limit', 'cursor'), hostileString, { maxKeys: 3 }), async (id, body, query) => {
          const path = operation.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(String(id)));
          const before = await storedRows();
          let request = testApp.http()[operation.method](path).query(query);
          if (!operation.isPublic) request = request.set('Authorization', `Bearer ${session.accessToken}`);
          if (operation.hasBody || operation.method !== 'get') request = request.set('Content-Type', 'application/json').send(body);
          const response = await request;
          if (response.status >= 500) failures.push(`${operation.method.toUpperCase()} ${operation.path} -> ${response.status} with ${body.slice(0, 120)}`);
          if (response.status >= 400) {
            const after = await storedRows();
            if (after !== before) failures.push(`${operation.method.toUpperCase()} ${operation.path} refused (${response.status}) but stored ${after - before} row(s)`);
          }
          return response.status < 500;
        }),
        { numRuns: 12, seed: 20261122 },
      ).catch(() => undefined);
    }
    expect(failures).toEqual([]);
    // The prototype of plain objects was not polluted by any body.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  }, 240_000);

  it('refuses a body over the size limit with 413', async () => {
    const huge = JSON.stringify({ name: 'x'.repeat(5 * 1024 * 1024) });
    const response = await session.as('patch', '/v1/tenant').set('Content-Type', 'application/json').send(huge);
    expect(response.status).toBe(413);
    expect(response.body).toMatchObject({ statusCode: 413 });
    // An import file over its own limit says which it is.
    const channelId = (await createChannel(session, { provider: 'sandbox' })).id;
    const list = Buffer.alloc(50 * 1024 * 1024 + 1, '3471234567,Anna,\n');
    const upload = await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', list, 'lista.csv');
    expect(upload.status).toBe(413);
    expect(upload.body).toEqual({ statusCode: 413, error: 'Payload Too Large', message: 'file is larger than 50 MB, the most one import takes: split the list into several files' });
  });

  it('does not let a __proto__ key grant a role', async () => {
    const response = await testApp
      .http()
      .post('/v1/users')
      .set('Authorization', `Bearer ${session.accessToken}`)
      .set('Content-Type', 'application/json')
      .send('{"email":"proto@comune.example","password":"password-long","role":"viewer","__proto__":{"role":"platform_admin"}}');
    // The prototype key is dropped by the transformer: the person is created exactly as a viewer.
    expect(response.status).toBe(201);
    expect(response.body.role).toBe('viewer');
    const login = await testApp.http().post('/v1/auth/login').send({ email: 'proto@comune.example', password: 'password-long' }).expect(200);
    const me = await testApp.http().get('/v1/auth/me').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
    expect(me.body).toMatchObject({ role: 'viewer', tenantId: session.tenantId });
  });
});

describe('Input the validator or the database cannot take as it is', () => {
  let testApp: TestApp;
  let session: TenantSession;
  let channelId: string;

  beforeAll(async () => {
    testApp = await createTestApp();
    session = await TenantSession.create(testApp);
    channelId = (await createChannel(session, { provider: 'sandbox' })).id;
  });

  afterAll(async () => {
    await testApp.close();
  });

  const campaignCount = async () => Number((await testApp.dataSource.query(`SELECT count(*) FROM campaigns WHERE tenant_id = $1`, [session.tenantId]))[0].count);

  /** A refused request answers 400 with the contract's body naming the field, and stores nothing. */
  async function expectRefused(request: Promise<{ status: number; body: { statusCode?: number; error?: string; message?: unknown } }>, field: RegExp): Promise<void> {
    const before = await campaignCount();
    const response = await request;
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(String(response.body.message)).toMatch(field);
    expect(await campaignCount()).toBe(before);
  }

  it('refuses an array where an object belongs, naming the field', async () => {
    await expectRefused(session.as('post', '/v1/campaigns').send({ channelId, title: 't', message: [] }), /message must be an object/);
    await expectRefused(session.as('post', '/v1/campaigns').send({ channelId, title: 't', message: [{ type: 'text', text: 'x' }] }), /message must be an object/);
    await expectRefused(session.as('post', '/v1/campaigns').send({ channelId, title: 't', message: { type: 'template', template: [] } }), /template must be an object/);
    const refused = await session.as('patch', `/v1/channels/${channelId}`).send({ fallbackTemplate: [] });
    expect(refused.status).toBe(400);
    expect(String(refused.body.message)).toMatch(/fallbackTemplate must be an object/);
    expect((await session.as('get', `/v1/channels/${channelId}`).expect(200)).body.fallbackTemplate ?? null).toBeNull();
  });

  it('names a nested field once, with its whole path', async () => {
    const template = await session.as('post', '/v1/campaigns').send({ channelId, title: 't', message: { type: 'template', template: { name: 'Bad Name', language: 'italiano' } } }).expect(400);
    expect(template.body.message).toEqual(
      expect.arrayContaining(['message.template.name must be lowercase letters, digits and underscores', 'message.template.language must be a language code such as it or en_US']),
    );
    const fallback = await session.as('patch', `/v1/channels/${channelId}`).send({ fallbackTemplate: { name: 'ok_name', language: 'italiano' } }).expect(400);
    expect(fallback.body.message).toEqual(['fallbackTemplate.language must be a language code such as it or en_US']);
  });

  it('refuses a NUL character in any field, body or query, naming it', async () => {
    await expectRefused(session.as('post', '/v1/campaigns').send({ channelId, title: 'a\u0000b', message: { type: 'text', text: 'x' } }), /^title must not contain NUL characters$/);
    await expectRefused(
      session.as('post', '/v1/campaigns').send({ channelId, title: 't', message: { type: 'poll', text: 'Vieni?', options: ['Sì', 'N\u0000o'] } }),
      /^message\.options\[1\] must not contain NUL characters$/,
    );
    const topic = await session.as('post', '/v1/topics').send({ key: 'nul-test', name: 'Meteo\u0000' });
    expect(topic.status).toBe(400);
    expect(topic.body.message).toBe('name must not contain NUL characters');
    const listed = await session.as('get', '/v1/subscribers').query({ topic: 'x\u0000' });
    expect(listed.status).toBe(400);
    expect(listed.body.message).toBe('topic must not contain NUL characters');
  });

  it('refuses half of a surrogate pair in any field, naming it (the email validator threw on one: a 500)', async () => {
    // JSON's \ud800 escape decodes to a lone surrogate: sent as the raw body, as a client would write it.
    const raw = (path: string, json: string, as = false) =>
      (as ? session.as('post', path) : testApp.http().post(path)).set('Content-Type', 'application/json').send(json);
    const login = await raw('/v1/auth/login', '{"email":"\\ud800@comune.it","password":"una-password"}');
    expect(login.status).toBe(400);
    expect(login.body.message).toBe('email contains a lone UTF-16 surrogate, which is not a character');
    const signup = await raw('/v1/tenants/signup', '{"name":"Comune","slug":"surrogati","adminEmail":"\\udc00@comune.it","adminPassword":"una-password-lunga"}');
    expect(signup.status).toBe(400);
    expect(signup.body.message).toBe('adminEmail contains a lone UTF-16 surrogate, which is not a character');
    await expectRefused(raw('/v1/campaigns', `{"channelId":"${channelId}","title":"Allerta \\ud83d","message":{"type":"text","text":"x"}}`, true), /^title contains a lone UTF-16 surrogate/);
    // A whole pair (an emoji written as escapes) is a character like any other.
    const emoji = await raw('/v1/campaigns', `{"channelId":"${channelId}","title":"Allerta \\ud83c\\udf0a","message":{"type":"text","text":"x"}}`, true).expect(201);
    expect(emoji.body.title).toBe('Allerta 🌊');
  });

  it('refuses nesting deeper than any route takes inside a field, instead of overflowing the validator', async () => {
    const body = `{"channelId":"${channelId}","title":"t","message":{"type":"text","text":"x"},"topics":${'['.repeat(2000)}${']'.repeat(2000)}}`;
    await expectRefused(session.as('post', '/v1/campaigns').set('Content-Type', 'application/json').send(body), /^topics(\[0\])+ is nested too deeply/);
  });

  it('refuses an array far longer than any route takes before a validator walks it', async () => {
    // 100,000 distinct poll options: the uniqueness check is quadratic and held every request for seconds.
    const options = Array.from({ length: 100_000 }, (_, i) => `t${i}`);
    await expectRefused(session.as('post', '/v1/campaigns').send({ channelId, title: 't', message: { type: 'poll', text: 'q', options } }), /^message\.options has too many elements/);
    // 100,000 unknown fields were refused one message each: a 900 KB answer.
    const fields = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 1]));
    await expectRefused(session.as('post', '/v1/topics').send(fields), /^the request body has too many fields \(at most 1000\)$/);
  });

  it('refuses null for a field that cannot be empty in a partial update, naming it', async () => {
    for (const field of ['name', 'phoneNumberId', 'displayPhoneNumber', 'accessToken', 'messagesPerSecond', 'status']) {
      const response = await session.as('patch', `/v1/channels/${channelId}`).send({ [field]: null });
      expect({ field, status: response.status }).toEqual({ field, status: 400 });
      expect(String(response.body.message)).toContain(field);
    }
    for (const field of ['name', 'timezone', 'quietHoursStart', 'quietHoursEnd', 'monthlyMessageCap']) {
      const response = await session.as('patch', '/v1/tenant').send({ [field]: null });
      expect({ field, status: response.status }).toEqual({ field, status: 400 });
      expect(String(response.body.message)).toContain(field);
    }
    const draft = await session.as('post', '/v1/campaigns').send({ channelId, title: 'Bozza', message: { type: 'text', text: 'Ciao' } }).expect(201);
    for (const field of ['title', 'message', 'channelId', 'topics', 'priority']) {
      const response = await session.as('patch', `/v1/campaigns/${draft.body.id}`).send({ [field]: null });
      expect({ field, status: response.status }).toEqual({ field, status: 400 });
      expect(response.body.message).toBe(`${field} must not be null`);
    }
    expect((await session.as('get', `/v1/campaigns/${draft.body.id}`).expect(200)).body).toMatchObject({ title: 'Bozza', message: { type: 'text', text: 'Ciao' } });
    expect((await session.as('get', `/v1/channels/${channelId}`).expect(200)).body.name).toEqual(expect.any(String));
  });

  it('names the cursor when a made-up one does not fit the list', async () => {
    const madeUp = Buffer.from(JSON.stringify('abc')).toString('base64url');
    for (const path of ['/v1/topics', '/v1/channels', '/v1/subscribers', '/v1/users', '/v1/api-keys', '/v1/campaigns']) {
      const response = await session.as('get', path).query({ cursor: madeUp });
      expect({ path, status: response.status, message: response.body.message }).toEqual({ path, status: 400, message: 'cursor is not a cursor returned by this list' });
    }
    // Of the right type but out of its column's range: a bigint past 2^63, a 30 February.
    const draft = await session.as('post', '/v1/campaigns').send({ channelId, title: 'Bozza', message: { type: 'text', text: 'Ciao' } }).expect(201);
    const tooBig = Buffer.from(JSON.stringify('9223372036854775808')).toString('base64url');
    const noSuchDay = Buffer.from(JSON.stringify(['2026-02-30T00:00:00.000Z', '5b0e6f1c-7a43-4d2b-9c1e-3f2a8d9e0b17'])).toString('base64url');
    for (const [path, cursor] of [
      ['/v1/audit-log', tooBig],
      [`/v1/campaigns/${draft.body.id}/deliveries`, tooBig],
      ['/v1/inbox', noSuchDay],
    ]) {
      const response = await session.as('get', path).query({ cursor });
      expect({ path, status: response.status, message: response.body.message }).toEqual({ path, status: 400, message: 'cursor is not a cursor returned by this list' });
    }
  });

  it('refuses a body in a content type it does not read, naming it, instead of ignoring the body', async () => {
    const body = JSON.stringify({ key: 'testo', name: 'Testo' });
    const plain = await session.as('post', '/v1/topics').set('Content-Type', 'text/plain').send(body).expect(400);
    expect(plain.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Content-Type must be application/json, not text/plain' });
    const untyped = await testApp.http().post('/v1/topics').set('Authorization', `Bearer ${session.accessToken}`).send(Buffer.from(body)).unset('Content-Type');
    expect(untyped.status).toBe(400);
    expect(untyped.body.message).toContain('Content-Type must be application/json');
    expect((await session.as('get', '/v1/topics').expect(200)).body.data.map((t: { key: string }) => t.key)).not.toContain('testo');
    // A form encoding is not read either (a plain HTML form on any site could post it cross-site).
    const form = await testApp.http().post('/v1/tenants/signup').type('form').send({ name: 'Comune', slug: 'da-un-form', adminEmail: 'form@example.org', adminPassword: 'una-password-lunga' });
    expect(form.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'Content-Type must be application/json, not application/x-www-form-urlencoded' });
    expect((await testApp.dataSource.query(`SELECT count(*)::int AS n FROM tenants WHERE slug = 'da-un-form'`))[0].n).toBe(0);
    // The import takes an upload, and says so; a multipart body elsewhere is not read.
    const csv = await session.as('post', '/v1/subscribers/import').set('Content-Type', 'text/csv').send('phone,name,topics\n3471234567,Anna,\n').expect(400);
    expect(csv.body.message).toBe('Content-Type must be multipart/form-data (the file in a field named file), not text/csv');
    const multipart = await session.as('post', '/v1/topics').field('key', 'multipart').field('name', 'Multipart').expect(400);
    expect(multipart.body.message).toBe('Content-Type must be application/json, not multipart/form-data');
    // JSON under any of its names is read.
    await session.as('post', '/v1/topics').set('Content-Type', 'application/json; charset=utf-8').send(body).expect(201);
  });

  it('reads JSON sent as application/*+json, and refuses another charset, bad UTF-8 or an unknown encoding with a 400 that says so', async () => {
    // A merge-patch body was taken as empty: 200 and nothing changed.
    await session.as('post', '/v1/topics').set('Content-Type', 'application/vnd.api+json').send(JSON.stringify({ key: 'vnd', name: 'Vnd' })).expect(201);
    await session.as('patch', '/v1/tenant').set('Content-Type', 'application/merge-patch+json').send(JSON.stringify({ quietHoursStart: '22:30' })).expect(200);
    expect((await session.as('get', '/v1/tenant').expect(200)).body.quietHoursStart).toBe('22:30');
    const refusals: [Record<string, string>, Buffer, string][] = [
      [{ 'Content-Type': 'application/json; charset=latin1' }, Buffer.from('{"key":"latin","name":"Caf\xe9"}', 'latin1'), 'Content-Type charset must be utf-8, not latin1'],
      [{ 'Content-Type': 'application/json; charset=utf-16' }, Buffer.from('{"key":"sedici","name":"x"}', 'utf16le'), 'Content-Type charset must be utf-8, not utf-16'],
      [{ 'Content-Type': 'application/json' }, Buffer.concat([Buffer.from('{"key":"rotto","name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), 'The request body is not valid UTF-8: send JSON encoded as UTF-8'],
      [{ 'Content-Type': 'application/json', 'Content-Encoding': 'foo' }, Buffer.from('{"key":"foo","name":"x"}'), 'Content-Encoding foo is not supported: send the body uncompressed, or as gzip, deflate or br'],
    ];
    // The bytes as they are (supertest would serialize a Buffer as JSON).
    const { port } = testApp.app.getHttpServer().address() as { port: number };
    const post = async (headers: Record<string, string>, bytes: Buffer) => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/topics`, { method: 'POST', headers: { ...headers, Authorization: `Bearer ${session.accessToken}` }, body: bytes });
      return { status: response.status, body: (await response.json()) as { message?: string } };
    };
    for (const [headers, bytes, message] of refusals) {
      expect({ headers, ...(await post(headers, bytes)) }).toEqual({ headers, status: 400, body: { statusCode: 400, error: 'Bad Request', message } });
    }
    const notGzip = await post({ 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, Buffer.from('{"key":"gz","name":"x"}'));
    expect(notGzip.status).toBe(400);
    expect(notGzip.body.message).toMatch(/^The request body could not be decompressed as its Content-Encoding \(gzip\) says: /);
    // Gzip that is gzip is read.
    expect((await post({ 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, gzipSync('{"key":"gzip","name":"Gzip"}'))).status).toBe(201);
    const keys = (await session.as('get', '/v1/topics').expect(200)).body.data.map((t: { key: string }) => t.key);
    expect(keys.filter((key: string) => ['latin', 'sedici', 'rotto', 'foo', 'gz'].includes(key))).toEqual([]);
  });

  it('refuses names and texts of spaces only, naming the field once', async () => {
    const refusals: [string, string, Record<string, unknown>, string][] = [
      ['post', '/v1/topics', { key: 'vuoto', name: '   ' }, 'name'],
      ['post', '/v1/channels', { name: '  ', provider: 'sandbox' }, 'name'],
      ['patch', `/v1/channels/${channelId}`, { welcomeText: ' \n ' }, 'welcomeText'],
      ['patch', `/v1/channels/${channelId}`, { subscribeKeywords: ['ISCRIVIMI', '  '] }, 'subscribeKeywords'],
      ['patch', '/v1/tenant', { name: '    ' }, 'name'],
      ['post', '/v1/api-keys', { name: ' ' }, 'name'],
    ];
    for (const [method, path, body, field] of refusals) {
      const response = await session.as(method as 'post' | 'patch', path).send(body);
      expect({ path, field, status: response.status, message: response.body.message }).toEqual({ path, field, status: 400, message: [`${field} must not be blank`] });
    }
    const signup = await testApp.http().post('/v1/tenants/signup').send({ name: '   ', slug: 'spazi', adminEmail: 'spazi@example.org', adminPassword: 'una-password-lunga' });
    expect({ status: signup.status, message: signup.body.message }).toEqual({ status: 400, message: ['name must not be blank'] });
    const privacy = await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: '333 512 0989' });
    expect({ status: privacy.status, message: privacy.body.message }).toEqual({ status: 400, message: ['privacyAccepted must be true'] });
  });

  it('refuses a new password of spaces, or of fewer than four different characters, at signup and for a new member', async () => {
    const signup = (adminPassword: string) => testApp.http().post('/v1/tenants/signup').send({ name: 'Comune', slug: 'password-deboli', adminEmail: 'deboli@example.org', adminPassword });
    expect((await signup(' '.repeat(12))).body.message).toEqual(['adminPassword must not be blank', 'adminPassword must use at least 4 different characters']);
    expect((await signup('abababababab')).body.message).toEqual(['adminPassword must use at least 4 different characters']);
    const member = await session.as('post', '/v1/users').send({ email: 'debole@example.org', password: 'aaaaaaaaaa', role: 'editor' });
    expect({ status: member.status, message: member.body.message }).toEqual({ status: 400, message: ['password must use at least 4 different characters'] });
    // Nothing was created by the refusals; a password of ordinary variety is taken.
    expect((await testApp.dataSource.query(`SELECT count(*)::int AS n FROM tenants WHERE slug = 'password-deboli'`))[0].n).toBe(0);
    await session.as('post', '/v1/users').send({ email: 'debole@example.org', password: 'una-password-lunga', role: 'editor' }).expect(201);
  });

  it('names the clashing field when concurrent creates race for the same unique value', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => session.as('post', '/v1/topics').send({ key: 'gara', name: 'Gara' })));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const refused of answers.filter((a) => a.status === 409)) expect(String(refused.body.message)).toMatch(/\bkey\b/);
  });

  it('lists campaigns newest first, and pages through those created within one millisecond without losing any', async () => {
    const ids: string[] = [];
    for (const title of ['Primo', 'Secondo', 'Terzo']) {
      ids.push((await session.as('post', '/v1/campaigns').send({ channelId, title, message: { type: 'text', text: title } }).expect(201)).body.id);
    }
    // The three in one millisecond, microseconds apart (a JavaScript Date keeps only milliseconds).
    await testApp.dataSource.query(
      `UPDATE campaigns SET created_at = '2030-01-01T00:00:00.000001Z'::timestamptz + (array_position($1::uuid[], id) * interval '1 microsecond') WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: { id: string }[]; nextCursor: string | null } } = await session.as('get', '/v1/campaigns').query({ limit: 1, ...(cursor ? { cursor } : {}) }).expect(200);
      seen.push(...page.body.data.map((c) => c.id));
      cursor = page.body.nextCursor;
    } while (cursor && seen.length < 10);
    expect(seen.slice(0, 3)).toEqual([...ids].reverse());
  });

  it('answers a new draft with every counter at zero', async () => {
    const created = await session.as('post', '/v1/campaigns').send({ channelId, title: 'Bozza', message: { type: 'text', text: 'Ciao' } }).expect(201);
    expect(created.body.stats).toEqual({ recipients: 0, queued: 0, sent: 0, delivered: 0, read: 0, failed: 0, skipped: 0 });
  });
});
