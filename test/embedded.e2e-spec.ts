import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';
import { waitFor } from '@app/testing';
import { adminQuery, APP_ROLE, appDatabaseUrl } from './global-setup';

const ENTRY = join(__dirname, '../dist/apps/standalone/src/main.js');

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `npm start`'s entry point with no configuration but a data folder and a free port. */
function startEmbedded(dataDir: string, extra: NodeJS.ProcessEnv = {}): Promise<Started> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', TZ: 'UTC', ...extra };
  const child = spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`embedded start timed out:\n${output}`)), 50_000);
    const poll = setInterval(() => {
      const match = /running on (http:\/\/localhost:\d+)/.exec(output);
      if (match) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => output });
      }
    }, 100);
    child.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`embedded process exited with ${code}:\n${output}`));
    });
  });
}

async function stop(started: Started): Promise<void> {
  started.child.removeAllListeners('exit');
  const exited = new Promise((resolve) => started.child.once('exit', resolve));
  started.child.kill('SIGTERM');
  await exited;
}

describe('Embedded default (npm start with no configuration)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'filodiretto-embedded-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves health and docs, prints the operator login once, and keeps data across a restart', async () => {
    const first = await startEmbedded(dataDir);
    let tenantEmail: string;
    let operatorLogin: { email: string; password: string };
    try {
      const http = () => request(first.url);
      const health = await http().get('/health').expect(200);
      expect(health.body.info).toMatchObject({ database: { status: 'up' }, queue: { status: 'up', transport: 'in-process' } });
      await http().get('/docs-json').expect(200);
      await http().get('/docs/').expect(200);

      const printed = /"email": "([^"]+)", "password": "([^"]+)"/.exec(first.output());
      expect(printed).not.toBeNull();
      operatorLogin = { email: printed![1], password: printed![2] };
      const operator = await http().post('/v1/auth/login').send(operatorLogin).expect(200);

      tenantEmail = 'urp@embedded.example';
      const signup = await http()
        .post('/v1/tenants/signup')
        .send({ name: 'Comune di Prova', slug: 'prova', adminEmail: tenantEmail, adminPassword: 'una-password-lunga' })
        .expect(201);
      await http().post(`/v1/admin/tenants/${signup.body.id}/approve`).set('Authorization', `Bearer ${operator.body.accessToken}`).expect(200);
    } finally {
      await stop(first);
    }

    // PLATFORM_ADMIN_PASSWORD set on a later start: the account keeps the password it was created
    // with, and neither the log nor the banner let the operator believe otherwise.
    const second = await startEmbedded(dataDir, { PLATFORM_ADMIN_PASSWORD: 'not-the-operator-password', LOG_LEVEL: 'info' });
    try {
      const http = () => request(second.url);
      await http().get('/health').expect(200);
      expect(second.output()).toContain(`PLATFORM_ADMIN_PASSWORD is not the password of ${operatorLogin.email}`);
      expect(second.output()).toContain('"password": (the one the account was created with) }  (PLATFORM_ADMIN_PASSWORD applies only to the first start)');
      await http().post('/v1/auth/login').send({ email: operatorLogin.email, password: 'not-the-operator-password' }).expect(401);
      const operator = await http().post('/v1/auth/login').send(operatorLogin).expect(200);
      // The queue board shows Redis's queues: the embedded default has none, and says why.
      const board = await http().post('/v1/admin/queue-board/session').set('Authorization', `Bearer ${operator.body.accessToken}`).expect(404);
      expect(board.body).toMatchObject({ code: 'queue_board_unavailable', message: expect.stringContaining('runs the in-process queue (set REDIS_URL)') });
      const login = await http().post('/v1/auth/login').send({ email: tenantEmail, password: 'una-password-lunga' }).expect(200);
      const tenant = await http().get('/v1/tenant').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
      expect(tenant.body).toMatchObject({ slug: 'prova', status: 'active' });
      // The generated operator password is shown on the first start only.
      expect(second.output()).not.toMatch(/generated now/);

      // A trial with a sandbox channel, end to end on the embedded database and in-process queue.
      const auth = { Authorization: `Bearer ${login.body.accessToken}` };
      const channel = await http().post('/v1/channels').set(auth).send({ name: 'Prova', provider: 'sandbox' }).expect(201);
      await http().get(`/sandbox/${channel.body.id}`).expect(200);
      // Meta's handshake puts the verify token in the URL: the request log (at info, this start) does not keep it.
      await http().get(`/v1/webhooks/whatsapp/${channel.body.id}?hub.mode=subscribe&hub.verify_token=segreto-di-verifica-42&hub.challenge=7`);
      await waitFor(() => expect(second.output()).toContain('hub.verify_token=[redacted]'));
      expect(second.output()).not.toContain('segreto-di-verifica-42');
      await http().post(`/v1/sandbox/${channel.body.id}/inbound`).set(auth).send({ from: '+39 347 821 5604', text: 'attiva  iscrizione' }).expect(202);
      const welcome = await waitFor(async () => {
        const conversation = await http().get(`/v1/sandbox/${channel.body.id}/conversations/%2B393478215604`).set(auth).expect(200);
        const outbound = JSON.stringify(conversation.body);
        expect(outbound).toContain('Comune di Prova');
        return conversation.body;
      }, { timeoutMs: 15_000 });
      expect(JSON.stringify(welcome)).toContain('DISATTIVA ISCRIZIONE');
      const subscribers = await http().get('/v1/subscribers?status=active').set(auth).expect(200);
      expect(subscribers.body.data).toEqual([expect.objectContaining({ phone: '+393478215604', status: 'active', consentSource: 'keyword' })]);

      await http().post('/v1/subscribers').set(auth).send({ channelId: channel.body.id, phone: '333 512 0987', name: 'Francesca' }).expect(201);
      const campaign = await http()
        .post('/v1/campaigns')
        .set(auth)
        .send({ channelId: channel.body.id, title: 'Allerta meteo', message: { type: 'text', text: 'Allerta arancione domani: scuole chiuse.' }, priority: 'emergency' })
        .expect(201);
      await http().post(`/v1/campaigns/${campaign.body.id}/send`).set(auth).expect(202);
      const done = await waitFor(async () => {
        const state = await http().get(`/v1/campaigns/${campaign.body.id}`).set(auth).expect(200);
        expect(state.body.status).toBe('completed');
        expect(state.body.stats).toMatchObject({ recipients: 2, failed: 0 });
        expect(state.body.stats.sent + state.body.stats.delivered + state.body.stats.read).toBe(2);
        return state.body;
      }, { timeoutMs: 15_000 });
      expect(done.priority).toBe('emergency');
      const conversation = await http().get(`/v1/sandbox/${channel.body.id}/conversations/%2B393335120987`).set(auth).expect(200);
      expect(JSON.stringify(conversation.body)).toContain('Allerta arancione domani');

      // What happened is visible to Prometheus (dispatches, delivery statuses, webhook events), naming no comune.
      const metrics = (await http().get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/filodiretto_dispatch_total\{provider="sandbox"\} 2/);
      expect(metrics).not.toContain(channel.body.id);
      expect(metrics).toMatch(/filodiretto_deliveries_total\{status="sent",error_code=""\} [1-9]/);
      expect(metrics).toMatch(/filodiretto_webhook_events_total\{kind="message"\} [1-9]/);
    } finally {
      await stop(second);
    }
  }, 120_000);
});

