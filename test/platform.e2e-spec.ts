import { createTestApp, TenantSession, TestApp } from '@app/testing';

describe('Platform: tenants, auth, roles, API keys', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false });
  });

  afterAll(async () => {
    await testApp.close();
  });

  describe('signup, approval, login, refresh', () => {
    it('takes a comune from signup (pending) through approval to a refreshed session', async () => {
      const http = testApp.http;
      const signup = await http()
        .post('/v1/tenants/signup')
        .send({ name: 'Comune di Valdoria', slug: 'valdoria-signup', adminEmail: 'urp@valdoria.example', adminPassword: 'una-password-lunga', population: 48000, istatCode: '048014' })
        .expect(201);
      expect(signup.body).toEqual({ id: expect.any(String), slug: 'valdoria-signup', name: 'Comune di Valdoria', status: 'pending' });

      const operator = await TenantSession.operatorToken(testApp);
      const pending = await http().get('/v1/admin/tenants?status=pending&limit=500').set('Authorization', `Bearer ${operator}`).expect(200);
      expect(pending.body.data.map((t: { id: string }) => t.id)).toContain(signup.body.id);

      const approved = await http().post(`/v1/admin/tenants/${signup.body.id}/approve`).set('Authorization', `Bearer ${operator}`).expect(200);
      expect(approved.body).toEqual({ id: signup.body.id, status: 'active' });

      const login = await http().post('/v1/auth/login').send({ email: 'URP@valdoria.example', password: 'una-password-lunga' }).expect(200);
      expect(login.body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), expiresIn: 900 });

      const me = await http().get('/v1/auth/me').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
      expect(me.body).toMatchObject({ tenantId: signup.body.id, role: 'tenant_admin' });

      const refreshed = await http().post('/v1/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(200);
      expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);
      await http().get('/v1/tenant').set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(200);
      // A refresh token is single use.
      await http().post('/v1/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(401);
      // An access token is no refresh token: an invalid credential.
      const mistaken = await http().post('/v1/auth/refresh').send({ refreshToken: refreshed.body.accessToken }).expect(401);
      expect(mistaken.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });

      const suspended = await http().post(`/v1/admin/tenants/${signup.body.id}/suspend`).set('Authorization', `Bearer ${operator}`).expect(200);
      expect(suspended.body).toEqual({ id: signup.body.id, status: 'suspended' });

      // Both decisions are in the audit log, with who took them; the comune sees its own entries.
      const audit = await http().get(`/v1/audit-log`).set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(200);
      expect(audit.body.data.map((e: { action: string }) => e.action)).toEqual(['tenant.suspended', 'tenant.approved']);
      expect(audit.body.data[0]).toMatchObject({ actorKind: 'user', targetType: 'tenant', targetId: signup.body.id });
    });

    it('refuses a duplicate slug or email with 409', async () => {
      const body = { name: 'Comune Uno', slug: 'dup-slug', adminEmail: 'dup@comune.example', adminPassword: 'una-password-lunga' };
      await testApp.http().post('/v1/tenants/signup').send(body).expect(201);
      const slug = await testApp.http().post('/v1/tenants/signup').send({ ...body, adminEmail: 'other@comune.example' }).expect(409);
      expect(slug.body).toMatchObject({ statusCode: 409, error: 'Conflict', message: expect.stringContaining('slug') });
      await testApp.http().post('/v1/tenants/signup').send({ ...body, slug: 'other-slug', adminEmail: 'DUP@comune.example' }).expect(409);
    });

    it('answers 401 to wrong credentials, a missing token and a forged one', async () => {
      await testApp.http().post('/v1/auth/login').send({ email: 'nobody@comune.example', password: 'whatever-password' }).expect(401);
      const session = await TenantSession.create(testApp);
      await testApp.http().post('/v1/auth/login').send({ email: session.adminEmail, password: 'wrong-password' }).expect(401);
      await testApp.http().get('/v1/tenant').expect(401);
      await testApp.http().get('/v1/tenant').set('Authorization', 'Bearer not.a.jwt').expect(401);
      await testApp.http().post('/v1/auth/refresh').send({ refreshToken: 'rt_unknown' }).expect(401);
    });
  });

  describe('password change and logout', () => {
    it("changes one's own password given the current one, ending every other session of the account at once", async () => {
      const session = await TenantSession.create(testApp);
      const http = testApp.http;
      const login = (password: string) => http().post('/v1/auth/login').send({ email: session.adminEmail, password });
      const other = (await login(session.adminPassword).expect(200)).body;
      const change = (token: string, body: object) => http().post('/v1/auth/password').set('Authorization', `Bearer ${token}`).send(body);

      const wrong = await change(session.accessToken, { currentPassword: 'not-the-password', newPassword: 'una-password-nuova' }).expect(400);
      expect(wrong.body.message).toBe('currentPassword is not the password of this account');
      const weak = await change(session.accessToken, { currentPassword: session.adminPassword, newPassword: 'aaaaaaaaaaaa' }).expect(400);
      expect(weak.body.message).toEqual(['newPassword must use at least 4 different characters']);
      const same = await change(session.accessToken, { currentPassword: session.adminPassword, newPassword: session.adminPassword }).expect(400);
      expect(same.body.message).toBe('newPassword must differ from currentPassword');
      // Nothing changed by the refusals: the other session still works.
      await http().get('/v1/tenant').set('Authorization', `Bearer ${other.accessToken}`).expect(200);

      const changed = await change(session.accessToken, { currentPassword: session.adminPassword, newPassword: 'una-password-nuova' }).expect(200);
      expect(changed.body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), expiresIn: 900 });
      // Every token issued before is refused, the changing session's own included; the new pair works.
      for (const token of [session.accessToken, other.accessToken]) {
        const ended = await http().get('/v1/tenant').set('Authorization', `Bearer ${token}`).expect(401);
        expect(ended.body.message).toBe('This session has ended (the password was changed since): log in again');
      }
      await http().post('/v1/auth/refresh').send({ refreshToken: other.refreshToken }).expect(401);
      await http().get('/v1/tenant').set('Authorization', `Bearer ${changed.body.accessToken}`).expect(200);
      await login(session.adminPassword).expect(401);
      const fresh = (await login('una-password-nuova').expect(200)).body;
      await http().post('/v1/auth/refresh').send({ refreshToken: changed.body.refreshToken }).expect(200);

      // In the comune's audit log, by whom; never the password.
      const audit = await http().get('/v1/audit-log').set('Authorization', `Bearer ${fresh.accessToken}`).expect(200);
      expect(audit.body.data[0]).toMatchObject({ action: 'user.password-changed', actorKind: 'user', targetType: 'user' });
      expect(JSON.stringify(audit.body)).not.toContain('una-password-nuova');
    });

    it('lets a viewer change their password, not an API key', async () => {
      const session = await TenantSession.create(testApp);
      const email = `viewer-pw-${session.slug}@comune.example`;
      await session.as('post', '/v1/users').send({ email, password: 'password-of-a-member', role: 'viewer' }).expect(201);
      const viewer = (await testApp.http().post('/v1/auth/login').send({ email, password: 'password-of-a-member' }).expect(200)).body;
      await testApp.http().post('/v1/auth/password').set('Authorization', `Bearer ${viewer.accessToken}`).send({ currentPassword: 'password-of-a-member', newPassword: 'la-mia-password' }).expect(200);
      await testApp.http().post('/v1/auth/login').send({ email, password: 'la-mia-password' }).expect(200);
      const key = await session.apiKey();
      await testApp.http().post('/v1/auth/password').set('X-API-Key', key).send({ currentPassword: 'x', newPassword: 'la-mia-password' }).expect(403);
      await testApp.http().post('/v1/auth/password').send({ currentPassword: 'x', newPassword: 'la-mia-password' }).expect(401);
    });

    it('ends a session on logout: its refresh token stops working, other sessions go on', async () => {
      const session = await TenantSession.create(testApp);
      const login = () => testApp.http().post('/v1/auth/login').send({ email: session.adminEmail, password: session.adminPassword }).expect(200);
      const [first, second] = [(await login()).body, (await login()).body];
      await testApp.http().post('/v1/auth/logout').send({ refreshToken: first.refreshToken }).expect(204);
      await testApp.http().post('/v1/auth/refresh').send({ refreshToken: first.refreshToken }).expect(401);
      await testApp.http().post('/v1/auth/refresh').send({ refreshToken: second.refreshToken }).expect(200);
      // Logging out twice, or with a token nobody has, says nothing either way.
      await testApp.http().post('/v1/auth/logout').send({ refreshToken: first.refreshToken }).expect(204);
      await testApp.http().post('/v1/auth/logout').send({ refreshToken: 'rt_unknown' }).expect(204);
      await testApp.http().post('/v1/auth/logout').send({}).expect(400);
    });
  });

  describe('rate limits', () => {
    it('slows down password guessing on one account with 429, without locking out other accounts', async () => {
      const guess = (email: string) => testApp.http().post('/v1/auth/login').send({ email, password: 'guess-guess' });
      const statuses: number[] = [];
      for (let i = 0; i < 22; i++) statuses.push((await guess('target@comune.example')).status);
      expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true);
      expect(statuses.slice(20)).toEqual([429, 429]);
      const limited = await guess('target@comune.example');
      expect(limited.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
      // Says when to try again, as its Retry-After header does (in seconds, within the minute).
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.body.message).toBe(`Too many requests: try again in ${retryAfter} second${retryAfter === 1 ? '' : 's'}`);
      expect((await guess('someone-else@comune.example')).status).toBe(401);
    });

    it('limits guesses at one account spread over many addresses: 100 an hour from anywhere', async () => {
      // Each guess from another address (through the trusted local proxy): the per-address limit never trips.
      const guess = (email: string, i: number) => testApp.http().post('/v1/auth/login').set('X-Forwarded-For', `10.9.${i >> 8}.${i & 255}`).send({ email, password: 'guess-guess' });
      const statuses: number[] = [];
      for (let i = 0; i < 101; i++) statuses.push((await guess('spread@comune.example', i)).status);
      expect(statuses.slice(0, 100).every((status) => status === 401)).toBe(true);
      expect(statuses[100]).toBe(429);
      expect((await guess('another@comune.example', 500)).status).toBe(401);
    });

    it('does not let guesses from elsewhere lock an account out of the addresses it logs in from', async () => {
      const session = await TenantSession.create(testApp);
      const login = (address: string, password: string) =>
        testApp.http().post('/v1/auth/login').set('X-Forwarded-For', address).send({ email: session.adminEmail, password });
      // The comune's office logs in as usual.
      await login('10.8.0.1', session.adminPassword).expect(200);
      // Guesses from other addresses reach the account-wide limit: 100 attempts from addresses not
      // known yet (the two first logins of the session and of the office were such, then 98 guesses).
      for (let i = 0; i < 98; i++) await login(`10.7.${i >> 8}.${i & 255}`, 'guess-guess').expect(401);
      // A new address is held, even with the right password (a guess that succeeds would be told apart otherwise)...
      await login('10.6.0.1', session.adminPassword).expect(429);
      // ...the office is not, and its own wrong passwords still count against its own address
      // (20 a minute: its two logins, then 18 wrong passwords).
      await login('10.8.0.1', session.adminPassword).expect(200);
      const statuses: number[] = [];
      for (let i = 0; i < 18; i++) statuses.push((await login('10.8.0.1', 'guess-guess')).status);
      expect(statuses.every((status) => status === 401)).toBe(true);
      await login('10.8.0.1', 'guess-guess').expect(429);
    });

    it('takes X-Forwarded-For only from the proxies TRUST_PROXY names', async () => {
      // The proxy is elsewhere (10.0.0.0/8): a client on loopback cannot name another address.
      const behindBalancer = await createTestApp({ worker: false, env: { TRUST_PROXY: '10.0.0.0/8' } });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 21; i++) {
          const response = await behindBalancer.http().post('/v1/auth/login').set('X-Forwarded-For', `192.0.2.${i}`).send({ email: 'forged@comune.example', password: 'guess-guess' });
          statuses.push(response.status);
        }
        expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true);
        expect(statuses[20]).toBe(429);
      } finally {
        await behindBalancer.close();
      }
    });

    it('counts the attempts of every API process against the same limit (kept in Redis)', async () => {
      // Two API processes of one deployment: the same database and the same Redis prefix.
      const prefix = `shared-${Date.now().toString(36)}`;
      const first = await createTestApp({ worker: false, env: { QUEUE_PREFIX: prefix } });
      const second = await createTestApp({ worker: false, env: { QUEUE_PREFIX: prefix } });
      try {
        const email = `bersaglio-${prefix}@comune.example`;
        const statuses: number[] = [];
        for (let i = 0; i < 22; i++) statuses.push((await (i % 2 === 0 ? first : second).http().post('/v1/auth/login').send({ email, password: 'guess-guess' })).status);
        // 20 a minute per account in all, not 20 per process.
        expect(statuses.slice(0, 20).every((status) => status === 401)).toBe(true);
        expect(statuses.slice(20)).toEqual([429, 429]);
      } finally {
        await first.close();
        await second.close();
      }
    });
  });

  describe('roles', () => {
    it('lets a viewer read but not write, and keeps tenant admins off operator routes', async () => {
      const session = await TenantSession.create(testApp);
      const viewer = await session.member('viewer');
      const editor = await session.member('editor');
      await testApp.http().get('/v1/tenant').set('Authorization', `Bearer ${viewer}`).expect(200);
      const denied = await testApp.http().patch('/v1/tenant').set('Authorization', `Bearer ${viewer}`).send({ monthlyMessageCap: 3 }).expect(403);
      expect(denied.body).toMatchObject({ statusCode: 403, error: 'Forbidden' });
      await testApp.http().patch('/v1/tenant').set('Authorization', `Bearer ${editor}`).send({ monthlyMessageCap: 3 }).expect(403);
      await testApp.http().post('/v1/users').set('Authorization', `Bearer ${editor}`).send({ email: 'x@comune.example', password: 'password-long', role: 'viewer' }).expect(403);
      await session.as('get', '/v1/admin/tenants').expect(403);
      await session.as('post', `/v1/admin/tenants/${session.tenantId}/approve`).expect(403);
    });

    it('keeps the operator off tenant routes', async () => {
      const operator = await TenantSession.operatorToken(testApp);
      await testApp.http().get('/v1/tenant').set('Authorization', `Bearer ${operator}`).expect(403);
    });
  });

  describe('API keys', () => {
    it('authenticates with a key until it is revoked; the key is never listed', async () => {
      const session = await TenantSession.create(testApp);
      const created = await session.as('post', '/v1/api-keys').send({ name: 'Protezione civile' }).expect(201);
      expect(created.body).toEqual({ id: expect.any(String), name: 'Protezione civile', key: expect.stringMatching(/^fd_/) });

      const viaKey = await testApp.http().get('/v1/tenant').set('X-API-Key', created.body.key).expect(200);
      expect(viaKey.body.id).toBe(session.tenantId);

      const listed = await session.as('get', '/v1/api-keys').expect(200);
      expect(JSON.stringify(listed.body)).not.toContain(created.body.key);

      // An integration cannot mint keys or people.
      await testApp.http().post('/v1/api-keys').set('X-API-Key', created.body.key).send({ name: 'again' }).expect(403);

      await session.as('delete', `/v1/api-keys/${created.body.id}`).expect(204);
      await testApp.http().get('/v1/tenant').set('X-API-Key', created.body.key).expect(401);
      await testApp.http().get('/v1/tenant').set('X-API-Key', 'fd_00000000_invalidinvalidinvalidinvalidinva').expect(401);
    });
  });

  describe('tenant isolation', () => {
    it("never shows or changes another comune's users, keys or settings", async () => {
      const valdoria = await TenantSession.create(testApp);
      const monteserrano = await TenantSession.create(testApp);
      const user = await valdoria.as('post', '/v1/users').send({ email: `ed-${valdoria.slug}@comune.example`, password: 'password-long', role: 'editor' }).expect(201);
      const key = await valdoria.as('post', '/v1/api-keys').send({ name: 'k' }).expect(201);

      await monteserrano.as('get', `/v1/users/${user.body.id}`).expect(404);
      await monteserrano.as('patch', `/v1/users/${user.body.id}`).send({ role: 'viewer' }).expect(404);
      await monteserrano.as('delete', `/v1/users/${user.body.id}`).expect(404);
      await monteserrano.as('delete', `/v1/api-keys/${key.body.id}`).expect(404);

      const users = await monteserrano.as('get', '/v1/users').expect(200);
      expect(users.body.data.map((u: { id: string }) => u.id)).not.toContain(user.body.id);
      const keys = await monteserrano.as('get', '/v1/api-keys').expect(200);
      expect(keys.body.data).toEqual([]);

      await monteserrano.as('patch', '/v1/tenant').send({ monthlyMessageCap: 2 }).expect(200);
      const own = await valdoria.as('get', '/v1/tenant').expect(200);
      expect(own.body.monthlyMessageCap).toBe(5);

      // The key still works for its own comune only.
      const viaKey = await testApp.http().get('/v1/users').set('X-API-Key', key.body.key).expect(403);
      expect(viaKey.body.statusCode).toBe(403);
      await valdoria.as('get', `/v1/users/${user.body.id}`).expect(200);
    });
  });

  describe('members', () => {
    it('keeps at least one tenant admin: the last one cannot step down', async () => {
      const session = await TenantSession.create(testApp);
      const me = (await session.as('get', '/v1/auth/me').expect(200)).body;
      const refused = await session.as('patch', `/v1/users/${me.id}`).send({ role: 'viewer' }).expect(409);
      expect(refused.body).toMatchObject({ statusCode: 409, code: 'last_tenant_admin' });
      expect((await session.as('get', `/v1/users/${me.id}`).expect(200)).body.role).toBe('tenant_admin');
      // With another admin named first, stepping down is fine.
      const other = await session.as('post', '/v1/users').send({ email: `admin2-${session.slug}@comune.example`, password: 'password-long', role: 'tenant_admin' }).expect(201);
      await session.as('patch', `/v1/users/${me.id}`).send({ role: 'editor' }).expect(200);
      // The step-down applies to this session's token at once: the other admin reads the members now.
      await session.as('get', `/v1/users/${other.body.id}`).expect(403);
      const login = await testApp.http().post('/v1/auth/login').send({ email: `admin2-${session.slug}@comune.example`, password: 'password-long' }).expect(200);
      const otherToken = login.body.accessToken as string;
      expect((await testApp.http().get(`/v1/users/${other.body.id}`).set('Authorization', `Bearer ${otherToken}`).expect(200)).body.role).toBe('tenant_admin');
      expect((await testApp.http().get(`/v1/users/${me.id}`).set('Authorization', `Bearer ${otherToken}`).expect(200)).body.role).toBe('editor');
    });
  });

  describe('bad input', () => {
    it('answers 400 naming the field, for wrong values, unknown fields and malformed JSON', async () => {
      const session = await TenantSession.create(testApp);
      const signup = await testApp.http().post('/v1/tenants/signup').send({ name: 'X', slug: 'Bad Slug!', adminEmail: 'not-an-email', adminPassword: 'short' }).expect(400);
      expect(signup.body.error).toBe('Bad Request');
      const messages = (signup.body.message as string[]).join(' ');
      for (const field of ['name', 'slug', 'adminEmail', 'adminPassword']) expect(messages).toContain(field);

      const unknown = await session.as('patch', '/v1/tenant').send({ status: 'active' }).expect(400);
      expect(unknown.body.message).toEqual(expect.arrayContaining([expect.stringContaining('status')]));

      const malformed = await session.as('patch', '/v1/tenant').set('Content-Type', 'application/json').send('{"name": ').expect(400);
      expect(malformed.body).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(/^Malformed JSON in request body: /) });
      // JSON that is not an object (the parser takes objects and arrays only) is said to be that.
      for (const body of ['null', '"Comune"', '42']) {
        const notAnObject = await session.as('patch', '/v1/tenant').set('Content-Type', 'application/json').send(body).expect(400);
        expect(notAnObject.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'The request body must be a JSON object' });
      }

      await session.as('patch', '/v1/tenant').send({ quietHoursStart: '25:00', timezone: 'Mars/Olympus' }).expect(400);
      // A zone in other letter case is stored as IANA spells it.
      expect((await session.as('patch', '/v1/tenant').send({ timezone: 'europe/rome' }).expect(200)).body.timezone).toBe('Europe/Rome');
      await session.as('post', '/v1/users').send({ email: 'a@b.example', password: 'password-long', role: 'platform_admin' }).expect(400);
      await session.as('get', '/v1/users?limit=501').expect(400);
      await session.as('get', '/v1/users?cursor=%%%').expect(400);
      await session.as('get', '/v1/users/not-a-uuid').expect(404);
      await testApp.http().post('/v1/auth/login').send({ email: ['a'], password: { $ne: 1 } }).expect(400);
    });
  });
});
