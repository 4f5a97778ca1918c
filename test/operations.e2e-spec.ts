import { createTestApp, TenantSession, TestApp } from '@app/testing';

describe('Operations: health and metrics', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false });
  });

  afterAll(async () => {
    await testApp.close().catch(() => undefined);
  });

  it('reports the database and Redis up, without a credential', async () => {
    const health = await testApp.http().get('/health').expect(200);
    expect(health.body.info).toEqual({
      database: expect.objectContaining({ status: 'up' }),
      queue: { status: 'up', transport: 'bull' },
    });
  });

  it('exposes Prometheus metrics with the HTTP request histogram', async () => {
    const session = await TenantSession.create(testApp);
    await session.as('get', '/v1/tenant').expect(200);
    const metrics = await testApp.http().get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
    expect(metrics.text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/v1\/tenant",status="200"\} \d+/);
  });

  it('counts each request under the status it was answered with: refusals by guards and errors too', async () => {
    const session = await TenantSession.create(testApp);
    const count = async (pattern: string) => Number(new RegExp(`http_request_duration_seconds_count\\{${pattern}\\} (\\d+)`).exec((await testApp.http().get('/metrics').expect(200)).text)?.[1] ?? 0);
    const missing = 'method="GET",route="/v1/campaigns/:id",status="404"';
    const unauthenticated = 'method="GET",route="/v1/tenant",status="401"';
    const invalid = 'method="POST",route="/v1/topics",status="400"';
    const before = { missing: await count(missing), unauthenticated: await count(unauthenticated), invalid: await count(invalid) };
    await session.as('get', '/v1/campaigns/00000000-0000-4000-8000-000000000000').expect(404);
    await testApp.http().get('/v1/tenant').expect(401);
    await testApp.http().get('/v1/tenant').expect(401);
    await session.as('post', '/v1/topics').send({ key: 'Not A Key', name: 'x' }).expect(400);
    expect({ missing: await count(missing), unauthenticated: await count(unauthenticated), invalid: await count(invalid) }).toEqual({
      missing: before.missing + 1,
      unauthenticated: before.unauthenticated + 2,
      invalid: before.invalid + 1,
    });
  });

  it('answers 404 with the contract body on an unknown route', async () => {
    const response = await testApp.http().get('/v1/does-not-exist').set('Authorization', 'Bearer x').expect(404);
    expect(response.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('answers 503 when the database stops answering', async () => {
    await testApp.dataSource.destroy();
    const health = await testApp.http().get('/health').expect(503);
    expect(health.body.error).toHaveProperty('database');
  });
});
