import { randomBytes } from 'crypto';
import { QueueProducer } from '@app/queue';
import { WebhookEventsProcessor } from '@app/subscribers';
import { ANSWER_LOST, createTestApp, FakeGraphApi, fixtureBytes, fixtureJson, graphError, signedWebhook, TenantSession, TestApp, waitFor } from '@app/testing';

const FIXTURE_PNID_A = '118204937561023';
const FIXTURE_PNID_B = '112983746501928';
const uniqueId = () => String(100_000_000_000_000 + (randomBytes(6).readUIntBE(0, 6) % 800_000_000_000_000));

interface Comune {
  session: TenantSession;
  channelId: string;
  phoneNumberId: string;
  appSecret: string;
  verifyToken: string;
}

describe('WhatsApp webhooks: signature, inbound handling, isolation', () => {
  let testApp: TestApp;
  const fake = new FakeGraphApi();

  beforeAll(async () => {
    await fake.start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url } });
  });

  afterAll(async () => {
    await testApp.close();
    await fake.stop();
  });

  beforeEach(() => fake.reset());

  async function comune(appSecret = `secret-${randomBytes(6).toString('hex')}`): Promise<Comune> {
    const session = await TenantSession.create(testApp);
    const phoneNumberId = uniqueId();
    const verifyToken = `verify-${randomBytes(4).toString('hex')}`;
    const created = await session
      .as('post', '/v1/channels')
      .send({
        name: 'WhatsApp del Comune',
        provider: 'whatsapp_cloud',
        phoneNumberId,
        wabaId: '104938275610492',
        displayPhoneNumber: '390587123450',
        accessToken: `token-${phoneNumberId}`,
        appSecret,
        verifyToken,
      })
      .expect(201);
    return { session, channelId: created.body.id, phoneNumberId, appSecret, verifyToken };
  }

  /** A fixture's bytes with its phone_number_ids replaced (each test file's channels are unique platform-wide). */
  const fixtureFor = (name: string, a: Comune, b?: Comune): Buffer => {
    let text = fixtureBytes(name).toString('utf8').replaceAll(FIXTURE_PNID_A, a.phoneNumberId);
    if (b) text = text.replaceAll(FIXTURE_PNID_B, b.phoneNumberId);
    return Buffer.from(text);
  };

  /** The payload as Meta sends it now: its messages written just now (the fixtures' are old, their 24-hour windows closed). */
  const justNow = (bytes: Buffer): Buffer => Buffer.from(bytes.toString('utf8').replace(/"timestamp": "\d+"/g, `"timestamp": "${Math.floor(Date.now() / 1000)}"`));

  /** The payload's messages under new ids: the same text sent again (not a re-delivery of the first). */
  const sentAgain = (bytes: Buffer, tag: string): Buffer => Buffer.from(bytes.toString('utf8').replace(/"id": "(wamid\.[^"]+)"/g, `"id": "$1.${tag}"`));

  const post = (c: Comune, bytes: Buffer, secret = c.appSecret, path = `/v1/webhooks/whatsapp/${c.channelId}`) => {
    const { signature } = signedWebhook(bytes, secret);
    return testApp.http().post(path).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signature).send(bytes.toString('utf8'));
  };

  const subscribers = async (c: Comune, query = '') => (await c.session.as('get', `/v1/subscribers?channelId=${c.channelId}${query}`).expect(200)).body.data;
  const processedEvents = async (channelId: string) =>
    Number((await testApp.dataSource.query(`SELECT count(*) FROM webhook_events WHERE channel_id = $1 AND processed_at IS NOT NULL`, [channelId]))[0].count);
  const storedEvents = async (channelId: string) => Number((await testApp.dataSource.query(`SELECT count(*) FROM webhook_events WHERE channel_id = $1`, [channelId]))[0].count);

  describe('handshake', () => {
    it('answers the challenge as text to the right verify token, 403 otherwise', async () => {
      const a = await comune();
      const ok = await testApp.http().get(`/v1/webhooks/whatsapp/${a.channelId}`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': a.verifyToken, 'hub.challenge': '1158201444' }).expect(200);
      expect(ok.text).toBe('1158201444');
      expect(ok.headers['content-type']).toMatch(/^text\/plain/);
      await testApp.http().get(`/v1/webhooks/whatsapp/${a.channelId}`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': 'x' }).expect(403);
      await testApp.http().get(`/v1/webhooks/whatsapp/${a.channelId}`).query({ 'hub.mode': 'subscribe', 'hub.challenge': 'x' }).expect(403);
      await testApp.http().get(`/v1/webhooks/whatsapp/00000000-0000-4000-8000-000000000000`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': a.verifyToken, 'hub.challenge': 'x' }).expect(403);
    });
  });

  describe('platform-wide URL', () => {
    it('answers the handshake to any channel\'s verify token, 403 with a JSON body otherwise', async () => {
      const a = await comune();
      const ok = await testApp.http().get('/v1/webhooks/whatsapp').query({ 'hub.mode': 'subscribe', 'hub.verify_token': a.verifyToken, 'hub.challenge': '424242' }).expect(200);
      expect(ok.text).toBe('424242');
      expect(ok.headers['content-type']).toMatch(/^text\/plain/);
      const refused = await testApp.http().get('/v1/webhooks/whatsapp').query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'nobody-has-this', 'hub.challenge': 'x' }).expect(403);
      expect(refused.headers['content-type']).toMatch(/^application\/json/);
      expect(refused.body).toMatchObject({ statusCode: 403, message: 'Webhook verification failed' });
      await testApp.http().get('/v1/webhooks/whatsapp').query({ 'hub.mode': 'unsubscribe', 'hub.verify_token': a.verifyToken, 'hub.challenge': 'x' }).expect(403);
      const perChannel = await testApp.http().get(`/v1/webhooks/whatsapp/${a.channelId}`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': 'x' }).expect(403);
      expect(perChannel.headers['content-type']).toMatch(/^application\/json/);
    });
  });

  describe('signature', () => {
    it('refuses a missing or wrong signature with 401 and stores nothing', async () => {
      const a = await comune();
      const bytes = fixtureFor('webhook-text-inbound.json', a);
      await testApp.http().post(`/v1/webhooks/whatsapp/${a.channelId}`).set('Content-Type', 'application/json').send(bytes.toString('utf8')).expect(401);
      await post(a, bytes, 'not-the-secret').expect(401);
      // Signed over other bytes (a re-serialised body): refused.
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(bytes.toString('utf8'))));
      await testApp.http().post(`/v1/webhooks/whatsapp/${a.channelId}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signedWebhook(reserialised, a.appSecret).signature).send(bytes.toString('utf8')).expect(401);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await storedEvents(a.channelId)).toBe(0);
      expect(await subscribers(a)).toEqual([]);
      expect(fake.requests).toHaveLength(0);
    });

    it('checks the signature before reading the body: an unsigned body that is not JSON is 401, a signed one 400', async () => {
      const a = await comune();
      const garbage = Buffer.from('{not json');
      const raw = (path: string, signature?: string, type = 'application/json') => {
        const call = testApp.http().post(path).set('Content-Type', type);
        return (signature ? call.set('X-Hub-Signature-256', signature) : call).send(garbage.toString('utf8'));
      };
      for (const path of [`/v1/webhooks/whatsapp/${a.channelId}`, '/v1/webhooks/whatsapp']) {
        expect((await raw(path).expect(401)).body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
        await raw(path, signedWebhook(garbage, 'not-the-secret').signature).expect(401);
        await raw(path, undefined, 'text/plain').expect(401);
      }
      // Signed by the channel: the comune's own (broken) body, refused as not JSON.
      const refused = await raw(`/v1/webhooks/whatsapp/${a.channelId}`, signedWebhook(garbage, a.appSecret).signature).expect(400);
      expect(refused.body).toMatchObject({ statusCode: 400, message: 'Webhook body is not JSON' });
      // A real payload sent as another content type is still read, signed bytes as they came.
      const bytes = fixtureFor('webhook-text-inbound.json', a);
      await testApp.http().post(`/v1/webhooks/whatsapp/${a.channelId}`).set('Content-Type', 'text/plain').set('X-Hub-Signature-256', signedWebhook(bytes, a.appSecret).signature).send(bytes.toString('utf8')).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(1));
    });

    it('verifies with a new app secret as soon as the comune changes it (no stale channel kept for signatures)', async () => {
      const a = await comune();
      const bytes = fixtureFor('webhook-text-inbound.json', a);
      await post(a, bytes).expect(200);
      const rotated = `rotated-${randomBytes(6).toString('hex')}`;
      await a.session.as('patch', `/v1/channels/${a.channelId}`).send({ appSecret: rotated }).expect(200);
      await post(a, bytes).expect(401);
      await post(a, bytes, rotated).expect(200);
    });
  });

  describe('a queue that cannot take the event', () => {
    it('answers 200 at once with the event kept, and the worker queues it again from PostgreSQL', async () => {
      const a = await comune();
      // The queue hangs as Bull does while Redis is down (ioredis retries for minutes).
      const producer = testApp.app.get(QueueProducer);
      const enqueue = jest.spyOn(producer, 'enqueueMany').mockImplementation(() => new Promise(() => undefined));
      let elapsed: number;
      try {
        const started = Date.now();
        await post(a, fixtureFor('webhook-text-inbound.json', a)).expect(200);
        elapsed = Date.now() - started;
      } finally {
        enqueue.mockRestore();
      }
      expect(elapsed).toBeLessThan(5_000);
      expect(await storedEvents(a.channelId)).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await processedEvents(a.channelId)).toBe(0);
      // Later, with the queue back: the worker's pass finds the event no job processed (aged here, so
      // that the pass leaves alone the events other tests of this file are processing).
      await testApp.dataSource.query(`UPDATE webhook_events SET received_at = now() - interval '10 minutes' WHERE channel_id = $1`, [a.channelId]);
      expect(await testApp.app.get(WebhookEventsProcessor).requeueForgotten(300)).toBe(1);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(1));
      expect(await subscribers(a)).toMatchObject([{ phone: '+393478215604', status: 'active' }]);
      await waitFor(() => expect(fake.sentTo('+393478215604').filter((r) => r.phoneNumberId === a.phoneNumberId)).toHaveLength(1));
    });
  });

  describe('bodies the database cannot hold as they are', () => {
    it('takes a signed message with NUL characters: stored and handled, each NUL as U+FFFD', async () => {
      const a = await comune();
      const payload = JSON.parse(fixtureFor('webhook-text-inbound.json', a).toString('utf8'));
      const value = payload.entry[0].changes[0].value;
      value.messages[0].id = `wamid.nul${randomBytes(6).toString('hex')}`;
      value.messages[0].text.body = 'Orari\u0000 della biblioteca?';
      value.contacts[0].profile.name = 'Giulia\u0000';
      const bytes = Buffer.from(JSON.stringify(payload));
      expect(bytes.toString('utf8')).toContain('\\u0000');
      await post(a, bytes).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(1));
      const [inbound] = await testApp.dataSource.query(`SELECT text, handled_as FROM inbound_messages WHERE channel_id = $1`, [a.channelId]);
      expect(inbound.text).toBe('Orari\ufffd della biblioteca?');
    });

    it('takes a signed body with a lone surrogate escape, arriving among others: each POST 200 and stored', async () => {
      const a = await comune();
      const bodies = Array.from({ length: 6 }, (_, i) => {
        const payload = JSON.parse(fixtureFor('webhook-text-inbound.json', a).toString('utf8'));
        const value = payload.entry[0].changes[0].value;
        value.messages[0].id = `wamid.sur${i}${randomBytes(6).toString('hex')}`;
        value.messages[0].text.body = `Domanda ${i}`;
        // JSON.stringify writes a lone surrogate as an escape, which jsonb refuses as it is.
        if (i === 2) value.messages[0].text.body = 'Rotto \ud800 qui';
        return Buffer.from(JSON.stringify(payload));
      });
      expect(bodies[2].toString('utf8')).toContain('\\ud800');
      await Promise.all(bodies.map((bytes) => post(a, bytes).expect(200)));
      expect(await storedEvents(a.channelId)).toBe(6);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(6));
      const texts = (await testApp.dataSource.query(`SELECT text FROM inbound_messages WHERE channel_id = $1`, [a.channelId])).map((row: { text: string }) => row.text);
      expect(texts).toContain('Rotto \ufffd qui');
    });
  });

  describe('keywords', () => {
    it('subscribes on ATTIVA ISCRIZIONE with a consent event and a welcome, once even if delivered twice', async () => {
      const a = await comune();
      const bytes = fixtureFor('webhook-text-inbound.json', a);
      const first = await post(a, bytes).expect(200);
      expect(first.body).toEqual({ received: true });
      await post(a, bytes).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(2));
      const [giulia, ...others] = await subscribers(a);
      expect(others).toEqual([]);
      expect(giulia).toMatchObject({ phone: '+393478215604', userId: 'IT.20817365940218273645', name: 'Giulia Bianchi', status: 'active', consentSource: 'keyword', topics: [] });
      // The fixture is stamped weeks ago, past Meta's 7 days of re-delivery: no late copy, so its
      // window opens when it arrives (a message a day late keeps its own time: see below).
      expect(Date.now() - Date.parse(giulia.lastInboundAt)).toBeLessThan(60_000);
      const welcome = fake.sentTo('+393478215604');
      expect(welcome).toHaveLength(1);
      expect(welcome[0].phoneNumberId).toBe(a.phoneNumberId);
      expect(welcome[0].authorization).toBe(`Bearer token-${a.phoneNumberId}`);
      expect(welcome[0].body).toMatchObject({ type: 'text', text: { body: expect.stringContaining('DISATTIVA ISCRIZIONE') } });
      const exported = await a.session.as('get', `/v1/subscribers/${giulia.id}/export`).expect(200);
      expect(exported.body.consentHistory).toEqual([
        expect.objectContaining({ action: 'subscribed', source: 'keyword', messageId: 'wamid.HBgMMzkzNDc4MjE1NjA0FQIAEhgUM0FGMjk5NjcxMzA3MzI4RURCNjAA', privacyNoticeVersion: '1' }),
      ]);
    });

    it('commits the subscription before the welcome goes out, and sends the welcome once when Meta fails the first try', async () => {
      const a = await comune();
      // Meta answers slowly, and the first welcome attempt with a 500: the subscription does not wait
      // for either, and the welcome is tried again without handling the message again.
      fake.latencyMs = 2_000;
      fake.behave((request, attempt) => (attempt === 1 ? graphError(131000, 500, 'Something went wrong') : null));
      const started = Date.now();
      await post(a, justNow(fixtureFor('webhook-text-inbound.json', a))).expect(200);
      const [giulia] = await waitFor(async () => {
        const rows = await subscribers(a);
        expect(rows).toMatchObject([{ status: 'active' }]);
        return rows;
      });
      expect(Date.now() - started).toBeLessThan(2_000);
      await waitFor(() => expect(fake.sent).toHaveLength(1), { timeoutMs: 15_000 });
      expect(fake.requests.filter((r) => r.body.to === '+393478215604')).toHaveLength(2);
      expect(fake.sent[0].body).toMatchObject({ to: giulia.phone, text: { body: expect.stringContaining('DISATTIVA ISCRIZIONE') } });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(fake.sent).toHaveLength(1);
    });

    it("records a welcome whose send answer was lost from Meta's status webhook, and holds it instead of sending it again", async () => {
      const a = await comune();
      fake.behave((request, attempt) => (attempt === 1 ? ANSWER_LOST : null));
      fake.reportStatuses({ baseUrl: testApp.url, channelFor: (phoneNumberId) => (phoneNumberId === a.phoneNumberId ? { channelId: a.channelId, appSecret: a.appSecret } : undefined) });
      await post(a, justNow(fixtureFor('webhook-text-inbound.json', a))).expect(200);
      const outbox = () => testApp.dataSource.query(`SELECT sent_at, provider_message_id, next_attempt_at, last_error FROM reply_outbox WHERE channel_id = $1`, [a.channelId]);
      const [row] = await waitFor(async () => {
        const rows = await outbox();
        expect(rows).toEqual([expect.objectContaining({ sent_at: expect.any(Date), provider_message_id: expect.stringMatching(/^wamid\.fake\./) })]);
        return rows;
      });
      // Meta took it once; the webhook gave its wamid. The outbox sweep never takes a sent answer again.
      await fake.statusReportsSettled();
      expect(fake.sentTo('+393478215604')).toHaveLength(1);
      expect(row.provider_message_id).toBe(fake.sentTo('+393478215604')[0].wamid);
      // Held for the status webhook (default 60 s), not retried on its 2 s backoff.
      expect(new Date(row.next_attempt_at).getTime() - Date.now()).toBeGreaterThan(50_000);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(fake.requests.filter((r) => r.body.to === '+393478215604')).toHaveLength(1);
    });

    it('keeps the welcome in the outbox through a Meta outage and sends it once it is over; gives up a refused one without retrying', async () => {
      const a = await comune();
      // Meta fails the welcome four times (about 2 + 10 + 30 s of waits would follow): the outbox
      // keeps it and tries again; the test shortens the waits by making the row due at once.
      fake.behave((request, attempt) => (attempt <= 4 ? graphError(131000, 500, 'Something went wrong') : null));
      await post(a, justNow(fixtureFor('webhook-text-inbound.json', a))).expect(200);
      const outbox = async () =>
        (await testApp.dataSource.query(`SELECT attempts, sent_at, given_up_at, last_error, provider_message_id FROM reply_outbox WHERE channel_id = $1`, [a.channelId])) as {
          attempts: number;
          sent_at: Date | null;
          given_up_at: Date | null;
          last_error: string | null;
          provider_message_id: string | null;
        }[];
      for (let tries = 1; tries <= 4; tries++) {
        await waitFor(async () => expect(fake.requests.filter((r) => r.body.to === '+393478215604')).toHaveLength(tries), { timeoutMs: 15_000 });
        // The failure is recorded (last_error is cleared below before each further try).
        await waitFor(async () => expect((await outbox())[0]).toMatchObject({ attempts: tries, sent_at: null, given_up_at: null, last_error: expect.stringContaining('131000') }));
        await testApp.dataSource.query(`UPDATE reply_outbox SET next_attempt_at = now(), last_error = NULL WHERE channel_id = $1`, [a.channelId]);
      }
      await waitFor(() => expect(fake.sent).toHaveLength(1), { timeoutMs: 15_000 });
      expect(fake.sent[0].body).toMatchObject({ to: '+393478215604', text: { body: expect.stringContaining('DISATTIVA ISCRIZIONE') } });
      await waitFor(async () => expect((await outbox())[0]).toMatchObject({ attempts: 5, sent_at: expect.any(Date), provider_message_id: expect.stringMatching(/^wamid\./) }));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(fake.sent).toHaveLength(1);

      // An answer Meta refuses for good (131026, undeliverable) is tried once and given up.
      const b = await comune();
      fake.reset();
      fake.behave(() => graphError(131026, 400, 'Message undeliverable'));
      await post(b, justNow(fixtureFor('webhook-text-inbound.json', b))).expect(200);
      await waitFor(async () => {
        const [row] = (await testApp.dataSource.query(`SELECT attempts, sent_at, given_up_at, last_error FROM reply_outbox WHERE channel_id = $1`, [b.channelId])) as { attempts: number; given_up_at: Date | null; last_error: string }[];
        expect(row).toMatchObject({ attempts: 1, given_up_at: expect.any(Date), last_error: expect.stringContaining('131026') });
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(fake.requests).toHaveLength(1);
    }, 60_000);

    it('sends an answer its worker left unsent once the lease lapses, and gives up one past the 24-hour window', async () => {
      const a = await comune();
      const channel = { tenant: a.session.tenantId, id: a.channelId };
      // As a worker that died after the commit leaves it: written, held, never tried.
      await testApp.dataSource.query(
        `INSERT INTO reply_outbox (tenant_id, channel_id, to_phone, body, attempts, next_attempt_at, expires_at) VALUES
           ($1, $2, '+393470000101', 'Benvenuto (lasciato da un worker)', 1, now() - interval '1 second', now() + interval '23 hours'),
           ($1, $2, '+393470000102', 'Troppo tardi', 1, now() - interval '1 second', now() - interval '1 minute')`,
        [channel.tenant, channel.id],
      );
      await waitFor(() => expect(fake.sent.map((r) => r.body.to)).toEqual(['+393470000101']), { timeoutMs: 10_000 });
      // The fake records the request before the outbox writes its outcome: the rows are read until it is in.
      await waitFor(async () => {
        const rows = (await testApp.dataSource.query(`SELECT to_phone, attempts, sent_at, given_up_at, last_error FROM reply_outbox WHERE channel_id = $1 ORDER BY to_phone`, [channel.id])) as Record<string, unknown>[];
        expect(rows).toEqual([
          expect.objectContaining({ to_phone: '+393470000101', attempts: 2, sent_at: expect.any(Date), given_up_at: null }),
          expect.objectContaining({ to_phone: '+393470000102', sent_at: null, given_up_at: expect.any(Date), last_error: expect.stringContaining('24-hour window') }),
        ]);
      });
    });

    it("erases with the subscriber Meta's raw events that name them, once handled", async () => {
      const a = await comune();
      await post(a, fixtureFor('webhook-text-inbound.json', a)).expect(200);
      const [giulia] = await waitFor(async () => {
        const rows = await subscribers(a);
        expect(rows).toMatchObject([{ phone: '+393478215604', status: 'active' }]);
        return rows;
      });
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(1));
      const naming = `SELECT count(*)::int AS n FROM webhook_events WHERE channel_id = $1 AND payload::text LIKE '%"393478215604"%'`;
      expect((await testApp.dataSource.query(naming, [a.channelId]))[0].n).toBe(1);
      // Stored with the citizens it names (the index the erasure uses).
      const [stored] = await testApp.dataSource.query(`SELECT contacts FROM webhook_events WHERE channel_id = $1`, [a.channelId]);
      expect(stored.contacts).toEqual(expect.arrayContaining(['393478215604']));
      // An event stored before that column (none kept) is found by its text; one naming someone else stays.
      const legacy = `INSERT INTO webhook_events (tenant_id, channel_id, channel_ids, body_sha256, payload, received_at, processed_at) VALUES ($1, $2, ARRAY[$2]::uuid[], $3, $4::jsonb, now(), now())`;
      await testApp.dataSource.query(legacy, [a.session.tenantId, a.channelId, 'legacy-giulia', JSON.stringify({ entry: [{ changes: [{ value: { statuses: [{ recipient_id: '393478215604' }] } }] }] })]);
      await testApp.dataSource.query(legacy, [a.session.tenantId, a.channelId, 'legacy-other', JSON.stringify({ entry: [{ changes: [{ value: { statuses: [{ recipient_id: '393470000999' }] } }] }] })]);
      expect((await testApp.dataSource.query(naming, [a.channelId]))[0].n).toBe(2);
      await a.session.as('delete', `/v1/subscribers/${giulia.id}`).expect((r) => expect([200, 204]).toContain(r.status));
      expect((await testApp.dataSource.query(naming, [a.channelId]))[0].n).toBe(0);
      const left = await testApp.dataSource.query(`SELECT body_sha256 AS sha FROM webhook_events WHERE channel_id = $1`, [a.channelId]);
      expect(left.map((row: { sha: string }) => row.sha.trim())).toEqual(['legacy-other']);

      // Meta delivers the same opt-in again (it retries for days): handled already, it has no
      // second effect. Nobody is subscribed, nothing is answered, nothing of hers is stored again.
      const answersBefore = fake.sent.length;
      await post(a, fixtureFor('webhook-text-inbound.json', a)).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(2));
      expect(await subscribers(a)).toEqual([]);
      expect((await testApp.dataSource.query(`SELECT count(*)::int AS n FROM inbound_messages WHERE channel_id = $1`, [a.channelId]))[0].n).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(fake.sent).toHaveLength(answersBefore);
      // Her own new message (a new id) is an opt-in again.
      const again = JSON.parse(fixtureFor('webhook-text-inbound.json', a).toString('utf8'));
      again.entry[0].changes[0].value.messages[0].id = `wamid.again${randomBytes(4).toString('hex')}`;
      await post(a, Buffer.from(JSON.stringify(again))).expect(200);
      await waitFor(async () => expect(await subscribers(a)).toMatchObject([{ phone: '+393478215604', status: 'active' }]));
    });

    it("paces the answers at the number's rate when many citizens write at once", async () => {
      const a = await comune();
      await a.session.as('patch', `/v1/channels/${a.channelId}`).send({ messagesPerSecond: 3 }).expect(200);
      const template = JSON.parse(fixtureFor('webhook-text-inbound.json', a).toString('utf8'));
      const citizens = Array.from({ length: 8 }, (_, i) => `39347900${String(1000 + i)}`);
      await Promise.all(
        citizens.map((waId, i) => {
          const payload = structuredClone(template);
          const value = payload.entry[0].changes[0].value;
          value.contacts[0].wa_id = waId;
          delete value.contacts[0].user_id;
          value.messages[0].from = waId;
          delete value.messages[0].from_user_id;
          value.messages[0].id = `wamid.wave${i}${randomBytes(4).toString('hex')}`;
          return post(a, Buffer.from(JSON.stringify(payload))).expect(200);
        }),
      );
      await waitFor(() => expect(fake.sent).toHaveLength(citizens.length), { timeoutMs: 20_000 });
      const times = fake.sent.map((r) => r.receivedAt).sort((x, y) => x - y);
      let most = 0;
      for (let lo = 0, hi = 0; hi < times.length; hi++) {
        while (times[hi] - times[lo] >= 1000) lo++;
        most = Math.max(most, hi - lo + 1);
      }
      expect(most).toBeLessThanOrEqual(3);
      expect(new Set(fake.sent.map((r) => r.body.to))).toEqual(new Set(citizens.map((waId) => `+${waId}`)));
    });

    it('handles the keyword of a suspended comune without answering while it cannot send, and welcomes the citizen once it is active again', async () => {
      const a = await comune();
      const operator = await TenantSession.operatorToken(testApp);
      await testApp.http().post(`/v1/admin/tenants/${a.session.tenantId}/suspend`).set('Authorization', `Bearer ${operator}`).expect(200);
      await post(a, justNow(fixtureFor('webhook-text-inbound.json', a))).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(1));
      expect(await subscribers(a)).toMatchObject([{ phone: '+393478215604', status: 'active' }]);
      // Longer than the outbox sweep's period: nothing goes while the comune is suspended.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(fake.requests).toHaveLength(0);
      // Reinstated within the citizen's 24-hour window: the welcome they asked for goes, once.
      await testApp.http().post(`/v1/admin/tenants/${a.session.tenantId}/approve`).set('Authorization', `Bearer ${operator}`).expect(200);
      await waitFor(() => expect(fake.sentTo('+393478215604')).toHaveLength(1), { timeoutMs: 10_000 });
      expect((fake.sentTo('+393478215604')[0].body.text as { body: string }).body).toMatch(/iscritt/i);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(fake.requests).toHaveLength(1);
    });

    it('gives up an answer held for a suspended comune once the citizen window has closed', async () => {
      const a = await comune();
      const operator = await TenantSession.operatorToken(testApp);
      await testApp.http().post(`/v1/admin/tenants/${a.session.tenantId}/suspend`).set('Authorization', `Bearer ${operator}`).expect(200);
      await post(a, justNow(fixtureFor('webhook-text-inbound.json', a))).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(1));
      // A day later (its window closed): reinstating the comune sends nothing.
      await testApp.dataSource.query(`UPDATE reply_outbox SET expires_at = now() - interval '1 second' WHERE channel_id = $1`, [a.channelId]);
      await testApp.http().post(`/v1/admin/tenants/${a.session.tenantId}/approve`).set('Authorization', `Bearer ${operator}`).expect(200);
      await waitFor(async () => expect((await testApp.dataSource.query(`SELECT count(*)::int AS n FROM reply_outbox WHERE channel_id = $1 AND given_up_at IS NOT NULL`, [a.channelId]))[0].n).toBe(1));
      expect(fake.requests).toHaveLength(0);
    });

    it('unsubscribes on DISATTIVA ISCRIZIONE at once and says goodbye', async () => {
      const a = await comune();
      const marco = await a.session.as('post', '/v1/subscribers').send({ channelId: a.channelId, phone: '+39 340 198 7233' }).expect(201);
      await post(a, fixtureFor('webhook-text-inbound-stop.json', a)).expect(200);
      await waitFor(async () => expect((await a.session.as('get', `/v1/subscribers/${marco.body.id}`).expect(200)).body.status).toBe('unsubscribed'));
      await waitFor(() => expect(fake.sentTo('+393401987233')).toHaveLength(1));
      expect(fake.sentTo('+393401987233')[0].body).toMatchObject({ text: { body: expect.stringContaining('cancellato') } });
      const history = (await a.session.as('get', `/v1/subscribers/${marco.body.id}/export`).expect(200)).body.consentHistory;
      expect(history.map((e: { action: string; source: string }) => `${e.action}:${e.source}`)).toEqual(['subscribed:api', 'unsubscribed:keyword']);
    });

    it('answers a repeated ATTIVA ISCRIZIONE that the citizen is subscribed already: no second welcome, no new consent', async () => {
      const a = await comune();
      const keyword = justNow(fixtureFor('webhook-text-inbound.json', a));
      await post(a, keyword).expect(200);
      await waitFor(() => expect(fake.sentTo('+393478215604')).toHaveLength(1));
      const welcome = fake.sentTo('+393478215604')[0].body.text as { body: string };
      await post(a, sentAgain(keyword, 'again')).expect(200);
      await waitFor(() => expect(fake.sentTo('+393478215604')).toHaveLength(2));
      const answer = (fake.sentTo('+393478215604')[1].body.text as { body: string }).body;
      expect(answer).toContain('già iscritto');
      expect(answer).toContain('DISATTIVA ISCRIZIONE');
      expect(answer).not.toBe(welcome.body);
      const [giulia] = await subscribers(a);
      expect(giulia).toMatchObject({ status: 'active', consentSource: 'keyword' });
      const history = (await a.session.as('get', `/v1/subscribers/${giulia.id}/export`).expect(200)).body.consentHistory;
      expect(history.map((e: { action: string; source: string }) => `${e.action}:${e.source}`)).toEqual(['subscribed:keyword']);
      const inbox = (await a.session.as('get', `/v1/inbox?channelId=${a.channelId}`).expect(200)).body.data;
      expect(inbox.map((m: { handledAs: string }) => m.handledAs).sort()).toEqual(['already_subscribed', 'subscribe']);

      // The answer is one of the channel's texts.
      const patched = await a.session.as('patch', `/v1/channels/${a.channelId}`).send({ alreadySubscribedText: 'Sei già con noi, {comune}!' }).expect(200);
      expect(patched.body).toMatchObject({ alreadySubscribedText: 'Sei già con noi, {comune}!', notSubscribedText: expect.stringContaining('Non risulti iscritto') });
      await post(a, sentAgain(keyword, 'third')).expect(200);
      await waitFor(() => expect(fake.sentTo('+393478215604')).toHaveLength(3));
      expect(fake.sentTo('+393478215604')[2].body).toMatchObject({ text: { body: expect.stringMatching(/^Sei già con noi, Comune /) } });
    });

    it('answers DISATTIVA ISCRIZIONE from a number not subscribed that it is not: no goodbye, no consent event, nothing created', async () => {
      const a = await comune();
      const stop = justNow(fixtureFor('webhook-text-inbound-stop.json', a));
      const consentEvents = async () => Number((await testApp.dataSource.query(`SELECT count(*) FROM consent_events WHERE channel_id = $1`, [a.channelId]))[0].count);
      const notSubscribed = (body: string) => {
        expect(body).toContain('Non risulti iscritto');
        expect(body).toContain('ATTIVA ISCRIZIONE');
        expect(body).not.toContain('cancellato');
      };
      // Never subscribed.
      await post(a, stop).expect(200);
      await waitFor(() => expect(fake.sentTo('+393401987233')).toHaveLength(1));
      notSubscribed((fake.sentTo('+393401987233')[0].body.text as { body: string }).body);
      expect(await subscribers(a)).toEqual([]);
      expect(await consentEvents()).toBe(0);

      // Gone already: the first opt-out says goodbye, the second does not.
      const marco = await a.session.as('post', '/v1/subscribers').send({ channelId: a.channelId, phone: '+39 340 198 7233' }).expect(201);
      await post(a, sentAgain(stop, 'leaves')).expect(200);
      await waitFor(() => expect(fake.sentTo('+393401987233')).toHaveLength(2));
      expect(fake.sentTo('+393401987233')[1].body).toMatchObject({ text: { body: expect.stringContaining('cancellato') } });
      await post(a, sentAgain(stop, 'again')).expect(200);
      await waitFor(() => expect(fake.sentTo('+393401987233')).toHaveLength(3));
      notSubscribed((fake.sentTo('+393401987233')[2].body.text as { body: string }).body);
      const history = (await a.session.as('get', `/v1/subscribers/${marco.body.id}/export`).expect(200)).body.consentHistory;
      expect(history.map((e: { action: string; source: string }) => `${e.action}:${e.source}`)).toEqual(['subscribed:api', 'unsubscribed:keyword']);
      const inbox = (await a.session.as('get', `/v1/inbox?channelId=${a.channelId}`).expect(200)).body.data;
      expect(inbox.map((m: { handledAs: string }) => m.handledAs).sort()).toEqual(['not_subscribed', 'not_subscribed', 'unsubscribe']);

      // The comune's day (Europe/Rome), which the series counts in: from 23:00 UTC it is already tomorrow there.
      const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome' }).format(new Date());
      const leftToday = async () =>
        ((await a.session.as('get', `/v1/analytics/subscribers?from=${today}&to=${today}`).expect(200)).body.data as { left: number }[]).reduce((sum, d) => sum + d.left, 0);
      const leftBefore = await leftToday();
      // A web signup awaiting confirmation is not a subscription yet: the refusal withdraws it.
      await testApp.http().post(`/v1/public/${a.session.slug}/subscriptions`).send({ phone: '347 821 5604', privacyAccepted: true }).expect(202);
      const giuliaStop = JSON.parse(stop.toString('utf8'));
      const value = giuliaStop.entry[0].changes[0].value;
      value.contacts[0].wa_id = value.messages[0].from = '393478215604';
      delete value.contacts[0].user_id;
      delete value.messages[0].from_user_id;
      value.messages[0].id += '.pending';
      await post(a, Buffer.from(JSON.stringify(giuliaStop))).expect(200);
      await waitFor(() => expect(fake.sentTo('+393478215604')).toHaveLength(1));
      notSubscribed((fake.sentTo('+393478215604')[0].body.text as { body: string }).body);
      expect(await subscribers(a, '&status=pending')).toEqual([]);
      const giulia = (await subscribers(a, '&status=unsubscribed')).find((s: { phone: string }) => s.phone === '+393478215604');
      const withdrawal = (await a.session.as('get', `/v1/subscribers/${giulia.id}/export`).expect(200)).body.consentHistory;
      // Called off, not a departure: the subscriber series does not count someone who never joined as leaving.
      expect(withdrawal.map((e: { action: string; source: string }) => `${e.action}:${e.source}`)).toEqual(['requested:web_form', 'withdrawn:keyword']);
      expect(leftBefore).toBe(1);
      expect(await leftToday()).toBe(leftBefore);
    });

    it('subscribes a username-only citizen by BSUID and answers to the BSUID', async () => {
      const a = await comune();
      await post(a, fixtureFor('webhook-text-inbound-bsuid-only.json', a)).expect(200);
      await waitFor(async () => expect(await subscribers(a)).toHaveLength(1));
      const [chiara] = await subscribers(a);
      expect(chiara).toMatchObject({ phone: null, userId: 'IT.15510293847561029384', name: 'Chiara', status: 'active' });
      await waitFor(() => expect(fake.sentTo('IT.15510293847561029384')).toHaveLength(1));
      expect(fake.sentTo('IT.15510293847561029384')[0].body.to).toBeUndefined();
      // A campaign reaches her by the same id, and its deliveries name her by it.
      const campaign = await a.session.as('post', '/v1/campaigns').send({ channelId: a.channelId, title: 'Avviso', priority: 'emergency', message: { type: 'text', text: 'Strada chiusa' } }).expect(201);
      await a.session.as('post', `/v1/campaigns/${campaign.body.id}/send`).expect(202);
      await waitFor(() => expect(fake.sentTo('IT.15510293847561029384')).toHaveLength(2));
      const deliveries = await waitFor(async () => {
        const list = (await a.session.as('get', `/v1/campaigns/${campaign.body.id}/deliveries`).expect(200)).body.data;
        expect(list[0].status).toBe('sent');
        return list;
      });
      expect(deliveries).toEqual([expect.objectContaining({ subscriberId: chiara.id, phone: null, userId: 'IT.15510293847561029384' })]);
    });

    it('unsubscribes every record of a citizen known both by username (BSUID) and by phone with one DISATTIVA ISCRIZIONE', async () => {
      const a = await comune();
      await post(a, fixtureFor('webhook-text-inbound-bsuid-only.json', a)).expect(200);
      await waitFor(async () => expect(await subscribers(a)).toHaveLength(1));
      // The comune also has Chiara's number, from its own list.
      await a.session.as('post', '/v1/subscribers').send({ channelId: a.channelId, phone: '348 123 9999' }).expect(201);
      expect((await subscribers(a, '&status=active')).length).toBe(2);
      // She leaves, writing from her number with her user id (as Meta sends it once both are known).
      const value = fixtureJson<{ entry: { changes: { value: Record<string, unknown> }[] }[] }>('webhook-text-inbound-bsuid-only.json').entry[0].changes[0].value;
      const [message] = value.messages as Record<string, unknown>[];
      const leave = {
        ...value,
        metadata: { ...(value.metadata as object), phone_number_id: a.phoneNumberId },
        contacts: [{ ...(value.contacts as Record<string, unknown>[])[0], wa_id: '393481239999' }],
        messages: [{ ...message, from: '393481239999', id: `${message.id}.leave`, timestamp: String(Math.floor(Date.now() / 1000)), text: { body: 'DISATTIVA ISCRIZIONE' } }],
      };
      await post(a, Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '104938275610492', changes: [{ field: 'messages', value: leave }] }] }))).expect(200);
      await waitFor(async () => expect(await subscribers(a, '&status=unsubscribed')).toHaveLength(2));
      expect(await subscribers(a, '&status=active')).toEqual([]);
    });

    it('activates a pending web signup when the citizen writes the keyword', async () => {
      const a = await comune();
      await testApp.http().post(`/v1/public/${a.session.slug}/subscriptions`).send({ phone: '347 821 5604', privacyAccepted: true }).expect(202);
      expect((await subscribers(a, '&status=pending')).map((s: { phone: string }) => s.phone)).toEqual(['+393478215604']);
      await post(a, fixtureFor('webhook-text-inbound.json', a)).expect(200);
      await waitFor(async () => expect(await subscribers(a, '&status=active')).toHaveLength(1));
      const [giulia] = await subscribers(a);
      const history = (await a.session.as('get', `/v1/subscribers/${giulia.id}/export`).expect(200)).body.consentHistory;
      expect(history.map((e: { action: string; source: string }) => `${e.action}:${e.source}`)).toEqual(['requested:web_form', 'subscribed:keyword']);
    });
    it('changes nothing of a citizen already known when someone fills in the web form with their number, until they confirm', async () => {
      const a = await comune();
      await a.session.as('post', '/v1/topics').send({ key: 'viabilita', name: 'Viabilità' }).expect(201);
      await post(a, justNow(fixtureFor('webhook-text-inbound.json', a))).expect(200);
      await waitFor(async () => expect(await subscribers(a, '&status=active')).toHaveLength(1));
      const [giulia] = await subscribers(a);
      const form = () => testApp.http().post(`/v1/public/${a.session.slug}/subscriptions`).send({ phone: '347 821 5604', name: 'Altro nome', topics: ['viabilita'], privacyAccepted: true }).expect(202);
      const now = async () => (await a.session.as('get', `/v1/subscribers/${giulia.id}`).expect(200)).body;

      // Following: her topics and name stay; the request is in her consent history.
      await form();
      expect(await now()).toMatchObject({ status: 'active', topics: [], name: giulia.name, consentSource: 'keyword' });
      // Gone: she stays gone (not pending, not counted as a web signup).
      await a.session.as('post', `/v1/subscribers/${giulia.id}/unsubscribe`).expect(200);
      await form();
      expect(await now()).toMatchObject({ status: 'unsubscribed', topics: [], consentSource: 'keyword' });
      const history = (await a.session.as('get', `/v1/subscribers/${giulia.id}/export`).expect(200)).body.consentHistory;
      expect(history.map((e: { action: string; source: string }) => `${e.action}:${e.source}`)).toEqual([
        'subscribed:keyword',
        'requested:web_form',
        'unsubscribed:api',
        'requested:web_form',
      ]);
      // Her keyword confirms: back, with the topics the form asked for. (Written a second later than
      // her opt-out: Meta's timestamps are whole seconds, and one not after it is taken as older.)
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await post(a, justNow(sentAgain(fixtureFor('webhook-text-inbound.json', a), 'back'))).expect(200);
      await waitFor(async () => expect(await now()).toMatchObject({ status: 'active', topics: ['viabilita'], name: giulia.name }));
    });

    describe('keywords Meta delivers out of order', () => {
      /** Giulia's keyword `text`, written `secondsAgo` before now, under its own message id. */
      const giuliaWrote = (a: Comune, text: string, secondsAgo: number, tag: string): Buffer =>
        sentAgain(
          Buffer.from(
            fixtureFor('webhook-text-inbound.json', a)
              .toString('utf8')
              .replace('"body": "ATTIVA ISCRIZIONE"', `"body": "${text}"`)
              .replace(/"timestamp": "\d+"/, `"timestamp": "${Math.floor(Date.now() / 1000) - secondsAgo}"`),
          ),
          tag,
        );
      const giulia = '+393478215604';
      const handled = async (a: Comune) =>
        ((await a.session.as('get', `/v1/inbox?channelId=${a.channelId}`).expect(200)).body.data as { handledAs: string; text: string }[]).map((m) => `${m.text}:${m.handledAs}`).sort();
      const history = async (a: Comune, id: string) =>
        ((await a.session.as('get', `/v1/subscribers/${id}/export`).expect(200)).body.consentHistory as { action: string; source: string }[]).map((e) => `${e.action}:${e.source}`);

      it('keeps a citizen out when an ATTIVA written before their DISATTIVA arrives after it, and lets a new ATTIVA in', async () => {
        const a = await comune();
        await post(a, giuliaWrote(a, 'ATTIVA ISCRIZIONE', 600, 'first')).expect(200);
        await waitFor(() => expect(fake.sentTo(giulia)).toHaveLength(1));
        await post(a, giuliaWrote(a, 'DISATTIVA ISCRIZIONE', 60, 'leave')).expect(200);
        await waitFor(() => expect(fake.sentTo(giulia)).toHaveLength(2));
        // A second ATTIVA she wrote 5 minutes ago, re-delivered by Meta only now.
        await post(a, giuliaWrote(a, 'ATTIVA ISCRIZIONE', 300, 'late')).expect(200);
        await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(3));
        const [record] = await subscribers(a, '&status=unsubscribed');
        expect(record).toMatchObject({ phone: giulia, status: 'unsubscribed' });
        expect(await subscribers(a, '&status=active')).toEqual([]);
        expect(await history(a, record.id)).toEqual(['subscribed:keyword', 'unsubscribed:keyword']);
        expect(await handled(a)).toEqual(['ATTIVA ISCRIZIONE:outdated', 'ATTIVA ISCRIZIONE:subscribe', 'DISATTIVA ISCRIZIONE:unsubscribe']);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(fake.sentTo(giulia)).toHaveLength(2); // the welcome and the goodbye; no welcome for the late copy

        // What she writes now counts.
        await post(a, giuliaWrote(a, 'ATTIVA ISCRIZIONE', 0, 'back')).expect(200);
        await waitFor(async () => expect(await subscribers(a, '&status=active')).toHaveLength(1));
        await waitFor(() => expect(fake.sentTo(giulia)).toHaveLength(3));
        expect(await history(a, record.id)).toEqual(['subscribed:keyword', 'unsubscribed:keyword', 'subscribed:keyword']);
      });

      it('answers a keyword only inside its 24-hour window, and takes a message stamped weeks ago (a replay) as written now', async () => {
        const a = await comune();
        // Re-delivered by Meta a day late: she is subscribed, but WhatsApp would refuse a free-form welcome now.
        await post(a, giuliaWrote(a, 'ATTIVA ISCRIZIONE', 24 * 3600 + 120, 'day-late')).expect(200);
        await waitFor(async () => expect(await subscribers(a, '&status=active')).toHaveLength(1));
        const [record] = await subscribers(a, '&status=active');
        expect(Date.parse(record.lastInboundAt)).toBeLessThan(Date.now() - 24 * 3600 * 1000);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(fake.sentTo(giulia)).toEqual([]);
        // Meta re-delivers for 7 days at most: a message stamped a month ago is no late copy, and
        // its time says nothing. It is handled as written now, and answered.
        await post(a, giuliaWrote(a, 'DISATTIVA ISCRIZIONE', 30 * 24 * 3600, 'replayed')).expect(200);
        await waitFor(() => expect(fake.sentTo(giulia)).toHaveLength(1));
        expect(JSON.stringify(fake.sentTo(giulia)[0].body)).toContain('Ti sei cancellato');
        const [left] = await subscribers(a, '&status=unsubscribed');
        expect(Date.now() - Date.parse(left.lastInboundAt)).toBeLessThan(60_000);
      });

      it('sends the next alert to a citizen who left and came back minutes before it', async () => {
        const a = await comune();
        await post(a, giuliaWrote(a, 'ATTIVA ISCRIZIONE', 180, 'first')).expect(200);
        await waitFor(() => expect(fake.sentTo(giulia)).toHaveLength(1));
        // A long newsletter keeps the workers reading the opt-outs while what follows happens.
        await a.session.as('patch', '/v1/tenant').send({ quietHoursStart: '00:00', quietHoursEnd: '00:00' }).expect(200);
        await a.session.as('patch', `/v1/channels/${a.channelId}`).send({ messagesPerSecond: 2 }).expect(200);
        for (let i = 0; i < 20; i++) await a.session.as('post', '/v1/subscribers').send({ channelId: a.channelId, phone: `+39347100${String(i).padStart(4, '0')}` }).expect(201);
        // (They wrote today: free-form messages reach them.)
        await testApp.dataSource.query(`UPDATE subscribers SET last_inbound_at = now() WHERE channel_id = $1`, [a.channelId]);
        const newsletter = await a.session.as('post', '/v1/campaigns').send({ channelId: a.channelId, title: 'Notiziario', message: { type: 'text', text: 'Notiziario' } }).expect(201);
        await a.session.as('post', `/v1/campaigns/${newsletter.body.id}/send`).expect(202);
        await post(a, giuliaWrote(a, 'DISATTIVA ISCRIZIONE', 120, 'leave')).expect(200);
        await waitFor(() => expect(fake.sentTo(giulia).filter((request) => request.body.type === 'text').length).toBeGreaterThanOrEqual(2));
        await post(a, giuliaWrote(a, 'ATTIVA ISCRIZIONE', 60, 'back')).expect(200);
        await waitFor(async () => expect(await subscribers(a, '&status=active')).toHaveLength(21));
        // Her opt-out is still known to the workers (they keep opt-outs for ten minutes): it must
        // not stop a message of the subscription she took after it.
        const alert = await a.session
          .as('post', '/v1/campaigns')
          .send({ channelId: a.channelId, title: 'Piena', priority: 'emergency', message: { type: 'text', text: 'Allerta rossa: evacuare i piani terra' } })
          .expect(201);
        await a.session.as('post', `/v1/campaigns/${alert.body.id}/send`).expect(202);
        await waitFor(
          async () => expect((await a.session.as('get', `/v1/campaigns/${alert.body.id}`).expect(200)).body).toMatchObject({ status: 'completed', stats: { recipients: 21, skipped: 0, failed: 0 } }),
          { timeoutMs: 30_000 },
        );
        expect(fake.sentTo(giulia).map((request) => (request.body.text as { body: string } | undefined)?.body)).toContain('Allerta rossa: evacuare i piani terra');
        await a.session.as('post', `/v1/campaigns/${newsletter.body.id}/cancel`).expect(200);
      }, 60_000);

      it('keeps a citizen in when a DISATTIVA or a WhatsApp stop written before their later ATTIVA arrives after it', async () => {
        const a = await comune();
        await post(a, giuliaWrote(a, 'ATTIVA ISCRIZIONE', 600, 'first')).expect(200);
        await waitFor(() => expect(fake.sentTo(giulia)).toHaveLength(1));
        await post(a, giuliaWrote(a, 'DISATTIVA ISCRIZIONE', 900, 'early')).expect(200);
        const stop = JSON.parse(fixtureFor('webhook-user-preferences-stop.json', a).toString('utf8'));
        Object.assign(stop.entry[0].changes[0].value.user_preferences[0], { wa_id: '393478215604', user_id: 'IT.20817365940218273645', timestamp: Math.floor(Date.now() / 1000) - 700 });
        stop.entry[0].changes[0].value.contacts[0] = { profile: { name: 'Giulia Bianchi' }, wa_id: '393478215604', user_id: 'IT.20817365940218273645' };
        await post(a, Buffer.from(JSON.stringify(stop))).expect(200);
        await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(3));
        const [record] = await subscribers(a, '&status=active');
        expect(record).toMatchObject({ phone: giulia, status: 'active' });
        expect(await history(a, record.id)).toEqual(['subscribed:keyword']);
        expect(await handled(a)).toEqual(['ATTIVA ISCRIZIONE:subscribe', 'DISATTIVA ISCRIZIONE:outdated']);
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(fake.sentTo(giulia)).toHaveLength(1); // no goodbye

        // A DISATTIVA written after it takes her out.
        await post(a, giuliaWrote(a, 'DISATTIVA ISCRIZIONE', 0, 'leave')).expect(200);
        await waitFor(async () => expect(await subscribers(a, '&status=unsubscribed')).toHaveLength(1));
      });

      it("applies an opt-out written before the comune's own later subscription of the citizen, and keywords older than Meta's 7 days of re-delivery in arrival order", async () => {
        const a = await comune();
        // The comune adds her through the API; her DISATTIVA of a minute before arrives after.
        const added = await a.session.as('post', '/v1/subscribers').send({ channelId: a.channelId, phone: '347 821 5604' }).expect(201);
        await post(a, giuliaWrote(a, 'DISATTIVA ISCRIZIONE', 60, 'leave')).expect(200);
        await waitFor(async () => expect((await a.session.as('get', `/v1/subscribers/${added.body.id}`).expect(200)).body.status).toBe('unsubscribed'));
        // A message written 8 days ago is no re-delivery: it is taken as it comes.
        await post(a, giuliaWrote(a, 'ATTIVA ISCRIZIONE', 8 * 86400, 'old')).expect(200);
        await waitFor(async () => expect((await a.session.as('get', `/v1/subscribers/${added.body.id}`).expect(200)).body.status).toBe('active'));
        expect(await history(a, added.body.id)).toEqual(['subscribed:api', 'unsubscribed:keyword', 'subscribed:keyword']);
      });
    });
  });

  describe('other messages', () => {
    it('stores reactions and button replies with their context, and answers questions once a day', async () => {
      const a = await comune();
      await post(a, fixtureFor('webhook-text-inbound.json', a)).expect(200);
      await waitFor(async () => expect(await subscribers(a)).toHaveLength(1));
      await post(a, fixtureFor('webhook-reaction.json', a)).expect(200);
      await post(a, fixtureFor('webhook-interactive-button-reply.json', a)).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(3));
      const inbox = (await a.session.as('get', `/v1/inbox?channelId=${a.channelId}`).expect(200)).body.data;
      const byType = Object.fromEntries(inbox.map((m: { type: string }) => [m.type, m]));
      expect(byType.reaction).toMatchObject({ handledAs: 'reaction', text: '\u{1F44D}', contextMessageId: 'wamid.HBgMMzkzNDc4MjE1NjA0FQIAERgSM0ExOTlGNUY0MTQzRTEzRjdGAA==', fromPhone: '+393478215604' });
      expect(byType.button_reply).toMatchObject({ handledAs: 'button_reply', contextMessageId: 'wamid.HBgMMzkzNDc4MjE1NjA0FQIAERgSMjVGNDY0NUUxMDNEMjU4M0NGAA==' });
      expect(byType.reaction.subscriberId).toBe(byType.text.subscriberId);
      expect(fake.sentTo('+393478215604')).toHaveLength(1); // only the welcome

      const question = (id: string, body: string) =>
        Buffer.from(
          JSON.stringify({
            object: 'whatsapp_business_account',
            entry: [{ id: '1', changes: [{ field: 'messages', value: { metadata: { phone_number_id: a.phoneNumberId }, contacts: [{ wa_id: '393478215604' }], messages: [{ from: '393478215604', id, timestamp: '1791448295', type: 'text', text: { body } }] } }] }],
          }),
        );
      await post(a, question('wamid.q1', "L'acqua torna alle 14?")).expect(200);
      await post(a, question('wamid.q2', 'E domani?')).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(5));
      const sent = fake.sentTo('+393478215604');
      expect(sent).toHaveLength(2);
      expect(sent[1].body).toMatchObject({ text: { body: expect.stringContaining('URP') } });
      const questions = (await a.session.as('get', `/v1/inbox?channelId=${a.channelId}`).expect(200)).body.data.filter((m: { text: string }) => m.text?.includes('?'));
      expect(questions.map((m: { handledAs: string }) => m.handledAs).sort()).toEqual(['auto_reply', 'question']);
    });

    it('unsubscribes on a user_preferences stop', async () => {
      const a = await comune();
      const greco = await a.session.as('post', '/v1/subscribers').send({ channelId: a.channelId, phone: '+393389914420' }).expect(201);
      await post(a, fixtureFor('webhook-user-preferences-stop.json', a)).expect(200);
      await waitFor(async () => expect((await a.session.as('get', `/v1/subscribers/${greco.body.id}`).expect(200)).body.status).toBe('unsubscribed'));
    });
  });

  describe('batches and isolation', () => {
    it('handles a batched payload and never acts on another comune through this comune\'s URL', async () => {
      const a = await comune();
      const sharedSecret = a.appSecret; // even with the same app secret, comune B's change is not B's to act on via A's URL
      const b = await comune(sharedSecret);
      // The batched fixture, with comune B's change carrying an inbound keyword as well.
      const payload = JSON.parse(fixtureFor('webhook-batched.json', a, b).toString('utf8'));
      payload.entry[1].changes[0].value.messages = [{ from: '393405566771', id: 'wamid.b-keyword', timestamp: '1791448266', type: 'text', text: { body: 'ATTIVA ISCRIZIONE' } }];
      const bytes = Buffer.from(JSON.stringify(payload));
      await post(a, bytes).expect(200);
      await waitFor(async () => expect(await processedEvents(a.channelId)).toBe(1));
      await waitFor(async () => expect(fake.sentTo('+393335120987')).toHaveLength(1)); // Francesca's question: auto answer
      const subsA = await subscribers(a);
      expect(subsA.map((s: { phone: string; status: string }) => `${s.phone}:${s.status}`)).toEqual(['+393479906612:active']); // Giovanni
      expect(fake.sentTo('+393479906612')).toHaveLength(1);
      expect(await subscribers(b)).toEqual([]);
      expect(fake.sentTo('+393405566771')).toHaveLength(0);
      const inboxB = (await b.session.as('get', '/v1/inbox').expect(200)).body.data;
      expect(inboxB).toEqual([]);
    });

    it('routes the platform-level URL by phone_number_id, only to channels whose secret verifies', async () => {
      const a = await comune();
      const b = await comune(); // its own secret
      const payload = JSON.parse(fixtureFor('webhook-batched.json', a, b).toString('utf8'));
      payload.entry[1].changes[0].value.messages = [{ from: '393405566771', id: 'wamid.b-keyword-2', timestamp: '1791448266', type: 'text', text: { body: 'ATTIVA ISCRIZIONE' } }];
      const bytes = Buffer.from(JSON.stringify(payload));
      await post(a, bytes, 'nobody-secret', '/v1/webhooks/whatsapp').expect(401);
      await post(a, bytes, a.appSecret, '/v1/webhooks/whatsapp').expect(200);
      await waitFor(async () => expect(await subscribers(a)).toHaveLength(1));
      await waitFor(() => expect(fake.sentTo('+393335120987')).toHaveLength(1));
      expect(await subscribers(b)).toEqual([]);
      // Signed by B, the same body acts on B only; A's messages are duplicates anyway.
      await post(b, bytes, b.appSecret, '/v1/webhooks/whatsapp').expect(200);
      await waitFor(async () => expect(await subscribers(b)).toHaveLength(1));
      expect(await subscribers(a)).toHaveLength(1);
      expect(fake.sentTo('+393479906612')).toHaveLength(1);
    });

    it("keeps a comune's channels, subscribers and inbox out of another comune's reach (404)", async () => {
      const a = await comune();
      const b = await comune();
      await post(a, fixtureFor('webhook-text-inbound.json', a)).expect(200);
      await waitFor(async () => expect(await subscribers(a)).toHaveLength(1));
      const [giulia] = await subscribers(a);
      await b.session.as('get', `/v1/channels/${a.channelId}`).expect(404);
      await b.session.as('patch', `/v1/channels/${a.channelId}`).send({ name: 'presa' }).expect(404);
      await b.session.as('delete', `/v1/channels/${a.channelId}`).expect(404);
      await b.session.as('get', `/v1/subscribers/${giulia.id}`).expect(404);
      await b.session.as('patch', `/v1/subscribers/${giulia.id}`).send({ name: 'x' }).expect(404);
      await b.session.as('post', `/v1/subscribers/${giulia.id}/unsubscribe`).expect(404);
      await b.session.as('get', `/v1/subscribers/${giulia.id}/export`).expect(404);
      await b.session.as('delete', `/v1/subscribers/${giulia.id}`).expect(404);
      expect((await b.session.as('get', '/v1/subscribers').expect(200)).body.data).toEqual([]);
      expect((await b.session.as('get', `/v1/subscribers?channelId=${a.channelId}`).expect(200)).body.data).toEqual([]);
      expect((await b.session.as('get', '/v1/channels').expect(200)).body.data.map((c: { id: string }) => c.id)).toEqual([b.channelId]);
      await b.session.as('post', '/v1/subscribers').send({ channelId: a.channelId, phone: '3471234567' }).expect(404);
      // B's secret cannot drive A's webhook.
      await post(a, fixtureFor('webhook-text-inbound-stop.json', a), b.appSecret).expect(401);
      expect((await a.session.as('get', `/v1/subscribers/${giulia.id}`).expect(200)).body.status).toBe('active');
    });
  });

  describe('inbox', () => {
    it('lists newest first, in pages that neither repeat nor skip (ties on the same second included), for one channel or all', async () => {
      const a = await comune();
      const insert = `INSERT INTO inbound_messages (tenant_id, channel_id, provider_message_id, type, from_phone, text, payload, handled_as, received_at)
                      VALUES ($1, $2, $3, 'text', '+393470000001', $4, '{}'::jsonb, 'question', $5)`;
      const base = Date.parse('2026-11-30T10:00:00Z');
      // Seven messages, three of them in the same instant.
      const offsets = [0, 60_000, 60_000, 60_000, 120_000, 180_000, 240_000];
      for (const [i, offset] of offsets.entries()) {
        await testApp.dataSource.query(insert, [a.session.tenantId, a.channelId, `wamid.inbox.${randomBytes(4).toString('hex')}`, `messaggio ${i}`, new Date(base + offset)]);
      }
      const seen: { text: string; receivedAt: string }[] = [];
      let cursor: string | null = null;
      do {
        const page: { body: { data: { text: string; receivedAt: string }[]; nextCursor: string | null } } = await a.session
          .as('get', `/v1/inbox?channelId=${a.channelId}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
          .expect(200);
        seen.push(...page.body.data);
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(7);
      expect(new Set(seen.map((m) => m.text)).size).toBe(7);
      const times = seen.map((m) => Date.parse(m.receivedAt));
      expect(times).toEqual([...times].sort((x, y) => y - x));
      expect(seen[0].text).toBe('messaggio 6');
      // Across channels (no channelId) the same order; a made-up cursor is a 400 naming it.
      const all = (await a.session.as('get', '/v1/inbox?limit=3').expect(200)).body.data.map((m: { text: string }) => m.text);
      expect(all).toEqual(['messaggio 6', 'messaggio 5', 'messaggio 4']);
      const bad = await a.session.as('get', `/v1/inbox?cursor=${Buffer.from(JSON.stringify(['ieri', 'x'])).toString('base64url')}`).expect(400);
      expect(JSON.stringify(bad.body)).toContain('cursor');
    });
  });

  describe('channels', () => {
    it('refuses settings the channel could not work with, naming the field, and keeps the ones it had', async () => {
      const a = await comune();
      const overlap = await a.session.as('patch', `/v1/channels/${a.channelId}`).send({ unsubscribeKeywords: ['attiva  iscrizione', 'BASTA'] }).expect(400);
      expect(JSON.stringify(overlap.body)).toContain('subscribeKeywords and unsubscribeKeywords must not share a keyword');
      const placeholder = await a.session.as('patch', `/v1/channels/${a.channelId}`).send({ notSubscribedText: 'Ciao {nonesiste}, scrivi {iscrizione}' }).expect(400);
      expect(JSON.stringify(placeholder.body)).toContain('notSubscribedText has unknown placeholders {nonesiste}');
      const channel = (await a.session.as('get', `/v1/channels/${a.channelId}`).expect(200)).body;
      expect(channel).toMatchObject({ subscribeKeywords: ['ATTIVA ISCRIZIONE'], unsubscribeKeywords: ['DISATTIVA ISCRIZIONE', 'STOP'] });
      expect(channel.notSubscribedText).toContain('Non risulti iscritto');
      // The same check when a channel is connected.
      const created = await a.session
        .as('post', '/v1/channels')
        .send({ name: 'Altro', provider: 'whatsapp_cloud', phoneNumberId: `p${randomBytes(5).toString('hex')}`, wabaId: 'w', displayPhoneNumber: '390000000001', accessToken: 't', appSecret: 's', verifyToken: 'v', subscribeKeywords: ['STOP'] })
        .expect(400);
      expect(JSON.stringify(created.body)).toContain('STOP');
      await a.session.as('patch', `/v1/channels/${a.channelId}`).send({ welcomeText: 'Benvenuti a {comune}! Per uscire: {cancellazione}' }).expect(200);
      // Keywords are kept as citizens will read them: spaces tidied, each once however written.
      const tidied = await a.session.as('patch', `/v1/channels/${a.channelId}`).send({ subscribeKeywords: ['  attiva   iscrizione ', 'ISCRIVIMI', 'iscrivimi!', 'Attiva Iscrizione'] }).expect(200);
      expect(tidied.body.subscribeKeywords).toEqual(['attiva iscrizione', 'ISCRIVIMI']);
    });

    it('never returns secrets, defaults to 80 messages per second and refuses a duplicate phoneNumberId', async () => {
      const a = await comune();
      const channel = (await a.session.as('get', `/v1/channels/${a.channelId}`).expect(200)).body;
      expect(channel).toMatchObject({ provider: 'whatsapp_cloud', phoneNumberId: a.phoneNumberId, messagesPerSecond: 80, subscribeKeywords: ['ATTIVA ISCRIZIONE'], unsubscribeKeywords: ['DISATTIVA ISCRIZIONE', 'STOP'] });
      const text = JSON.stringify(channel);
      for (const secret of [a.appSecret, a.verifyToken, `token-${a.phoneNumberId}`]) expect(text).not.toContain(secret);
      expect(Object.keys(channel)).not.toEqual(expect.arrayContaining(['accessToken']));
      const sealed = await testApp.dataSource.query(`SELECT access_token_sealed, app_secret_sealed FROM channels WHERE id = $1`, [a.channelId]);
      expect(sealed[0].access_token_sealed).not.toContain('token-');
      expect(sealed[0].app_secret_sealed).not.toContain(a.appSecret);
      const other = await TenantSession.create(testApp);
      await other
        .as('post', '/v1/channels')
        .send({ name: 'x', provider: 'whatsapp_cloud', phoneNumberId: a.phoneNumberId, wabaId: '1', displayPhoneNumber: '390587000000', accessToken: 't', appSecret: 's', verifyToken: 'v' })
        .expect(409);
      const patched = await a.session
        .as('patch', `/v1/channels/${a.channelId}`)
        .send({ messagesPerSecond: 40, welcomeText: 'Benvenuto in {comune}!', fallbackTemplate: { name: 'avviso_generico', language: 'it' }, appSecret: 'new-secret' })
        .expect(200);
      expect(patched.body).toMatchObject({ messagesPerSecond: 40, welcomeText: 'Benvenuto in {comune}!', fallbackTemplate: { name: 'avviso_generico', language: 'it' } });
      expect(JSON.stringify(patched.body)).not.toContain('new-secret');
      // The new app secret is in force at once.
      await post(a, fixtureFor('webhook-text-inbound.json', a)).expect(401);
      await post(a, fixtureFor('webhook-text-inbound.json', a), 'new-secret').expect(200);
      await waitFor(() => expect(fake.sentTo('+393478215604')).toHaveLength(1));
      expect(fake.sentTo('+393478215604')[0].body).toMatchObject({ text: { body: expect.stringMatching(/^Benvenuto in Comune /) } });
      const viewer = await a.session.member('viewer');
      await testApp.http().post('/v1/channels').set('Authorization', `Bearer ${viewer}`).send({ name: 'x', provider: 'sandbox' }).expect(403);
      await a.session.as('post', '/v1/channels').send({ name: 'x', provider: 'whatsapp_cloud' }).expect(400);
      await a.session.as('delete', `/v1/channels/${a.channelId}`).expect(204);
      await a.session.as('get', `/v1/channels/${a.channelId}`).expect(404);
    });
  });
});
