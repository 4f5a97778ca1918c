/**
 * Delivery pipeline at scale, in production mode (PostgreSQL + Redis/Bull, the worker as its own
 * process, the fake Graph API on 127.0.0.1). Prints one JSON object:
 * - throughput: BENCH_N subscribers (default 100,000) spread over comuni of 5,000, one 1,000/s
 *   number each (a regional alert), one campaign each: fan-out time, end-to-end messages/s, and the
 *   raw ceiling (a plain keep-alive client sending the same requests to the same fake server at the
 *   same concurrency, measured before and after the sends; the higher counts) with the ratio. The
 *   worker and the raw client are warmed up first (BENCH_WARMUP=0: a cold worker). Beside them: the
 *   CPU each process spent per message (worker, fake server, bench + API, PostgreSQL, Redis; and the
 *   raw client's and fake server's in the ceiling run), the bound the numbers' own caps put on the
 *   rate, and the connections the worker opened (BENCH_PER_COMUNE sets the comuni's size;
 *   BENCH_TIMELINE_FILE=path writes every message's receive time and number);
 * - cap: one 1,000/s number with a 100,000-subscriber normal campaign (its fan-out time too):
 *   achieved/configured rate and the most requests in any one-second window (sliding, by the
 *   fake server's receive time), while emergencies on the same number measure p50/p99 from the
 *   send call to their first provider request;
 * - statuses: signed `delivered` webhooks for the throughput run's messages, events/s until applied;
 * - the worker's peak RSS.
 *
 *   npm run bench:delivery            BENCH_N=20000 npm run bench:delivery
 *   BENCH_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (node flags for the worker, to profile it)
 *
 * Uses DATABASE_URL's server with a database of its own (dropped unless BENCH_KEEP=1) and REDIS_URL.
 */
import 'reflect-metadata';
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { monitorEventLoopDelay } from 'perf_hooks';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { Agent, request } from 'undici';
import { buildDataSourceOptions } from '@app/database';
import { QueueName } from '@app/queue';
import { createTestApp, FakeGraphApi, messagesWebhook, signedWebhook, TenantSession, TestApp } from '@app/testing';

// The bench is a script: its knobs come from its own command line environment.
const env = process.env;
const N = Number(env.BENCH_N ?? 100_000);
const PER_COMUNE = Number(env.BENCH_PER_COMUNE ?? 5_000);
const CAP_N = Number(env.BENCH_CAP_N ?? 100_000);
const CAP_SECONDS = Number(env.BENCH_CAP_SECONDS ?? 15);
// 100 samples, so that p99 is not simply the worst of a handful.
const EMERGENCIES = Number(env.BENCH_EMERGENCIES ?? 100);
const EMERGENCY_RECIPIENTS = Number(env.BENCH_EMERGENCY_RECIPIENTS ?? 20);
const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 32);
// The worker sends two small campaigns before the measured ones (see warmUp).
const WARMUP = env.BENCH_WARMUP !== '0';
// Worker processes (production scales the worker out; each is one event loop).
const WORKERS = Math.max(1, Number(env.BENCH_WORKERS ?? 1));
// Where the workers note when they hand each request to the HTTP client (bench/send-times.preload.ts).
const SEND_TIMES_FILE = join(tmpdir(), `filodiretto-bench-sends-${process.pid}.log`);
// The fake Graph API's answer time (ms) for the pipeline's sends; Meta's is tens to hundreds of ms.
const GRAPH_LATENCY_MS = Number(env.BENCH_GRAPH_LATENCY_MS ?? 0);
// Parts to run (the status part needs the throughput part's messages): BENCH_PARTS=cap runs the cap part alone.
const PARTS = new Set((env.BENCH_PARTS ?? 'throughput,statuses,cap').split(',').map((part) => part.trim()));
const SERVER_URL = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
env.REDIS_URL ??= 'redis://127.0.0.1:6379';
env.JWT_SECRET ??= 'bench-secret-that-is-long-enough-for-hs256-signing';
env.ENCRYPTION_KEY ??= Buffer.alloc(32, 9).toString('base64');
env.PLATFORM_ADMIN_EMAIL ??= 'operator@bench.local';
env.PLATFORM_ADMIN_PASSWORD ??= 'operator-password-bench';
env.LOG_LEVEL ??= 'silent';

