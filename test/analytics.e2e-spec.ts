import { randomBytes } from 'crypto';
import { Clock } from '@app/core';
import { createTestApp, TenantSession, TestApp } from '@app/testing';

/** The analytics of a comune, checked against rows seeded with SQL (exact counts, rates, series). */
describe('Analytics: overview, subscribers over time, campaign funnels, export', () => {
  const NOW = new Date('2025-01-14T12:00:00Z');
  let testApp: TestApp;
  let comune: TenantSession;
  let other: TenantSession;
  let channelId: string;
  let pollCampaignId: string;
  let sendingCampaignId: string;
  let foreignCampaignId: string;
  const active: string[] = [];

  const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => testApp.dataSource.query(sql, params) as Promise<T[]>;

  async function insertChannel(tenantId: string): Promise<string> {
    const [row] = await query<{ id: string }>(
      `INSERT INTO channels (tenant_id, name, provider, phone_number_id, waba_id, display_phone_number, access_token_sealed, app_secret_sealed, verify_token_sealed)
       VALUES ($1, 'Canale', 'sandbox', $2, 'waba', '+39 0571 000000', 'x', 'x', 'x') RETURNING id`,
      [tenantId, `pn-${randomBytes(6).toString('hex')}`],
    );
    return row.id;
  }

  async function insertSubscriber(tenantId: string, channel: string, status: string, source: string): Promise<string> {
    const phone = `+39347${Math.floor(1_000_000 + Math.random() * 8_999_999)}`;
    const [row] = await query<{ id: string }>(
      `INSERT INTO subscribers (tenant_id, channel_id, phone, status, consent_source) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
      [tenantId, channel, phone, status, source],
    );
    return row.id;
  }

  async function consent(tenantId: string, channel: string, action: string, at: string, times = 1): Promise<void> {
    await query(
      `INSERT INTO consent_events (tenant_id, channel_id, action, source, occurred_at) SELECT $1, $2, $3, 'keyword', $4 FROM generate_series(1, $5)`,
      [tenantId, channel, action, at, times],
    );
  }

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false, overrides: [{ provide: Clock, useValue: { now: () => NOW } }] });
    comune = await TenantSession.create(testApp, { population: 1000 });
    other = await TenantSession.create(testApp);
    const tenantId = comune.tenantId;
    channelId = await insertChannel(tenantId);

    // 5 active (3 by keyword, 2 imported), 2 unsubscribed, 1 pending.
    for (const source of ['keyword', 'keyword', 'keyword', 'import', 'import']) active.push(await insertSubscriber(tenantId, channelId, 'active', source));
    await insertSubscriber(tenantId, channelId, 'unsubscribed', 'keyword');
    await insertSubscriber(tenantId, channelId, 'unsubscribed', 'web_form');
    await insertSubscriber(tenantId, channelId, 'pending', 'web_form');
    const [meteo] = await query<{ id: string }>(`INSERT INTO topics (tenant_id, key, name) VALUES ($1, 'meteo', 'Allerte meteo') RETURNING id`, [tenantId]);
    const [eventi] = await query<{ id: string }>(`INSERT INTO topics (tenant_id, key, name) VALUES ($1, 'eventi', 'Eventi') RETURNING id`, [tenantId]);
    for (const id of active.slice(0, 3)) await query(`INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id) VALUES ($1, $2, $3)`, [tenantId, id, meteo.id]);
    await query(`INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id) VALUES ($1, $2, $3)`, [tenantId, active[0], eventi.id]);

    // Consent history: 7 subscriptions and 2 unsubscriptions (net 5 = today's active).
    await consent(tenantId, channelId, 'subscribed', '2025-01-10T09:00:00Z', 2);
    await consent(tenantId, channelId, 'subscribed', '2025-01-11T23:30:00Z'); // 12 January in Rome
    await consent(tenantId, channelId, 'subscribed', '2025-01-12T10:00:00Z', 2);
    await consent(tenantId, channelId, 'unsubscribed', '2025-01-13T15:00:00Z');
    await consent(tenantId, channelId, 'requested', '2025-01-13T16:00:00Z');
    await consent(tenantId, channelId, 'subscribed', '2025-01-20T10:00:00Z', 2);
    await consent(tenantId, channelId, 'unsubscribed', '2025-01-21T10:00:00Z');

    // A completed poll: 12 recipients; 2 sent, 3 delivered, 4 read, 1 failed, 2 skipped.
    const [poll] = await query<{ id: string }>(
      `INSERT INTO campaigns (tenant_id, channel_id, title, message, status, started_at, completed_at, recipients, sent_count, delivered_count, read_count, failed_count, skipped_count, created_at)
       VALUES ($1, $2, 'Sondaggio ZTL', $3, 'completed', '2025-01-14T10:00:00Z', '2025-01-14T10:05:00Z', 12, 2, 3, 4, 1, 2, '2025-01-14T09:00:00Z') RETURNING id`,
      [tenantId, channelId, JSON.stringify({ type: 'poll', text: 'Vuoi la ZTL estesa?', options: ['Sì', 'No', 'Non so'] })],
    );
    pollCampaignId = poll.id;
    const deliveries: [string, number, string | null, number | null][] = [
      ['sent', 2, null, null],
      ['delivered', 3, null, null],
      ['read', 4, null, null],
      ['failed', 1, null, 131026],
      ['skipped', 1, 'outside_window', null],
      ['skipped', 1, 'monthly_cap', null],
    ];
    let n = 0;
    for (const [status, count, reason, errorCode] of deliveries) {
      for (let i = 0; i < count; i++) {
        n += 1;
        const delivered = status === 'delivered' || status === 'read';
        // delivered 10 s, 20 s, ... 70 s after the start
        await query(
          `INSERT INTO deliveries (tenant_id, campaign_id, channel_id, subscriber_id, recipient, status, reason, error_code, sent_at, delivered_at, read_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            tenantId, pollCampaignId, channelId, n <= 5 ? active[n - 1] : null, `+3934700000${String(n).padStart(2, '0')}`, status, reason, errorCode,
            ['sent', 'delivered', 'read'].includes(status) ? '2025-01-14T10:00:05Z' : null,
            delivered ? new Date(Date.parse('2025-01-14T10:00:00Z') + (n - 2) * 10_000).toISOString() : null,
            status === 'read' ? '2025-01-14T11:00:00Z' : null,
          ],
        );
      }
    }
    // Votes: two for "Sì", one for "No". Reactions: each citizen's latest counts; a removed one counts for none.
    for (const [subscriber, option] of [[active[0], 0], [active[1], 0], [active[2], 1]] as const) {
      await query(`INSERT INTO poll_votes (tenant_id, campaign_id, subscriber_id, option_index, answered_at) VALUES ($1, $2, $3, $4, now())`, [tenantId, pollCampaignId, subscriber, option]);
    }
    const reactions: [string, string, string][] = [
      [active[0], '👍', '2025-01-14T10:10:00Z'],
      [active[0], '❤️', '2025-01-14T10:20:00Z'],
      [active[1], '👍', '2025-01-14T10:10:00Z'],
      [active[2], '👍', '2025-01-14T10:10:00Z'],
      [active[2], '', '2025-01-14T10:30:00Z'],
    ];
    for (const [subscriber, emoji, at] of reactions) {
      await query(
        `INSERT INTO inbound_messages (tenant_id, channel_id, subscriber_id, provider_message_id, type, campaign_id, payload, received_at)
         VALUES ($1, $2, $3, $4, 'reaction', $5, $6, $7)`,
        [tenantId, channelId, subscriber, `wamid.r.${randomBytes(6).toString('hex')}`, pollCampaignId, JSON.stringify({ type: 'reaction', reaction: { emoji } }), at],
      );
    }

    // A campaign still sending (5 queued) and an emergency draft.
    const [sending] = await query<{ id: string }>(
      `INSERT INTO campaigns (tenant_id, channel_id, title, message, status, started_at, recipients, queued_count, created_at)
       VALUES ($1, $2, 'Chiusura scuole', '{"type":"text","text":"Scuole chiuse"}', 'sending', '2025-01-14T11:00:00Z', 5, 5, '2025-01-14T10:30:00Z') RETURNING id`,
      [tenantId, channelId],
    );
    sendingCampaignId = sending.id;
    await query(
      `INSERT INTO campaigns (tenant_id, channel_id, title, message, priority, status, started_at, recipients, read_count, created_at)
       VALUES ($1, $2, 'Allerta rossa', '{"type":"text","text":"Allerta"}', 'emergency', 'completed', '2025-01-14T11:30:00Z', 1, 1, '2025-01-14T11:20:00Z')`,
      [tenantId, channelId],
    );

    // Another comune, with a campaign of its own.
    const otherChannel = await insertChannel(other.tenantId);
    await insertSubscriber(other.tenantId, otherChannel, 'active', 'api');
    const [foreign] = await query<{ id: string }>(
      `INSERT INTO campaigns (tenant_id, channel_id, title, message, status, recipients, read_count) VALUES ($1, $2, 'Altrove', '{"type":"text","text":"x"}', 'completed', 1, 1) RETURNING id`,
      [other.tenantId, otherChannel],
    );
    foreignCampaignId = foreign.id;
    await consent(other.tenantId, otherChannel, 'subscribed', '2025-01-12T10:00:00Z', 9);
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('gives the overview: subscribers by status, adoption rate, messages that reached people, campaigns', async () => {
    const response = await comune.as('get', '/v1/analytics/overview').expect(200);
    expect(response.body).toEqual({
      subscribers: { active: 5, unsubscribed: 2, pending: 1 },
      adoptionRate: 0.005,
      // sent is cumulative: handed to WhatsApp = sent + delivered + read (2 + 3 + 4, plus 1 read emergency)
      messages: { sent: 10, delivered: 8, read: 5, failed: 1 },
      campaigns: { total: 3, completed: 2 },
    });
    const foreign = await other.as('get', '/v1/analytics/overview').expect(200);
    expect(foreign.body).toMatchObject({ subscribers: { active: 1, unsubscribed: 0, pending: 0 }, adoptionRate: null, campaigns: { total: 1, completed: 1 } });
  });

  it('draws subscribers per day in the comune timezone, anchored on today’s active count', async () => {
    const response = await comune.as('get', '/v1/analytics/subscribers?from=2025-01-10&to=2025-01-14&interval=day').expect(200);
    expect(response.body).toEqual({
      data: [
        { date: '2025-01-10', joined: 2, left: 0, active: 2 },
        { date: '2025-01-11', joined: 0, left: 0, active: 2 },
        { date: '2025-01-12', joined: 3, left: 0, active: 5 },
        { date: '2025-01-13', joined: 0, left: 1, active: 4 },
        { date: '2025-01-14', joined: 0, left: 0, active: 4 },
      ],
    });

    // The same events in UTC: the 23:30 subscription falls on 11 January.
    await testApp.dataSource.query(`UPDATE tenants SET timezone = 'UTC' WHERE id = $1`, [comune.tenantId]);
    try {
      const utc = await comune.as('get', '/v1/analytics/subscribers?from=2025-01-10&to=2025-01-12').expect(200);
      expect(utc.body.data).toEqual([
        { date: '2025-01-10', joined: 2, left: 0, active: 2 },
        { date: '2025-01-11', joined: 1, left: 0, active: 3 },
        { date: '2025-01-12', joined: 2, left: 0, active: 5 },
      ]);
    } finally {
      await testApp.dataSource.query(`UPDATE tenants SET timezone = 'Europe/Rome' WHERE id = $1`, [comune.tenantId]);
    }

    // Days to come have no figures: a range past today (14 January 2025 in Rome) ends today.
    const monthly = await comune.as('get', '/v1/analytics/subscribers?from=2024-12-01&to=2025-02-28&interval=month').expect(200);
    expect(monthly.body.data).toEqual([
      { date: '2024-12-01', joined: 0, left: 0, active: 0 },
      { date: '2025-01-01', joined: 5, left: 1, active: 4 },
    ]);
    const future = await comune.as('get', '/v1/analytics/subscribers?from=2025-03-01&to=2025-03-31').expect(200);
    expect(future.body.data).toEqual([]);

    // Default range: the 30 days ending today (14 January 2025 in Rome).
    const defaults = await comune.as('get', '/v1/analytics/subscribers').expect(200);
    expect(defaults.body.data).toHaveLength(30);
    expect(defaults.body.data[0].date).toBe('2024-12-16');
    expect(defaults.body.data[29]).toEqual({ date: '2025-01-14', joined: 0, left: 0, active: 4 });
  });

  it('refuses bad dates, reversed or too long ranges and unknown intervals with 400', async () => {
    for (const qs of ['from=2025-02-30', 'from=ieri', 'to=14/01/2025', 'from=2025-01-10&to=2025-01-01', 'from=2024-01-01&to=2025-01-10', 'interval=hour', 'foo=1']) {
      const response = await comune.as('get', `/v1/analytics/subscribers?${qs}`).expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
  });

  it('breaks subscribers down by consent source and by topic', async () => {
    const bySource = await comune.as('get', '/v1/analytics/subscribers/by-source').expect(200);
    expect(bySource.body.data).toEqual([
      { source: 'keyword', active: 3, unsubscribed: 1, pending: 0 },
      { source: 'import', active: 2, unsubscribed: 0, pending: 0 },
      { source: 'web_form', active: 0, unsubscribed: 1, pending: 1 },
    ]);
    const byTopic = await comune.as('get', '/v1/analytics/subscribers/by-topic').expect(200);
    expect(byTopic.body.data).toEqual([
      { key: 'meteo', name: 'Allerte meteo', active: 3 },
      { key: 'eventi', name: 'Eventi', active: 1 },
    ]);
    const foreign = await other.as('get', '/v1/analytics/subscribers/by-topic').expect(200);
    expect(foreign.body.data).toEqual([]);
  });

  it('keeps the topic counts right as people leave, come back, change topics and are erased', async () => {
    const byTopic = async () => {
      const response = await comune.as('get', '/v1/analytics/subscribers/by-topic').expect(200);
      return Object.fromEntries(response.body.data.map((t: { key: string; active: number }) => [t.key, t.active]));
    };
    // A throwaway active subscriber following both topics.
    const extra = await insertSubscriber(comune.tenantId, channelId, 'active', 'api');
    await query(`INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id) SELECT tenant_id, $2, id FROM topics WHERE tenant_id = $1`, [comune.tenantId, extra]);
    expect(await byTopic()).toEqual({ meteo: 4, eventi: 2 });
    await query(`UPDATE subscribers SET status = 'unsubscribed' WHERE id = $1`, [extra]);
    expect(await byTopic()).toEqual({ meteo: 3, eventi: 1 });
    await query(`UPDATE subscribers SET status = 'active', name = 'Di nuovo' WHERE id = $1`, [extra]);
    expect(await byTopic()).toEqual({ meteo: 4, eventi: 2 });
    await query(`DELETE FROM subscriber_topics st USING topics t WHERE st.topic_id = t.id AND t.key = 'eventi' AND st.subscriber_id = $1`, [extra]);
    expect(await byTopic()).toEqual({ meteo: 4, eventi: 1 });
    await query(`UPDATE subscribers SET name = 'Solo il nome' WHERE id = $1`, [extra]); // no status change, no count change
    expect(await byTopic()).toEqual({ meteo: 4, eventi: 1 });
    await query(`DELETE FROM subscribers WHERE id = $1`, [extra]); // erasure cascades to its topics
    expect(await byTopic()).toEqual({ meteo: 3, eventi: 1 });

    // Statements changing thousands at once (an import's batch, a bulk change) after the single-row
    // ones above: 3,000 join meteo, a statement unsubscribes 2,000 of them and renames the rest.
    const crowd = await query<{ id: string }>(
      `INSERT INTO subscribers (tenant_id, channel_id, phone, status, consent_source, subscribed_at)
       SELECT $1, $2, '+39349' || lpad(g::text, 7, '0'), 'active', 'import', now() FROM generate_series(1, 3000) g RETURNING id`,
      [comune.tenantId, channelId],
    );
    const ids = crowd.map((row) => row.id);
    await query(`INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id) SELECT $1, s, t.id FROM unnest($2::uuid[]) s, topics t WHERE t.tenant_id = $1 AND t.key = 'meteo'`, [comune.tenantId, ids]);
    expect(await byTopic()).toEqual({ meteo: 3003, eventi: 1 });
    await query(`UPDATE subscribers SET status = CASE WHEN id = ANY($2::uuid[]) THEN 'unsubscribed' ELSE status END, name = 'Folla' WHERE id = ANY($1::uuid[])`, [ids, ids.slice(0, 2000)]);
    expect(await byTopic()).toEqual({ meteo: 1003, eventi: 1 });
    await query(`DELETE FROM subscribers WHERE id = ANY($1::uuid[])`, [ids]);
    expect(await byTopic()).toEqual({ meteo: 3, eventi: 1 });
  });

  it("reports a campaign's funnel with rates, skip reasons, errors, percentiles, poll results and reactions", async () => {
    const response = await comune.as('get', `/v1/analytics/campaigns/${pollCampaignId}`).expect(200);
    expect(response.body).toEqual({
      id: pollCampaignId,
      title: 'Sondaggio ZTL',
      status: 'completed',
      priority: 'normal',
      channelId,
      startedAt: '2025-01-14T10:00:00.000Z',
      completedAt: '2025-01-14T10:05:00.000Z',
      createdAt: '2025-01-14T09:00:00.000Z',
      recipients: 12,
      queued: 0,
      sent: 9,
      delivered: 7,
      read: 4,
      failed: 1,
      skipped: 2,
      deliveryRate: 0.7778,
      readRate: 0.5714,
      skippedReasons: [
        { reason: 'monthly_cap', count: 1 },
        { reason: 'outside_window', count: 1 },
      ],
      failedCodes: [{ code: 131026, count: 1 }],
      timeToDeliveredSeconds: { p50: 40, p90: 64, p95: 67, sampleSize: 7 },
      poll: { options: [{ title: 'Sì', votes: 2 }, { title: 'No', votes: 1 }, { title: 'Non so', votes: 0 }] },
      reactions: [
        { emoji: '❤️', count: 1 },
        { emoji: '👍', count: 1 },
      ],
    });
  });

  it('lists campaigns with their funnels, newest first, paginated, never another comune’s', async () => {
    const first = await comune.as('get', '/v1/analytics/campaigns?limit=2').expect(200);
    expect(first.body.data.map((c: { title: string }) => c.title)).toEqual(['Allerta rossa', 'Chiusura scuole']);
    expect(first.body.data[1]).toMatchObject({ id: sendingCampaignId, status: 'sending', recipients: 5, queued: 5, sent: 0, deliveryRate: null, readRate: null });
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await comune.as('get', `/v1/analytics/campaigns?limit=2&cursor=${first.body.nextCursor}`).expect(200);
    expect(second.body).toEqual({ data: [expect.objectContaining({ id: pollCampaignId, sent: 9, delivered: 7 })], nextCursor: null });
    const foreign = await other.as('get', '/v1/analytics/campaigns').expect(200);
    expect(foreign.body.data.map((c: { id: string }) => c.id)).toEqual([foreignCampaignId]);
    await comune.as('get', '/v1/analytics/campaigns?cursor=bm90LWEtY3Vyc29y').expect(400);
  });

  it("answers 404 for another comune's campaign, a missing one and a malformed id", async () => {
    for (const path of [`/v1/analytics/campaigns/${foreignCampaignId}`, `/v1/analytics/campaigns/${foreignCampaignId}/export.csv`, '/v1/analytics/campaigns/00000000-0000-4000-8000-000000000000', '/v1/analytics/campaigns/nope']) {
      const response = await comune.as('get', path).expect(404);
      expect(response.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
  });

  it("exports a campaign's deliveries as CSV", async () => {
    const response = await comune.as('get', `/v1/analytics/campaigns/${pollCampaignId}/export.csv`).expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    const lines = response.text.trim().split('\n');
    expect(lines[0]).toBe('subscriber_id,recipient,status,reason,error_code,provider_message_id,sent_at,delivered_at,read_at,failed_at');
    expect(lines).toHaveLength(13);
    const statuses = lines.slice(1).map((line) => line.split(',')[2]);
    expect(statuses.sort()).toEqual(['delivered', 'delivered', 'delivered', 'failed', 'read', 'read', 'read', 'read', 'sent', 'sent', 'skipped', 'skipped']);
    expect(lines.find((line) => line.includes(',failed,'))).toContain(',131026,');
    expect(lines.find((line) => line.includes('outside_window'))).toMatch(/,skipped,outside_window,/);
  });

  it('shows this month against the monthly cap', async () => {
    const response = await comune.as('get', '/v1/analytics/usage').expect(200);
    // Two normal campaigns this month, but no subscriber has had a message of both: one of five used at most.
    expect(response.body).toEqual({ month: '2025-01', monthlyMessageCap: 5, normalCampaigns: 2, emergencyCampaigns: 1, messagesSent: 10, remainingNormalCampaigns: 4 });
  });

  it('lets every member read (viewer, API key) and keeps the operator out', async () => {
    const viewer = await comune.member('viewer');
    await testApp.http().get('/v1/analytics/overview').set('Authorization', `Bearer ${viewer}`).expect(200);
    const key = await comune.apiKey();
    await testApp.http().get('/v1/analytics/overview').set('X-API-Key', key).expect(200);
    await testApp.http().get('/v1/analytics/overview').expect(401);
    const operator = await TenantSession.operatorToken(testApp);
    await testApp.http().get('/v1/analytics/overview').set('Authorization', `Bearer ${operator}`).expect(403);
  });
});
