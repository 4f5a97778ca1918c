import { randomBytes } from 'crypto';
import type { Test } from 'supertest';
import type { TestApp } from './test-app';

export interface SessionOptions {
  /** approve the tenant (default true) */
  approve?: boolean;
  population?: number;
}

const operatorTokens = new WeakMap<TestApp, { token: string; until: number }>();

/**
 * A fresh comune for a test: signed up, approved by the operator, its admin logged in.
 * `as(method, path)` sends a request with the admin's token.
 */
export class TenantSession {
  tenantId: string;
  slug: string;
  adminEmail: string;
  adminPassword = 'password-of-the-admin';
  accessToken: string;
  refreshToken: string;

  private constructor(private readonly testApp: TestApp) {}

  static async operatorToken(testApp: TestApp): Promise<string> {
    const response = await testApp
      .http()
      .post('/v1/auth/login')
      .send({ email: testApp.config.platformAdmin.email, password: testApp.config.platformAdmin.password })
      .expect(200);
    return response.body.accessToken as string;
  }

  /**
   * The operator's token for approving sessions' tenants, reused for a minute: a file or a bench
   * creating dozens of comuni would otherwise hit the login throttle.
   */
  private static async approvingToken(testApp: TestApp): Promise<string> {
    const cached = operatorTokens.get(testApp);
    if (cached && cached.until > Date.now()) return cached.token;
    const token = await TenantSession.operatorToken(testApp);
    operatorTokens.set(testApp, { token, until: Date.now() + 60_000 });
    return token;
  }

  static async create(testApp: TestApp, options: SessionOptions = {}): Promise<TenantSession> {
    const session = new TenantSession(testApp);
    const suffix = randomBytes(4).toString('hex');
    session.slug = `comune-${suffix}`;
    session.adminEmail = `admin-${suffix}@comune.example`;
    const signup = await testApp
      .http()
      .post('/v1/tenants/signup')
      .send({ name: `Comune ${suffix}`, slug: session.slug, adminEmail: session.adminEmail, adminPassword: session.adminPassword, population: options.population })
      .expect(201);
    session.tenantId = signup.body.id;
    if (options.approve !== false) {
      const operator = await TenantSession.approvingToken(testApp);
      await testApp.http().post(`/v1/admin/tenants/${session.tenantId}/approve`).set('Authorization', `Bearer ${operator}`).expect(200);
    }
    const login = await testApp.http().post('/v1/auth/login').send({ email: session.adminEmail, password: session.adminPassword }).expect(200);
    session.accessToken = login.body.accessToken;
    session.refreshToken = login.body.refreshToken;
    return session;
  }

  /** A request as the tenant admin. */
  as(method: 'get' | 'post' | 'patch' | 'put' | 'delete', path: string): Test {
    return this.testApp.http()[method](path).set('Authorization', `Bearer ${this.accessToken}`);
  }

  /** Creates a person with the role and returns their access token. */
  async member(role: 'tenant_admin' | 'editor' | 'viewer'): Promise<string> {
    const email = `${role}-${randomBytes(4).toString('hex')}@comune.example`;
    await this.as('post', '/v1/users').send({ email, password: 'password-of-a-member', role }).expect(201);
    const login = await this.testApp.http().post('/v1/auth/login').send({ email, password: 'password-of-a-member' }).expect(200);
    return login.body.accessToken as string;
  }

  async apiKey(): Promise<string> {
    const response = await this.as('post', '/v1/api-keys').send({ name: 'integration' }).expect(201);
    return response.body.key as string;
  }
}