const log = (message: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('bench: timed out waiting');
    await sleep(intervalMs);
  }
}

interface Comune {
  session: TenantSession;
  channelId: string;
  phoneNumberId: string;
  appSecret: string;
}

async function createComune(app: TestApp, messagesPerSecond: number, tag: string): Promise<Comune> {
  const session = await TenantSession.create(app);
  await session.as('patch', '/v1/tenant').send({ quietHoursStart: '00:00', quietHoursEnd: '00:00', monthlyMessageCap: 1000 }).expect(200);
  const phoneNumberId = `${tag}${randomBytes(4).readUInt32BE(0)}`;
  const appSecret = randomBytes(16).toString('hex');
  const channel = await session
    .as('post', '/v1/channels')
    .send({ name: 'WhatsApp', provider: 'whatsapp_cloud', phoneNumberId, wabaId: `w${phoneNumberId}`, displayPhoneNumber: '390000000000', accessToken: 'tok', appSecret, verifyToken: 'v', messagesPerSecond })
    .expect(201);
  return { session, channelId: channel.body.id, phoneNumberId, appSecret };
}

async function seed(app: TestApp, comune: Comune, count: number, offset: number, topic?: string): Promise<void> {
  const ids = (await app.dataSource.query(
    `INSERT INTO subscribers (tenant_id, channel_id, phone, wa_id, status, consent_source, subscribed_at, last_inbound_at)
     SELECT $1, $2, '+39' || (3000000000 + $3::bigint + g)::text, '39' || (3000000000 + $3::bigint + g)::text, 'active', 'api', now(), now()
       FROM generate_series(1, $4::int) g RETURNING id`,
    [comune.session.tenantId, comune.channelId, offset, count],
  )) as { id: string }[];
  if (topic) {
    await app.dataSource.query(`INSERT INTO topics (tenant_id, key, name) VALUES ($1, $2, $2) ON CONFLICT DO NOTHING`, [comune.session.tenantId, topic]);
    await app.dataSource.query(
      `INSERT INTO subscriber_topics (tenant_id, subscriber_id, topic_id) SELECT $1, s, t.id FROM unnest($2::uuid[]) s, topics t WHERE t.tenant_id = $1 AND t.key = $3`,
      [comune.session.tenantId, ids.map((row) => row.id), topic],
    );
  }
}

async function campaign(comune: Comune, body: Record<string, unknown>): Promise<string> {
  const response = await comune.session.as('post', '/v1/campaigns').send({ title: 'Bench', channelId: comune.channelId, ...body }).expect(201);
  return response.body.id as string;
}

interface SentRecord {
  wamid: string;
  phoneNumberId: string;
  to: string;
  receivedAt: number;
}

/**
 * The fake Graph API runs in a process of its own, like Meta: its receive times (which the cap
 * and latency figures are computed from) are not bunched by stalls of this process's event loop
 * (the API, the bench's own bookkeeping). Talked to over IPC.
 */
class RemoteFake {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (value: unknown) => void>();
  private sequence = 0;
  url = '';

  constructor() {
    this.child = spawn(process.execPath, [__filename, '--fake-graph'], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: { id: number; result: unknown }) => {
      this.pending.get(message.id)?.(message.result);
      this.pending.delete(message.id);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  async start(): Promise<this> {
    this.url = (await this.call('url')) as string;
    return this;
  }

  call(op: string, arg?: string): Promise<unknown> {
    const id = ++this.sequence;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, op, arg });
    });
  }

  reset = () => this.call('reset');
  counts = () => this.call('counts') as Promise<{ requests: number; sent: number }>;
  /** Connections opened to the fake server since the last reset. */
  connectionsOpened = () => this.call('connections') as Promise<number>;
  sent = () => this.call('sent') as Promise<SentRecord[]>;
  times = (phoneNumberId: string) => this.call('times', phoneNumberId) as Promise<number[]>;
  firstSeen = (text: string) => this.call('firstSeen', text) as Promise<number | null>;
  /** The fake server's event-loop delay since the last call (its stalls bunch its receive stamps). */
  loopDelay = () => this.call('loop') as Promise<{ maxMs: number; p99Ms: number }>;

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
  }
}

