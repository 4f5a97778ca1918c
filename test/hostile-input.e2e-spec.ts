import fc from 'fast-check';
import { createTestApp, TenantSession, TestApp } from '@app/testing';

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
