import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import { join } from 'path';
import { promisify } from 'util';
import { SecretBox } from '@app/core';
import { createTestApp, FakeGraphApi, signedWebhook, TenantSession, TestApp, waitFor } from '@app/testing';
import { campaignOf, createCampaign, createChannel, disableQuietHours, seedSubscribers } from './campaign-fixtures';

const run = promisify(execFile);
const CLI = join(__dirname, '../dist/libs/channels/src/rotate-secrets.cli.js');

/**
 * Rotation of the key that seals channel secrets: the platform keeps working with the old key
 * configured as previous, `secrets:rotate` re-seals every secret with the new key, and then the
 * old key can go.
 */
describe('Encryption key rotation for channel secrets', () => {
  const oldKey = process.env.ENCRYPTION_KEY!;
  const newKey = randomBytes(32).toString('base64');
  const oldBox = new SecretBox(Buffer.from(oldKey, 'base64'));
  const newBox = new SecretBox(Buffer.from(newKey, 'base64'));
  /** Mid-rotation configuration: the new key seals, the old one still opens, keyed hashes keep theirs. */
  const rotating = { ENCRYPTION_KEY: newKey, ENCRYPTION_KEY_PREVIOUS: oldKey, DIGEST_KEY: oldKey };
  const fake = new FakeGraphApi();
  let app: TestApp;

  beforeAll(async () => {
    await fake.start();
    app = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url, ...rotating } });
  });

  afterAll(async () => {
    await app.close();
    await fake.stop();
  });

  const sealedOf = async (tenantId: string) =>
    (await app.dataSource.query(`SELECT id, access_token_sealed, app_secret_sealed, verify_token_sealed FROM channels WHERE tenant_id = $1 ORDER BY id`, [tenantId])) as {
      id: string;
      access_token_sealed: string;
      app_secret_sealed: string;
      verify_token_sealed: string;
    }[];

  const cli = (tenantId: string, env: Record<string, string>) => run(process.execPath, [CLI, `--tenant=${tenantId}`], { env: { ...process.env, ...env, LOG_LEVEL: 'silent' } });

  /** The channel works end to end: Meta's handshake, a signed webhook, a send with the right token. */
  async function channelWorks(session: TenantSession, channel: { id: string; appSecret: string }, token: string) {
    const challenge = await app.http().get(`/v1/webhooks/whatsapp/${channel.id}`).query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '777' }).expect(200);
    expect(challenge.text).toBe('777');
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [] });
    await app.http().post(`/v1/webhooks/whatsapp/${channel.id}`).set('Content-Type', 'application/json').set('X-Hub-Signature-256', signedWebhook(body, channel.appSecret).signature).send(body).expect(200);
    fake.reset();
    const id = await createCampaign(session, { channelId: channel.id, message: { type: 'template', template: { name: 'avviso', language: 'it' } } });
    await session.as('post', `/v1/campaigns/${id}/send`).expect(202);
    await waitFor(async () => expect((await campaignOf(session, id)).status).toBe('completed'), { timeoutMs: 20_000 });
    expect(fake.sent.length).toBeGreaterThan(0);
    expect(new Set(fake.sent.map((r) => r.authorization))).toEqual(new Set([`Bearer ${token}`]));
  }

  it('works through the rotation and re-seals every secret with the new key', async () => {
    const session = await TenantSession.create(app);
    await disableQuietHours(session);
    const channel = await createChannel(session);
    await seedSubscribers(app.dataSource, session.tenantId, channel.id, 3);
    const sandbox = await session.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox' }).expect(201);
    // Both channels as they were stored before the rotation: sealed with the old key (updated_at moves, so no cached plaintext is used).
    for (const row of await sealedOf(session.tenantId)) {
      const plain = [row.access_token_sealed, row.app_secret_sealed, row.verify_token_sealed].map((v) => newBox.open(v));
      await app.dataSource.query(`UPDATE channels SET access_token_sealed = $2, app_secret_sealed = $3, verify_token_sealed = $4, updated_at = now() + interval '1 second' WHERE id = $1`, [row.id, ...plain.map((v) => oldBox.seal(v))]);
    }
    const before = await sealedOf(session.tenantId);
    expect(oldBox.open(before.find((r) => r.id === channel.id)!.access_token_sealed)).toBe('EAAG-test-token');
    expect(() => newBox.open(before[0].access_token_sealed)).toThrow();

    // During the rotation: old seals still open (handshake, signature, send); new writes use the new key.
    await channelWorks(session, channel, 'EAAG-test-token');
    await session.as('patch', `/v1/channels/${sandbox.body.id}`).send({ verifyToken: 'verify-sandbox' }).expect(200);
    const patched = (await sealedOf(session.tenantId)).find((r) => r.id === sandbox.body.id)!;
    expect(newBox.open(patched.verify_token_sealed)).toBe('verify-sandbox');

    // The CLI re-seals what is left, for this comune only (other test files share the database).
    const first = await cli(session.tenantId, rotating);
    expect(first.stdout).toContain('2 channel(s) checked, 2 re-sealed with the current key, 0 changed meanwhile, 0 unreadable');
    const after = await sealedOf(session.tenantId);
    for (const row of after) for (const value of [row.access_token_sealed, row.app_secret_sealed, row.verify_token_sealed]) expect(() => newBox.open(value)).not.toThrow();
    expect(newBox.open(after.find((r) => r.id === channel.id)!.app_secret_sealed)).toBe(channel.appSecret);
    expect(newBox.open(patched.verify_token_sealed)).toBe('verify-sandbox');
    expect(JSON.stringify(after)).not.toContain('EAAG-test-token');
    // Idempotent; and the new key alone now opens everything (the old key can be removed).
    expect((await cli(session.tenantId, rotating)).stdout).toContain('2 channel(s) checked, 0 re-sealed');
    expect((await cli(session.tenantId, { ENCRYPTION_KEY: newKey, DIGEST_KEY: oldKey })).stdout).toContain('0 unreadable');
    await channelWorks(session, channel, 'EAAG-test-token');
  }, 60_000);

  it('reports a secret that no configured key opens, and leaves it as it is', async () => {
    const session = await TenantSession.create(app);
    const channel = await createChannel(session);
    const stranger = new SecretBox(randomBytes(32)).seal('unknown');
    await app.dataSource.query(`UPDATE channels SET verify_token_sealed = $2 WHERE id = $1`, [channel.id, stranger]);
    const failure = await cli(session.tenantId, rotating).then(
      () => null,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stdout).toContain(`1 unreadable (${channel.id})`);
    const [row] = await sealedOf(session.tenantId);
    expect(row.verify_token_sealed).toBe(stranger);
  });

  it('refuses to start with a previous key but no digest key (erased contacts would be forgotten)', async () => {
    await expect(createTestApp({ env: { ENCRYPTION_KEY: newKey, ENCRYPTION_KEY_PREVIOUS: oldKey } })).rejects.toThrow(/DIGEST_KEY/);
  });
});