/** The child side of RemoteFake. */
async function fakeGraphProcess(): Promise<void> {
  const fake = await new FakeGraphApi({ retainBodies: false }).start();
  fake.latencyMs = GRAPH_LATENCY_MS;
  // The receiver's own stalls bunch its receive stamps: reported beside the cap figures.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const firstSeen = new Map<string, number>();
  const track = () =>
    fake.behave((recorded) => {
      const text = (recorded.body.text as { body?: string } | undefined)?.body;
      if (text?.startsWith('Allerta rossa') && !firstSeen.has(text)) firstSeen.set(text, recorded.receivedAt);
      return null;
    });
  track();
  process.on('message', (message: { id: number; op: string; arg?: string }) => {
    let result: unknown = null;
    switch (message.op) {
      case 'url':
        result = fake.url;
        break;
      case 'loop':
        result = { maxMs: round(loop.max / 1e6), p99Ms: round(loop.percentile(99) / 1e6) };
        loop.reset();
        break;
      case 'reset':
        fake.reset();
        fake.latencyMs = GRAPH_LATENCY_MS;
        firstSeen.clear();
        track();
        break;
      case 'connections':
        result = fake.connectionsOpened;
        break;
      case 'counts':
        // Polled every 50 ms while the pipeline sends: a count, not a pass over every request.
        result = { requests: fake.requests.length, sent: fake.sentCount };
        break;
      case 'sent':
        result = fake.sent.map((r) => ({ wamid: r.wamid, phoneNumberId: r.phoneNumberId, to: String(r.body.to), receivedAt: r.receivedAt }));
        break;
      case 'times':
        result = fake.requests.filter((r) => r.phoneNumberId === message.arg).map((r) => r.receivedAt);
        break;
      case 'firstSeen':
        result = firstSeen.get(message.arg!) ?? null;
        break;
    }
    process.send!({ id: message.id, result });
  });
  await new Promise<void>((resolve) => process.on('SIGTERM', () => resolve()));
  await fake.stop();
}

/**
 * The same requests, straight from a keep-alive client at the pipeline's concurrency, run in a
 * process of its own like the worker (in this process it would share one event loop with the fake
 * server and understate the ceiling).
 */
async function rawCeiling(fake: RemoteFake, count: number): Promise<{ rate: number; cpuPerMessageUs: { client: number; fakeGraphApi: number } }> {
  const child = spawn(process.execPath, [__filename, '--raw-ceiling', fake.url, String(count)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const fakeBefore = processCpuMs(fake.pid);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`raw ceiling client exited with ${code}`);
  // The client reports its rate and the CPU of its measured part; the fake's includes the warm-up requests.
  const [rate, clientCpuUs] = out.trim().split(' ').map(Number);
  const fakeUs = ((processCpuMs(fake.pid) - fakeBefore) * 1000) / (count + RAW_WARMUP_REQUESTS);
  return { rate, cpuPerMessageUs: { client: round(clientCpuUs / count), fakeGraphApi: round(fakeUs) } };
}

/** Requests the raw client sends before its clock starts (its JIT warms up, as the worker's has). */
const RAW_WARMUP_REQUESTS = 5_000;

/** Answers the rate (requests/s) and the CPU (µs) its measured part used. */
async function rawClient(url: string, count: number): Promise<{ rate: number; cpuUs: number }> {
  const agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 30_000, pipelining: 1 });
  await rawRequests(url, agent, RAW_WARMUP_REQUESTS);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await rawRequests(url, agent, count);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await agent.close();
  return { rate: count / seconds, cpuUs: used.user + used.system };
}

async function rawRequests(url: string, agent: Agent, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        const to = `+39${3900000000 + i}`;
        const response = await request(`${url}/v25.0/raw-ceiling/messages`, {
          method: 'POST',
          dispatcher: agent,
          headers: { authorization: 'Bearer tok', 'content-type': 'application/json' },
          body: JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to, biz_opaque_callback_data: String(i), type: 'text', text: { preview_url: true, body: 'Allerta meteo arancione: scuole chiuse domani.' } }),
        });
        await response.body.text();
      }
    }),
  );
}

/** Jiffies of the whole machine from /proc/stat: all, idle and stolen (by the hypervisor: a shared host). */
function cpuTimes(): { total: number; idle: number; steal: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.reduce((sum, value) => sum + value, 0), idle: fields[3] + (fields[4] ?? 0), steal: fields[7] ?? 0 };
  } catch {
    return { total: 0, idle: 0, steal: 0 };
  }
}