describe('Embedded default under concurrent use', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'filodiretto-embedded-busy-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('answers every request with its own data while many run at once and a campaign is sending', async () => {
    const started = await startEmbedded(dataDir);
    try {
      const http = () => request(started.url);
      const printed = /"email": "([^"]+)", "password": "([^"]+)"/.exec(started.output());
      const operator = await http().post('/v1/auth/login').send({ email: printed![1], password: printed![2] }).expect(200);
      const signup = await http()
        .post('/v1/tenants/signup')
        .send({ name: 'Comune di Affollata', slug: 'affollata', adminEmail: 'urp@affollata.example', adminPassword: 'una-password-lunga' })
        .expect(201);
      await http().post(`/v1/admin/tenants/${signup.body.id}/approve`).set('Authorization', `Bearer ${operator.body.accessToken}`).expect(200);
      const login = await http().post('/v1/auth/login').send({ email: 'urp@affollata.example', password: 'una-password-lunga' }).expect(200);
      const auth = { Authorization: `Bearer ${login.body.accessToken}` };
      // A normal campaign waits out quiet hours (21:00–08:00 by default): none, whatever the hour the test runs.
      await http().patch('/v1/tenant').set(auth).send({ quietHoursStart: '00:00', quietHoursEnd: '00:00' }).expect(200);
      const channel = await http().post('/v1/channels').set(auth).send({ name: 'Affollata', provider: 'sandbox' }).expect(201);
      await http().post('/v1/topics').set(auth).send({ key: 'meteo', name: 'Meteo' }).expect(201);
      const csv = ['phone,name,topics', ...Array.from({ length: 150 }, (_, i) => `+39 347 100 ${String(i).padStart(4, '0')},Persona ${i},meteo`)].join('\n');
      const imported = await http().post('/v1/subscribers/import').set(auth).field('channelId', channel.body.id).attach('file', Buffer.from(csv), 'iscritti.csv').expect(200);
      expect(imported.body).toMatchObject({ imported: 150, rejected: [] });
      const campaign = await http().post('/v1/campaigns').set(auth).send({ channelId: channel.body.id, title: 'Allerta', message: { type: 'text', text: 'Allerta gialla' } }).expect(201);
      await http().post(`/v1/campaigns/${campaign.body.id}/send`).set(auth).expect(202);

      // While it sends: creations (each a transaction) beside plain reads, all at once. Every
      // answer must be the caller's own: pooled connections to the embedded database whose
      // statements interleaved answered some of them with another statement's result, or failed them.
      const wrong: string[] = [];
      await Promise.all(
        Array.from({ length: 120 }, async (_, i) => {
          if (i % 2 === 0) {
            const phone = `+39348200${String(i).padStart(4, '0')}`;
            const created = await http().post('/v1/subscribers').set(auth).send({ channelId: channel.body.id, phone, name: `Nuova ${i}`, topics: ['meteo'] });
            if (created.status !== 201 || created.body.phone !== phone) wrong.push(`create ${i}: ${created.status} ${JSON.stringify(created.body)}`);
          } else {
            const read = await http().get(`/v1/campaigns/${campaign.body.id}`).set(auth);
            if (read.status !== 200 || read.body.id !== campaign.body.id || read.body.stats?.recipients !== 150) wrong.push(`read ${i}: ${read.status} ${JSON.stringify(read.body)}`);
          }
        }),
      );
      expect(wrong).toEqual([]);
      const listed = await http().get('/v1/subscribers?limit=500').set(auth).expect(200);
      expect(listed.body.data).toHaveLength(210);
      await waitFor(async () => {
        const state = await http().get(`/v1/campaigns/${campaign.body.id}`).set(auth).expect(200);
        expect(state.body).toMatchObject({ status: 'completed', stats: { recipients: 150, failed: 0, queued: 0 } });
      }, { timeoutMs: 30_000 });
      expect(started.output()).not.toMatch(/prepared statement|bind message/);
    } finally {
      await stop(started);
    }
  }, 120_000);
});

