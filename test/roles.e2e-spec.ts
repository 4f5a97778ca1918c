import { JwtService } from '@nestjs/jwt';
import { AppConfig } from '@app/core';
import { createTestApp, TenantSession, TestApp, waitFor } from '@app/testing';

/**
 * Role matrix generated from the OpenAPI document: six actors against every operation. The
 * intended permission of each operation is written once, below; an operation the table does not
 * cover fails the test. A forbidden actor gets 401 (anonymous) or 403 (wrong role), never 2xx; an
 * allowed actor never gets 401/403 (an empty body then answers 400 or a random id 404, which
 * proves the guard let it through). Nothing is changed: ids are random and bodies empty.
 */

type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
type Actor = 'platform_admin' | 'tenant_admin' | 'editor' | 'viewer' | 'api_key' | 'anonymous';

const ACTORS: Actor[] = ['platform_admin', 'tenant_admin', 'editor', 'viewer', 'api_key', 'anonymous'];

const OPERATOR: Actor[] = ['platform_admin'];
const ANYONE: Actor[] = [...ACTORS];
const ANY_CREDENTIAL: Actor[] = ['platform_admin', 'tenant_admin', 'editor', 'viewer', 'api_key'];
const MEMBERS: Actor[] = ['tenant_admin', 'editor', 'viewer', 'api_key'];
const WRITERS: Actor[] = ['tenant_admin', 'editor', 'api_key'];
const ADMINS: Actor[] = ['tenant_admin', 'api_key'];
const ADMIN_USERS: Actor[] = ['tenant_admin'];
/** Public routes authenticated by their own secret (Meta's signature, the verify token): credentials change nothing. */
const SIGNED = 'signed' as const;