/** The machine's CPU over a part of the run: busy and stolen, in % of all its cores' time. */
function machineCpu(since: ReturnType<typeof cpuTimes>): { busyPercent: number; stealPercent: number } {
  const now = cpuTimes();
  const total = now.total - since.total || 1;
  return { busyPercent: round((100 * (total - (now.idle - since.idle) - (now.steal - since.steal))) / total), stealPercent: round((100 * (now.steal - since.steal)) / total) };
}

/** CPU time (ms) each process has used so far, from /proc/<pid>/stat (utime + stime). */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}
/** Linux reports process times in USER_HZ ticks, 100 per second. */
const CLOCK_TICKS = 100;

/** The machine's processes by role: the bench's own children by pid, PostgreSQL and Redis by name. */
function cpuByRole(roles: Record<string, number[]>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [role, pids] of Object.entries(roles)) result[role] = pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  result.postgres = 0;
  result.redis = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let name = '';
    try {
      name = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (name === 'postgres') result.postgres += processCpuMs(Number(entry));
    else if (name === 'redis-server') result.redis += processCpuMs(Number(entry));
  }
  return result;
}

/**
 * CPU per message (µs) of each role between two cpuByRole readings. PostgreSQL backends that exit in
 * between take their time with them: the pipeline's pooled connections stay open while it sends.
 */
function cpuPerMessage(before: Record<string, number>, after: Record<string, number>, messages: number): Record<string, number> {
  const result: Record<string, number> = {};
  let total = 0;
  for (const role of Object.keys(after)) {
    const us = ((after[role] - (before[role] ?? 0)) * 1000) / messages;
    result[role] = round(us);
    total += us;
  }
  result.total = round(total);
  return result;
}

/** Most events in any sliding one-second window (times in ms, sorted). */
function mostInOneSecond(times: number[]): number {
  let most = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while (times[hi] - times[lo] >= 1000) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}

/** The workers' own send times (ms) for one phone number id since `since` (epoch ms), sorted. */
function sendTimes(phoneNumberId: string, since: number): number[] {
  let text = '';
  try {
    text = readFileSync(SEND_TIMES_FILE, 'utf8');
  } catch {
    return [];
  }
  const suffix = `/${encodeURIComponent(phoneNumberId)}/messages`;
  const times: number[] = [];
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0 || !line.endsWith(suffix)) continue;
    const at = Number(line.slice(0, space));
    if (at >= since) times.push(at);
  }
  return times.sort((a, b) => a - b);
}