describe('One embedded data folder, one process', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'filodiretto-embedded-lock-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses a second start on a data folder in use, with one line, and the first goes on unharmed', async () => {
    const first = await startEmbedded(dataDir);
    try {
      const refused = await startEmbedded(dataDir).then(
        async (second) => {
          await stop(second);
          return null;
        },
        (error: Error) => error.message,
      );
      // Two processes on one folder each saw only their own writes, and the next start aborted.
      expect(refused).toMatch(/^embedded process exited with 1:\nDATA_DIR \S+ is in use by another Filodiretto process \(pid \d+\): stop it first, or give this one a DATA_DIR of its own\n?$/);
      await request(first.url).get('/health').expect(200);
    } finally {
      await stop(first);
    }
    // Stopped, the folder is free again; and a holder that was killed (its pid no longer runs) does not keep it.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.on('exit', resolve));
    writeFileSync(join(dataDir, 'filodiretto.pid'), String(gone.pid));
    const again = await startEmbedded(dataDir);
    await stop(again);
  }, 90_000);

  it('says in one line that a damaged secrets file cannot be read, instead of a stack', async () => {
    const damaged = mkdtempSync(join(tmpdir(), 'filodiretto-embedded-secrets-'));
    try {
      writeFileSync(join(damaged, 'secrets.json'), '{broken');
      const refused = await startEmbedded(damaged).then(
        async (started) => {
          await stop(started);
          return null;
        },
        (error: Error) => error.message,
      );
      expect(refused).toMatch(/^embedded process exited with 1:\nDATA_DIR: \S+secrets\.json cannot be read \([^\n]+\): restore it from a backup[^\n]*\n?$/);
    } finally {
      rmSync(damaged, { recursive: true, force: true });
    }
  }, 30_000);
});

/** Starts the production entry point on `databaseUrl` (not migrating it) and answers how it exited and what it printed. */
async function startProduction(databaseUrl: string): Promise<{ code: number | null; lines: string[] }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    JWT_SECRET: 'a-secret-long-enough-for-the-validation-of-it',
    ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
  };
  const child = spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, lines: output.trim().split('\n') };
}

describe('A production start against a wrong DATABASE_URL', () => {
  it('stops with one line naming the variable and the reason, without retrying', async () => {
    const database = `filodiretto_missing_${Date.now()}`;
    const { code, lines } = await startProduction(`postgres://postgres@127.0.0.1:5432/${database}`);
    expect(code).toBe(1);
    // One line: no retries, each with its stack, as the ORM's own start printed.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('DATABASE_URL');
    expect(lines[0]).toContain(`database "${database}" does not exist`);
  }, 30_000);

  it('stops with one line when the database has no schema and the start is not to migrate it', async () => {
    // An empty database the application's role owns, as a fresh deployment has before its migration.
    const name = `${process.env.FILODIRETTO_TEST_RUN}_empty_${Date.now().toString(36)}`;
    await adminQuery(`CREATE DATABASE "${name}" OWNER ${APP_ROLE}`);
    try {
      const { code, lines } = await startProduction(appDatabaseUrl(name));
      expect(code).toBe(1);
      expect(lines).toEqual([expect.stringMatching(/DATABASE_URL: the database has no schema yet: run `npm run migration:run` first, or start with MIGRATIONS_RUN=true/)]);
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  }, 30_000);
});