/** The intended permissions, first match wins: `METHOD path` (OpenAPI template) → who may call it. */
const PERMISSIONS: [RegExp, Actor[] | typeof SIGNED][] = [
  // The platform operator's routes.
  [/^(get|post) \/v1\/admin\//, OPERATOR],
  // Public: sign-up, login, the citizens' pages, console assets, health and metrics.
  [/^post \/v1\/(auth\/login|auth\/refresh|auth\/logout|tenants\/signup)$/, ANYONE],
  [/^(get \/c\/\{slug\}|post \/v1\/public\/\{slug\}\/subscriptions|get \/sandbox\/\{channelId\})$/, ANYONE],
  [/^get \/(console|console\/assets\/\{name\}|health|metrics)$/, ANYONE],
  [/^(get|post) \/v1\/webhooks\/whatsapp(\/\{channelId\})?$/, SIGNED],
  // Who am I: any credential, the operator included.
  [/^get \/v1\/auth\/me$/, ANY_CREDENTIAL],
  // One's own password: every person, the operator included; an API key has none.
  [/^post \/v1\/auth\/password$/, ['platform_admin', 'tenant_admin', 'editor', 'viewer']],
  // People and credentials: tenant admins as people, never an API key.
  [/^(get|post|patch|delete) \/v1\/(users|api-keys)(\/\{id\})?$/, ADMIN_USERS],
  // The comune's settings and audit trail, channels, sending and cancelling: tenant admins and API keys.
  [/^patch \/v1\/tenant$/, ADMINS],
  [/^get \/v1\/audit-log$/, ADMINS],
  [/^(post \/v1\/channels|(patch|delete) \/v1\/channels\/\{id\})$/, ADMINS],
  [/^post \/v1\/channels\/\{id\}\/templates\/sync$/, ADMINS],
  [/^post \/v1\/campaigns\/\{id\}\/(send|cancel)$/, ADMINS],
  // Writes: editors, tenant admins, API keys.
  [/^post \/v1\/(campaigns|subscribers|subscribers\/import|topics)$/, WRITERS],
  [/^(patch|delete) \/v1\/subscribers\/\{id\}$/, WRITERS],
  [/^(patch|delete) \/v1\/campaigns\/\{id\}$/, WRITERS],
  [/^post \/v1\/subscribers\/\{id\}\/unsubscribe$/, WRITERS],
  [/^post \/v1\/sandbox\/\{channelId\}\/inbound$/, WRITERS],
  // Reads: every member of the comune.
  [/^get \/v1\/(tenant|analytics|campaigns|channels|subscribers|topics|inbox|sandbox)(\/|$)/, MEMBERS],
];

interface Operation {
  path: string;
  method: Method;
}

const RANDOM_ID = '5b0e6f1c-7a43-4d2b-9c1e-3f2a8d9e0b17';

describe('Role matrix on every route of the OpenAPI document', () => {
  let testApp: TestApp;
  let session: TenantSession;
  let operations: Operation[];
  const headers = new Map<Actor, [string, string] | null>();

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false });
    const document = (await testApp.http().get('/docs-json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ path, method: method as Method })));
    session = await TenantSession.create(testApp);
    headers.set('platform_admin', ['Authorization', `Bearer ${await TenantSession.operatorToken(testApp)}`]);
    headers.set('tenant_admin', ['Authorization', `Bearer ${session.accessToken}`]);
    headers.set('editor', ['Authorization', `Bearer ${await session.member('editor')}`]);
    headers.set('viewer', ['Authorization', `Bearer ${await session.member('viewer')}`]);
    headers.set('api_key', ['X-API-Key', await session.apiKey()]);
    headers.set('anonymous', null);
  });

  afterAll(async () => {
    await testApp.close();
  });

  const permissionOf = (op: Operation) => PERMISSIONS.find(([pattern]) => pattern.test(`${op.method} ${op.path}`))?.[1];

  it('has an intended permission for every operation', () => {
    const uncovered = operations.filter((op) => permissionOf(op) === undefined).map((op) => `${op.method.toUpperCase()} ${op.path}`);
    expect(uncovered).toEqual([]);
    expect(operations.length).toBeGreaterThanOrEqual(60);
  });

  it('lets exactly the intended actors through', async () => {
    const failures: string[] = [];
    let checked = 0;
    for (const op of operations) {
      const allowed = permissionOf(op);
      if (allowed === undefined) continue;
      const path = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'slug' ? 'comune-che-non-esiste' : name === 'name' ? 'missing.js' : RANDOM_ID));
      const statuses: number[] = [];
      for (const actor of ACTORS) {
        let request = testApp.http()[op.method](path);
        const header = headers.get(actor);
        if (header) request = request.set(...header);
        if (op.method !== 'get' && op.method !== 'delete') request = request.set('Content-Type', 'application/json').send('{}');
        const status = (await request).status;
        statuses.push(status);
        checked += 1;
        const label = `${op.method.toUpperCase()} ${op.path} as ${actor} -> ${status}`;
        if (status >= 500) failures.push(`${label} (server error)`);
        if (allowed === SIGNED) {
          if (status < 300) failures.push(`${label} without a valid signature`);
          continue;
        }
        if (allowed.includes(actor)) {
          if (status === 401 || status === 403) failures.push(`${label}, but ${actor} is allowed`);
        } else if (status !== (actor === 'anonymous' ? 401 : 403)) {
          failures.push(`${label}, expected ${actor === 'anonymous' ? 401 : 403}`);
        }
      }
      // A signed route answers the same whoever calls: a credential neither helps nor hurts.
      if (allowed === SIGNED && new Set(statuses).size !== 1) failures.push(`${op.method.toUpperCase()} ${op.path} depends on the credential: ${statuses.join(',')}`);
    }
    expect(failures).toEqual([]);
    expect(checked).toBe(operations.length * ACTORS.length);
  }, 60_000);

  it('refuses a revoked API key and a malformed token with 401', async () => {
    const created = (await session.as('post', '/v1/api-keys').send({ name: 'da revocare' }).expect(201)).body as { id: string; key: string };
    const key = created.key;
    await testApp.http().get('/v1/topics').set('X-API-Key', key).expect(200);
    // Both credentials at once (they could name two comuni): refused, whichever is valid.
    const both = await testApp.http().get('/v1/topics').set('X-API-Key', key).set('Authorization', `Bearer ${session.accessToken}`).expect(401);
    expect(both.body.message).toBe('Send one credential: Authorization (a bearer token) or X-API-Key, not both');
    // Use is recorded (at most once a minute per key).
    await waitFor(async () => {
      const keys = (await session.as('get', '/v1/api-keys').expect(200)).body.data as { id: string; lastUsedAt: string | null }[];
      expect(keys.find((k) => k.id === created.id)?.lastUsedAt).toEqual(expect.any(String));
    });
    await session.as('delete', `/v1/api-keys/${created.id}`).expect((r) => expect([200, 204]).toContain(r.status));
    await testApp.http().get('/v1/topics').set('X-API-Key', key).expect(401);
    await testApp.http().get('/v1/topics').set('Authorization', 'Bearer not.a.jwt').expect(401);
    await testApp.http().get('/v1/topics').set('Authorization', `Bearer ${session.refreshToken}`).expect(401);
  });

  it('refuses an access token without an expiry, even one signed with the real secret', async () => {
    const jwt = new JwtService({ secret: testApp.app.get(AppConfig).jwt.secret });
    const { exp: _exp, iat: _iat, ...claims } = jwt.decode<Record<string, unknown>>(session.accessToken);
    await testApp.http().get('/v1/topics').set('Authorization', `Bearer ${jwt.sign(claims, { expiresIn: 600 })}`).expect(200);
    await testApp.http().get('/v1/topics').set('Authorization', `Bearer ${jwt.sign(claims)}`).expect(401);
  });

  it('applies a role change or a deletion to access tokens already issued', async () => {
    const token = await session.member('tenant_admin');
    const me = (await testApp.http().get('/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200)).body as { id: string; role: string };
    expect(me.role).toBe('tenant_admin');
    await testApp.http().post('/v1/api-keys').set('Authorization', `Bearer ${token}`).send({ name: 'prima' }).expect(201);

    // Demoted: the same token now carries an editor's rights.
    await session.as('patch', `/v1/users/${me.id}`).send({ role: 'editor' }).expect(200);
    expect((await testApp.http().get('/v1/auth/me').set('Authorization', `Bearer ${token}`).expect(200)).body.role).toBe('editor');
    await testApp.http().post('/v1/api-keys').set('Authorization', `Bearer ${token}`).send({ name: 'dopo' }).expect(403);
    await testApp.http().post('/v1/topics').set('Authorization', `Bearer ${token}`).send({ key: `viabilita-${me.id.slice(0, 6)}`, name: 'Viabilità' }).expect(201);

    // Deleted: the token stops working at once, not when it expires.
    await session.as('delete', `/v1/users/${me.id}`).expect((r) => expect([200, 204]).toContain(r.status));
    const refused = await testApp.http().get('/v1/topics').set('Authorization', `Bearer ${token}`).expect(401);
    expect(refused.body.message).toMatch(/no longer exists/);
  });
});