function peakRssMb(pid: number): number | null {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? round(Number(match[1]) / 1024) : null;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const database = `filodiretto_bench_delivery_${randomBytes(3).toString('hex')}`;
  const server = new URL(SERVER_URL);
  await adminQuery(server.href, `CREATE DATABASE "${database}"`);
  const url = new URL(server.href);
  url.pathname = `/${database}`;
  env.DATABASE_URL = url.href;
  const migrate = new DataSource(buildDataSourceOptions({ url: url.href, poolSize: 1 }));
  await migrate.initialize();
  await migrate.runMigrations({ transaction: 'each' });
  await migrate.destroy();

  const prefix = `bench-${randomBytes(3).toString('hex')}`;
  const fake = await new RemoteFake().start();
  const app = await createTestApp({ worker: false, env: { QUEUE_PREFIX: prefix, WHATSAPP_GRAPH_URL: fake.url } });
  // WORKERS processes share the dispatch concurrency (CONCURRENCY job slots in all, like the raw ceiling's connections).
  const workers: ChildProcess[] = Array.from({ length: WORKERS }, (_, i) =>
    spawn(process.execPath, [...(env.BENCH_WORKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '-r', join(__dirname, 'send-times.preload.js'), join(__dirname, '../apps/worker/src/main.js')], {
      env: {
        ...env,
        BENCH_SEND_TIMES_FILE: SEND_TIMES_FILE,
        // The cap part's number ('c…'); BENCH_SEND_TIMES_PREFIX='' notes every number's sends.
        BENCH_SEND_TIMES_PREFIX: env.BENCH_SEND_TIMES_PREFIX ?? 'c',
        QUEUE_PREFIX: prefix,
        WHATSAPP_GRAPH_URL: fake.url,
        DISPATCH_CONCURRENCY: String(Math.floor(CONCURRENCY / WORKERS) + (i < CONCURRENCY % WORKERS ? 1 : 0)),
        ...(env.BENCH_WORKER_MAX_CONNECTIONS ? { WHATSAPP_MAX_CONNECTIONS: env.BENCH_WORKER_MAX_CONNECTIONS } : {}),
        RECONCILE_INTERVAL_MS: '5000',
        STUCK_DELIVERY_SECONDS: '120',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const peakRss = () => workers.map((worker) => peakRssMb(worker.pid!));
  const result: Record<string, unknown> = { n: N, concurrency: CONCURRENCY, workers: WORKERS, graphLatencyMs: GRAPH_LATENCY_MS };
  try {
    await sleep(2000); // the worker boots

    if (PARTS.has('throughput')) await throughputAndStatuses(app, fake, result, workers.map((worker) => worker.pid!));
    if (PARTS.has('cap')) await capAndEmergencies(app, fake, result);
    result.workerPeakRssMb = peakRss();
  } finally {
    result.workerPeakRssMb ??= peakRss();
    for (const worker of workers) worker.kill('SIGTERM');
    // A graceful exit (up to 5 s) lets --cpu-prof write its profile.
    for (let i = 0; i < 50 && workers.some((worker) => worker.exitCode === null); i++) await sleep(100);
    for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
    await app.close().catch(() => undefined);
    await fake.stop();
    if (env.BENCH_KEEP !== '1') await adminQuery(server.href, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
    if (env.BENCH_KEEP !== '1') rmSync(SEND_TIMES_FILE, { force: true });
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

/**
 * A running platform's worker has sent before: two small campaigns (3,000 each) go out first, so
 * that the measured sends do not include the worker's JIT compiling its send path (the raw
 * client warms up likewise). BENCH_WARMUP=0 measures a cold worker.
 */
async function warmUp(app: TestApp): Promise<void> {
  log('warm-up: two campaigns of 3,000');
  const warm = await Promise.all(
    [0, 1].map(async (i) => {
      const comune = await createComune(app, 1000, `w${i}x`);
      await seed(app, comune, 3000, 500_000 + i * 3000);
      return { comune, id: await campaign(comune, { message: { type: 'text', text: 'Prova' } }) };
    }),
  );
  await Promise.all(warm.map(({ comune, id }) => comune.session.as('post', `/v1/campaigns/${id}/send`).expect(202)));
  await until(async () => {
    const [row] = (await app.dataSource.query(`SELECT count(*)::int AS n FROM campaigns WHERE id = ANY($1) AND status = 'completed'`, [warm.map((w) => w.id)])) as { n: number }[];
    return row.n === warm.length;
  }, 120_000);
}

/** 1. Throughput: a regional alert, many comuni at once; then 2. their status webhooks. */
async function throughputAndStatuses(app: TestApp, fake: RemoteFake, result: Record<string, unknown>, workerPids: number[]): Promise<void> {
  const comuniCount = Math.max(1, Math.ceil(N / PER_COMUNE));
  log(`throughput: ${comuniCount} comuni, ${N} subscribers`);
  const comuni: Comune[] = [];
  for (let i = 0; i < comuniCount; i++) {
    const comune = await createComune(app, 1000, `t${i}x`);
    await seed(app, comune, Math.min(PER_COMUNE, N - i * PER_COMUNE), i * PER_COMUNE);
    comuni.push(comune);
  }
  if (WARMUP) await warmUp(app);
  const ids: string[] = [];
  for (const comune of comuni) ids.push(await campaign(comune, { message: { type: 'text', text: 'Allerta meteo arancione: scuole chiuse domani.' } }));
  await fake.reset();
  // The ceiling on the quiet machine, before the sends; again after them (below): the higher counts.
  const before = await rawCeiling(fake, Math.min(N, 50_000));
  await fake.reset();
  log('throughput: sending');
  const cpuAtStart = cpuTimes();
  // The bench process is also the API (the send calls, hence the fan-outs' requests).
  const roles = { worker: workerPids, fakeGraphApi: [fake.pid], benchAndApi: [process.pid] };
  const rolesAtStart = cpuByRole(roles);
  const started = performance.now();
  const fanOut: number[] = [];
  await Promise.all(
    comuni.map(async (comune, i) => {
      const t = performance.now();
      await comune.session.as('post', `/v1/campaigns/${ids[i]}/send`).expect(202);
      fanOut.push(performance.now() - t);
    }),
  );
  const allSent = performance.now();
  await until(async () => (await fake.counts()).sent >= N, 600_000, 50);
  log('throughput: every message received');
  const rolesAtEnd = cpuByRole(roles);
  const pipelineConnections = await fake.connectionsOpened();
  const sentRecords = await fake.sent();
  const lastRequest = Math.max(...sentRecords.map((r) => r.receivedAt));
  // For a closer look at the send timeline: BENCH_TIMELINE_FILE=path writes [receivedAt, phoneNumberId] per message.
  if (env.BENCH_TIMELINE_FILE) writeFileSync(env.BENCH_TIMELINE_FILE, JSON.stringify({ startedAt: Date.now() - (performance.now() - started), sends: sentRecords.map((r) => [r.receivedAt, r.phoneNumberId]) }));
  const e2eSeconds = (lastRequest - (Date.now() - (performance.now() - started))) / 1000;
  await until(async () => {
    const [row] = (await app.dataSource.query(`SELECT count(*)::int AS n FROM campaigns WHERE id = ANY($1) AND status = 'completed'`, [ids])) as { n: number }[];
    return row.n === ids.length;
  }, 120_000);
  const completedSeconds = (performance.now() - started) / 1000;
  const sendingCpu = machineCpu(cpuAtStart);
  const endToEnd = N / e2eSeconds;
  log(`throughput: ${round(endToEnd)} msg/s end to end; measuring the raw ceiling`);
  const wamids = sentRecords.map((r) => ({ wamid: r.wamid, phoneNumberId: r.phoneNumberId, to: r.to }));
  await fake.reset();
  const after = await rawCeiling(fake, Math.min(N, 50_000));
  const best = after.rate > before.rate ? after : before;
  const [ceilingBefore, ceilingAfter, ceiling, ceilingCpu] = [before.rate, after.rate, best.rate, best.cpuPerMessageUs];
  await fake.reset();
  result.throughput = {
    comuni: comuniCount,
    messages: N,
    sendCallsMs: round(allSent - started),
    fanOutMsPerCampaign: { max: round(Math.max(...fanOut)), p50: round(percentile(fanOut, 50)) },
    endToEndMessagesPerSecond: round(endToEnd),
    secondsToAllCompleted: round(completedSeconds, 2),
    rawCeilingMessagesPerSecond: round(ceiling),
    rawCeilingRuns: { beforeSends: round(ceilingBefore), afterSends: round(ceilingAfter) },
    workerWarmedUp: WARMUP,
    ratioToCeiling: round(endToEnd / ceiling, 3),
    // While sending: a machine at 100% busy is CPU-bound; CPU stolen by the host slows everything.
    machineCpuWhileSending: sendingCpu,
    // CPU each part of the pipeline spent per message while sending (µs), beside the raw client's.
    cpuPerMessageUs: cpuPerMessage(rolesAtStart, rolesAtEnd, N),
    rawCeilingCpuPerMessageUs: ceilingCpu,
    // The numbers' own caps bound the end-to-end rate: comuni x 1,000/s x the throttle's headroom.
    numbersRateBoundPerSecond: comuniCount * 1000 * 0.96,
    // Connections the worker opened to the fake server while sending (the raw client keeps CONCURRENCY).
    pipelineConnectionsOpened: pipelineConnections,
    target: '>= 0.5 x raw ceiling',
  };

  if (!PARTS.has('statuses')) return;
  // 2. Status webhooks: `delivered` for every message, signed, 10 statuses per POST.
  log('statuses: posting delivered webhooks');
  const byPhoneNumber = new Map(comuni.map((comune) => [comune.phoneNumberId, comune]));
  const posts: { channelId: string; bytes: Buffer; signature: string }[] = [];
  const perNumber = new Map<string, typeof wamids>();
  for (const w of wamids) {
    const list = perNumber.get(w.phoneNumberId);
    if (list) list.push(w);
    else perNumber.set(w.phoneNumberId, [w]);
  }
  const slices: typeof wamids[] = [];
  for (const list of perNumber.values()) for (let i = 0; i < list.length; i += 10) slices.push(list.slice(i, i + 10));
  for (const slice of slices) {
    const comune = byPhoneNumber.get(slice[0].phoneNumberId)!;
    const body = messagesWebhook(
      comune.phoneNumberId,
      { statuses: slice.map((w) => ({ id: w.wamid, status: 'delivered', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: w.to.replace('+', '') })) },
      { wabaId: `w${comune.phoneNumberId}`, displayPhoneNumber: '390000000000' },
    );
    posts.push({ channelId: comune.channelId, ...signedWebhook(body, comune.appSecret) });
  }
  const statusEvents = posts.reduce((sum, post) => sum + JSON.parse(post.bytes.toString()).entry[0].changes[0].value.statuses.length, 0);
  const statusRolesAtStart = cpuByRole(roles);
  const statusStart = performance.now();
  let nextPost = 0;
  const apiUrl = `http://127.0.0.1:${(app.app.getHttpServer().address() as { port: number }).port}`;
  const apiAgent = new Agent({ connections: 16, keepAliveTimeout: 30_000 });
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (nextPost < posts.length) {
        const post = posts[nextPost++];
        const response = await request(`${apiUrl}/v1/webhooks/whatsapp/${post.channelId}`, {
          method: 'POST',
          dispatcher: apiAgent,
          headers: { 'content-type': 'application/json', 'x-hub-signature-256': post.signature },
          body: post.bytes,
        });
        await response.body.text();
        if (response.statusCode !== 200) throw new Error(`webhook answered ${response.statusCode}`);
      }
    }),
  );
  await apiAgent.close();
  const postedSeconds = (performance.now() - statusStart) / 1000;
  await until(async () => {
    const [row] = (await app.dataSource.query(`SELECT sum(delivered_count)::int AS n FROM campaigns WHERE id = ANY($1)`, [ids])) as { n: number }[];
    return row.n >= statusEvents;
  }, 300_000, 100);
  const statusSeconds = (performance.now() - statusStart) / 1000;
  const statusRolesAtEnd = cpuByRole(roles);
  // The status processor alone: the same volume as 'read' events put straight on its queue.
  // (The jobs are built before the clock starts: only the processor is timed.)
  const channelOf = new Map(comuni.map((comune) => [comune.phoneNumberId, comune]));
  const readAt = new Date().toISOString();
  const jobs = slices.map((slice) => {
    const comune = channelOf.get(slice[0].phoneNumberId)!;
    const statuses = slice.map((w) => ({ wamid: w.wamid, status: 'read' as const, occurredAt: readAt, recipientId: null, recipientUserId: null, callbackData: null, errorCode: null, errorTitle: null }));
    return { name: 'apply-statuses', data: { tenantId: comune.session.tenantId, channelId: comune.channelId, statuses } };
  });
  const directRolesAtStart = cpuByRole(roles);
  const directStart = performance.now();
  for (let i = 0; i < jobs.length; i += 500) await app.transport.addBulk(QueueName.DeliveryStatuses, jobs.slice(i, i + 500));
  await until(async () => {
    const [row] = (await app.dataSource.query(`SELECT sum(read_count)::int AS n FROM campaigns WHERE id = ANY($1)`, [ids])) as { n: number }[];
    return row.n >= statusEvents;
  }, 300_000, 100);
  const directSeconds = (performance.now() - directStart) / 1000;
  const directRolesAtEnd = cpuByRole(roles);
  result.statuses = {
    processorOnlyEventsPerSecond: round(statusEvents / directSeconds),
    events: statusEvents,
    webhookPosts: posts.length,
    postedInSeconds: round(postedSeconds, 2),
    viaSignedWebhooksEventsPerSecond: round(statusEvents / statusSeconds),
    // CPU each process spent per status event (µs): through the signed webhooks, then on the queue alone.
    cpuPerEventUs: { viaWebhooks: cpuPerMessage(statusRolesAtStart, statusRolesAtEnd, statusEvents), processorOnly: cpuPerMessage(directRolesAtStart, directRolesAtEnd, statusEvents) },
    target: '>= 3000 events/s',
  };

}

/** 3. Cap adherence on one 1,000/s number with a 100k normal campaign, emergencies overtaking it. */
async function capAndEmergencies(app: TestApp, fake: RemoteFake, result: Record<string, unknown>): Promise<void> {
  log(`cap: one 1,000/s number, ${CAP_N} subscribers`);
  const capped = await createComune(app, 1000, 'c');
  await seed(app, capped, CAP_N, 10_000_000);
  await seed(app, capped, EMERGENCY_RECIPIENTS, 20_000_000, 'protezione-civile');
  const normalId = await campaign(capped, { message: { type: 'text', text: 'Notiziario del comune' } });
  await fake.reset();
  await fake.loopDelay();
  const capCpu = cpuTimes();
  const capStartedAt = Date.now();
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const fanOutStart = performance.now();
  await capped.session.as('post', `/v1/campaigns/${normalId}/send`).expect(202);
  const capFanOutMs = performance.now() - fanOutStart;
  await sleep(3000);
  const latencies: number[] = [];
  const sendCalls: number[] = [];
  for (let i = 0; i < EMERGENCIES; i++) {
    const id = await campaign(capped, { priority: 'emergency', topics: ['protezione-civile'], message: { type: 'text', text: `Allerta rossa ${i}` } });
    const t = Date.now();
    await capped.session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    sendCalls.push(Date.now() - t);
    let seen: number | null = null;
    await until(async () => (seen = await fake.firstSeen(`Allerta rossa ${i}`)) !== null, 10_000, 5);
    latencies.push(seen! - t);
    await sleep(250);
  }
  const elapsed = (performance.now() - fanOutStart) / 1000;
  if (elapsed < CAP_SECONDS) await sleep((CAP_SECONDS - elapsed) * 1000);
  const fakeLoop = await fake.loopDelay();
  const times = (await fake.times(capped.phoneNumberId)).sort((a, b) => a - b);
  // For a closer look at the cap: BENCH_CAP_TIMES_FILE=path writes the receive times (ms).
  if (env.BENCH_CAP_TIMES_FILE) writeFileSync(env.BENCH_CAP_TIMES_FILE, JSON.stringify(times));
  await capped.session.as('post', `/v1/campaigns/${normalId}/cancel`).expect(200);
  // Steady state: from the first request to the last one observed.
  const windowSeconds = (times[times.length - 1] - times[0]) / 1000;
  const maxSliding = mostInOneSecond(times);
  await sleep(300); // the workers' send log is flushed every 100 ms
  const sent = sendTimes(capped.phoneNumberId, capStartedAt);
  const sentSeconds = sent.length > 1 ? (sent[sent.length - 1] - sent[0]) / 1000 : 0;
  const perSecond = new Map<number, number>();
  for (const t of times) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  const achieved = times.length / windowSeconds;
  result.cap = {
    configuredPerSecond: 1000,
    fanOutMsFor100k: round(capFanOutMs),
    observedSeconds: round(windowSeconds, 2),
    requests: times.length,
    achievedPerSecond: round(achieved),
    achievedRatio: round(achieved / 1000, 3),
    maxInAnySlidingSecond: maxSliding,
    maxInAnyCalendarSecond: Math.max(...perSecond.values()),
    // This process's own stalls (the fake server no longer lives here), for reference.
    benchEventLoopDelayMaxMs: round(loopDelay.max / 1e6),
    benchEventLoopDelayP99Ms: round(loopDelay.percentile(99) / 1e6),
    // The same from the sender's side: when the workers handed each request to the HTTP client.
    sender: {
      requests: sent.length,
      achievedRatio: sentSeconds > 0 ? round(sent.length / sentSeconds / 1000, 3) : null,
      maxInAnySlidingSecond: mostInOneSecond(sent),
    },
    machineCpu: machineCpu(capCpu),
    fakeServerEventLoopDelayMaxMs: fakeLoop.maxMs,
    fakeServerEventLoopDelayP99Ms: fakeLoop.p99Ms,
    target: '>= 95% achieved, never above 1000 in any second',
  };
  result.emergency = {
    samples: latencies.length,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: Math.max(...latencies),
    sendCallP50Ms: percentile(sendCalls, 50),
    sendCallP99Ms: percentile(sendCalls, 99),
    target: 'p99 < 1000 ms',
  };
}

const entry =
  process.argv[2] === '--raw-ceiling'
    ? rawClient(process.argv[3], Number(process.argv[4])).then(({ rate, cpuUs }) => void process.stdout.write(`${rate} ${cpuUs}\n`))
    : process.argv[2] === '--fake-graph'
      ? fakeGraphProcess()
      : main();
entry.then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
