import { randomBytes } from 'crypto';
import { Clock } from '@app/core';
import { ALL_QUEUES } from '@app/queue';
import { createTestApp, TenantSession, TestApp } from '@app/testing';

/**
 * The operator's health view. The clock is fixed in 2031 so that only the rows seeded here fall
 * inside its time windows (other test files share the database).
 */
describe('Operator health: queues, throughput, provider errors, channels, stuck campaigns; metrics', () => {
  const NOW = new Date('2031-03-01T12:00:00Z');
  const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
  const MINUTE = 60_000;
  let testApp: TestApp;
  let comune: TenantSession;
  let operator: string;
  let channelId: string;
  let stuckId: string;

  const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => testApp.dataSource.query(sql, params) as Promise<T[]>;

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false, overrides: [{ provide: Clock, useValue: { now: () => NOW } }] });
    comune = await TenantSession.create(testApp);
    operator = await TenantSession.operatorToken(testApp);
    const tenantId = comune.tenantId;
    const [channel] = await query<{ id: string }>(
      `INSERT INTO channels (tenant_id, name, provider, phone_number_id, waba_id, display_phone_number, access_token_sealed, app_secret_sealed, verify_token_sealed,
                             status, paused_reason, quality_rating, messaging_limit_tier)
       VALUES ($1, 'Protezione civile', 'whatsapp_cloud', $2, 'waba', '+39 0571 111111', 'x', 'x', 'x', 'paused', 'Qualità bassa', 'RED', 'TIER_1K') RETURNING id`,
      [tenantId, `pn-${randomBytes(6).toString('hex')}`],
    );
    channelId = channel.id;
    const [done] = await query<{ id: string }>(
      `INSERT INTO campaigns (tenant_id, channel_id, title, message, status, started_at, recipients, sent_count, failed_count)
       VALUES ($1, $2, 'Allerta', '{"type":"text","text":"x"}', 'completed', $3, 17, 12, 5) RETURNING id`,
      [tenantId, channelId, ago(70 * MINUTE)],
    );
    const [stuck] = await query<{ id: string }>(
      `INSERT INTO campaigns (tenant_id, channel_id, title, message, status, started_at, recipients, queued_count)
       VALUES ($1, $2, 'Bloccata', '{"type":"text","text":"x"}', 'sending', $3, 4, 4) RETURNING id`,
      [tenantId, channelId, ago(40 * MINUTE)],
    );
    stuckId = stuck.id;
    const insert = (campaignId: string, status: string, count: number, at: { sent?: string; updated?: string; code?: number }) =>
      query(
        `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, recipient, status, error_code, sent_at, updated_at)
         SELECT $1, $2, $3, '+39347' || lpad(g::text, 7, '0'), $4, $5, $6, coalesce($7::timestamptz, now()) FROM generate_series(1, $8) g`,
        [tenantId, campaignId, channelId, status, at.code ?? null, at.sent ?? null, at.updated ?? null, count],
      );
    // Handed to WhatsApp: 3 in the last minute, 4 more in the last 5, 5 more in the last hour.
    await insert(done.id, 'sent', 3, { sent: ago(30_000) });
    await insert(done.id, 'delivered', 4, { sent: ago(3 * MINUTE) });
    await insert(done.id, 'read', 5, { sent: ago(20 * MINUTE) });
    // Failures: two 131026 in the last hour, one 130429 two hours ago, one beyond the 24 hours.
    await insert(done.id, 'failed', 2, { updated: ago(30 * MINUTE), code: 131026 });
    // Handed over 40 minutes ago, then reported failed by Meta's status: one message tried, not two.
    await insert(done.id, 'failed', 1, { sent: ago(40 * MINUTE), updated: ago(10 * MINUTE), code: 131026 });
    await insert(done.id, 'failed', 1, { updated: ago(120 * MINUTE), code: 130429 });
    await insert(done.id, 'failed', 1, { updated: ago(30 * 60 * MINUTE), code: 131047 });
    // The stuck campaign: 4 deliveries queued 30 minutes ago, nothing handed since.
    await insert(stuck.id, 'queued', 4, { updated: ago(30 * MINUTE) });
    // Waiting to be tried again: two refused by Meta's rate limit five minutes ago, one by an expired token.
    await insert(stuck.id, 'queued', 2, { updated: ago(5 * MINUTE), code: 130429 });
    await insert(stuck.id, 'queued', 1, { updated: ago(5 * MINUTE), code: 190 });
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('shows the operator queues, throughput, provider errors, channels, stuck campaigns and volume', async () => {
    const response = await testApp.http().get('/v1/admin/health').set('Authorization', `Bearer ${operator}`).expect(200);
    const body = response.body;
    expect(body.queues.map((q: { name: string }) => q.name)).toEqual(ALL_QUEUES);
    for (const queue of body.queues) expect(queue).toEqual({ name: queue.name, waiting: expect.any(Number), active: expect.any(Number), delayed: expect.any(Number), failed: expect.any(Number) });
    expect(body.throughput).toEqual({ lastMinute: 3, last5Minutes: 7 });
    expect(body.providerErrors).toEqual([
      { code: 131026, count: 3 },
      { code: 130429, count: 1 },
    ]);
    expect(body.retryingErrors).toEqual([
      { code: 130429, count: 2 },
      { code: 190, count: 1 },
    ]);
    const channel = body.channels.find((c: { id: string }) => c.id === channelId);
    expect(channel).toEqual({
      id: channelId,
      tenantId: comune.tenantId,
      tenantName: expect.any(String),
      name: 'Protezione civile',
      provider: 'whatsapp_cloud',
      displayPhoneNumber: '+39 0571 111111',
      status: 'paused',
      pausedReason: 'Qualità bassa',
      qualityRating: 'RED',
      messagingLimitTier: 'TIER_1K',
      messagesPerSecond: 80,
      sentLastMinute: 3,
      sentLast5Minutes: 7,
      sentLastHour: 13,
      failedLastHour: 3,
      // 3 of the 15 messages tried (13 handed over, one of which failed since, and 2 refused): not 3 of 16.
      errorRate: 0.2,
      providerErrors: [
        { code: 131026, count: 3 },
        { code: 130429, count: 1 },
      ],
    });
    // Other test files' campaigns are older than this fixed clock too: look at this comune's.
    expect(body.stuckCampaigns.filter((c: { tenantId: string }) => c.tenantId === comune.tenantId)).toEqual([{ id: stuckId, tenantId: comune.tenantId, title: 'Bloccata', pending: 4, lastProgressAt: ago(30 * MINUTE) }]);
    expect(body.tenantsByVolume).toEqual([{ tenantId: comune.tenantId, name: expect.any(String), messagesLast30Days: 12, campaignsLast30Days: 2 }]);
  });

  it('is for the platform operator only: comune roles get 403, no credential 401', async () => {
    await comune.as('get', '/v1/admin/health').expect(403);
    const viewer = await comune.member('viewer');
    await testApp.http().get('/v1/admin/health').set('Authorization', `Bearer ${viewer}`).expect(403);
    await testApp.http().get('/v1/admin/health').set('X-API-Key', await comune.apiKey()).expect(403);
    await testApp.http().get('/v1/admin/health').expect(401);
  });

  it('mounts Bull Board at /admin/queues for the operator only (Bull transport)', async () => {
    expect(testApp.transport.kind).toBe('bull');
    const anonymous = await testApp.http().get('/admin/queues').expect(401);
    expect(anonymous.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    await comune.as('get', '/admin/queues').expect(403);
    await comune.as('get', '/admin/queues/api/queues').expect(403);
    const page = await testApp.http().get('/admin/queues').set('Authorization', `Bearer ${operator}`).expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const queues = await testApp.http().get('/admin/queues/api/queues').set('Authorization', `Bearer ${operator}`).expect(200);
    expect(queues.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([...ALL_QUEUES].sort());
  });

  it("opens the board in a browser through the console's session cookie, for the operator only", async () => {
    const opened = await testApp.http().post('/v1/admin/queue-board/session').set('Authorization', `Bearer ${operator}`).expect(204);
    const setCookie = String(opened.headers['set-cookie']);
    expect(setCookie).toMatch(/^filodiretto_board=[^;]+; Max-Age=900; Path=\/admin\/queues; Expires=[^;]+; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0];
    // The browser sends the cookie, not a header.
    const page = await testApp.http().get('/admin/queues').set('Cookie', cookie).expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const queues = await testApp.http().get('/admin/queues/api/queues').set('Cookie', cookie).expect(200);
    expect(queues.body.queues).toHaveLength(ALL_QUEUES.length);
    // The ticket is not an access token, a forged or expired one opens nothing, and comuni cannot get one.
    await testApp.http().get('/v1/admin/health').set('Authorization', `Bearer ${cookie.split('=')[1]}`).expect(401);
    await testApp.http().get('/admin/queues/api/queues').set('Cookie', 'filodiretto_board=eyJhbGciOiJIUzI1NiJ9.e30.forged').expect(401);
    await testApp.http().get('/admin/queues/api/queues').set('Cookie', `filodiretto_board=${operator}`).expect(401);
    await testApp.http().get('/admin/queues/api/queues').set('Cookie', 'filodiretto_board=%E0%A4%A').expect(401);
    await comune.as('post', '/v1/admin/queue-board/session').expect(403);
    await testApp.http().post('/v1/admin/queue-board/session').expect(401);
  });

  it('exposes queue depth, delivery, webhook and dispatch metrics to Prometheus', async () => {
    const { recordDeliveryStatus, recordDispatch, recordWebhookEvent } = await import('@app/core');
    recordDeliveryStatus('failed', 131026, 2);
    recordWebhookEvent('status');
    recordDispatch('whatsapp_cloud', 3);
    const response = await testApp.http().get('/metrics').expect(200);
    expect(response.text).toMatch(/filodiretto_queue_jobs\{queue="message-dispatch",state="waiting"\} \d+/);
    expect(response.text).toMatch(/filodiretto_deliveries_total\{status="failed",error_code="131026"\} \d+/);
    expect(response.text).toMatch(/filodiretto_webhook_events_total\{kind="status"\} \d+/);
    expect(response.text).toContain('filodiretto_dispatch_total{provider="whatsapp_cloud"} 3');
    expect(response.text).not.toContain(channelId);
    await testApp.http().get('/health').expect(200);
  });
});
