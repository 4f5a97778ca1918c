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
