import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import request from 'supertest';

const ENTRY = join(__dirname, '../dist/apps/standalone/src/main.js');

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts `npm start`'s entry point with no configuration but a data folder and a free port. */
function startEmbedded(dataDir: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'warn', TZ: 'UTC' };
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

  it('serves health and docs, prints the operator login once, and keeps data across a restart', async () => {
    const first = await startEmbedded(dataDir);
    let tenantEmail: string;
    try {
      const http = () => request(first.url);
      const health = await http().get('/health').expect(200);
      expect(health.body.info).toMatchObject({ database: { status: 'up' }, queue: { status: 'up', transport: 'in-process' } });
      await http().get('/docs-json').expect(200);
      await http().get('/docs/').expect(200);

      const printed = /"email": "([^"]+)", "password": "([^"]+)"/.exec(first.output());
      expect(printed).not.toBeNull();
      const operator = await http().post('/v1/auth/login').send({ email: printed![1], password: printed![2] }).expect(200);

      tenantEmail = 'urp@embedded.example';
      const signup = await http()
        .post('/v1/tenants/signup')
        .send({ name: 'Comune di Prova', slug: 'prova', adminEmail: tenantEmail, adminPassword: 'una-password-lunga' })
        .expect(201);
      await http().post(`/v1/admin/tenants/${signup.body.id}/approve`).set('Authorization', `Bearer ${operator.body.accessToken}`).expect(200);
    } finally {
      await stop(first);
    }

    const second = await startEmbedded(dataDir);
    try {
      const http = () => request(second.url);
      await http().get('/health').expect(200);
      const login = await http().post('/v1/auth/login').send({ email: tenantEmail, password: 'una-password-lunga' }).expect(200);
      const tenant = await http().get('/v1/tenant').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
      expect(tenant.body).toMatchObject({ slug: 'prova', status: 'active' });
      // The generated operator password is shown on the first start only.
      expect(second.output()).not.toMatch(/generated now/);
    } finally {
      await stop(second);
    }
  }, 120_000);
});
