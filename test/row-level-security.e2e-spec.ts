import { runInTenantContext } from '@app/database';
import { createTestApp, TenantSession, TestApp } from '@app/testing';
import { createCampaign, createChannel } from './campaign-fixtures';

/**
 * Defence in depth: under the tenant-scoped repositories, PostgreSQL's row-level security
 * confines a tenant request's queries to its tenant, even a query that forgets its tenant.
 */
describe('Row-level security', () => {
  let testApp: TestApp;
  let valdoria: TenantSession;
  let monteserrano: TenantSession;

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false });
    valdoria = await TenantSession.create(testApp);
    monteserrano = await TenantSession.create(testApp);
    for (const session of [valdoria, monteserrano]) {
      await session.as('post', '/v1/topics').send({ key: 'meteo', name: 'Meteo' }).expect(201);
      await session.as('post', '/v1/api-keys').send({ name: 'k' }).expect(201);
    }
  });

  afterAll(async () => {
    await testApp.close();
  });

  it('covers every table that has a tenant_id, forced for the owner too', async () => {
    const unprotected = await testApp.dataSource.query(`
      SELECT c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
      WHERE c.relkind = 'r'
        AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) OR c.relname = 'tenants')
        AND NOT (c.relrowsecurity AND c.relforcerowsecurity AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))`);
    expect(unprotected).toEqual([]);
  });

  it('runs the test suite as a role that row-level security applies to', async () => {
    const [role] = await testApp.dataSource.query(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`);
    expect(role).toEqual({ rolsuper: false, rolbypassrls: false });
  });

  it("hides another tenant's rows from a query that forgets its tenant", async () => {
    const unscoped = () => testApp.dataSource.query(`SELECT DISTINCT tenant_id FROM topics WHERE key = 'meteo'`);
    const everyone = (await unscoped()).map((row: { tenant_id: string }) => row.tenant_id);
    expect(everyone).toEqual(expect.arrayContaining([valdoria.tenantId, monteserrano.tenantId]));

    const seen = await runInTenantContext(valdoria.tenantId, async () => (await unscoped()).map((row: { tenant_id: string }) => row.tenant_id));
    expect(seen).toEqual([valdoria.tenantId]);

    const keys = await runInTenantContext(valdoria.tenantId, () => testApp.dataSource.query(`SELECT DISTINCT tenant_id FROM api_keys`));
    expect(keys).toEqual([{ tenant_id: valdoria.tenantId }]);
    const tenants = await runInTenantContext(valdoria.tenantId, () => testApp.dataSource.query(`SELECT id FROM tenants`));
    expect(tenants).toEqual([{ id: valdoria.tenantId }]);
  });

  it("refuses to write a row into another tenant, and to change another tenant's rows", async () => {
    await expect(
      runInTenantContext(valdoria.tenantId, () =>
        testApp.dataSource.query(`INSERT INTO topics (tenant_id, key, name) VALUES ($1, 'intrusa', 'Intrusa')`, [monteserrano.tenantId]),
      ),
    ).rejects.toThrow(/row-level security/);
    const changed = await runInTenantContext(valdoria.tenantId, () =>
      testApp.dataSource.query(`UPDATE topics SET name = 'Cambiato' WHERE tenant_id = $1 RETURNING id`, [monteserrano.tenantId]),
    );
    expect(changed[0]).toEqual([]);
    const [topic] = await testApp.dataSource.query(`SELECT name FROM topics WHERE tenant_id = $1 AND key = 'meteo'`, [monteserrano.tenantId]);
    expect(topic.name).toBe('Meteo');
  });

  it("refuses a delivery of one comune that points at another comune's campaign, even outside a tenant context", async () => {
    const channel = await createChannel(monteserrano);
    const campaign = await createCampaign(monteserrano, { channelId: channel.id, message: { type: 'text', text: 'Avviso' } });
    const insert = (tenantId: string) =>
      testApp.dataSource.query(`INSERT INTO deliveries (tenant_id, campaign_id, channel_id, recipient, status) VALUES ($1, $2, $3, '+393470000001', 'queued') RETURNING id`, [
        tenantId,
        campaign,
        channel.id,
      ]);
    await expect(insert(valdoria.tenantId)).rejects.toMatchObject({ driverError: { code: '23503', constraint: 'deliveries_campaign_fkey' } });
    // The same row in its own comune is accepted: the key, not the statement, refused it.
    const [inserted] = await insert(monteserrano.tenantId);
    await testApp.dataSource.query(`DELETE FROM deliveries WHERE id = $1`, [inserted.id]);
  });

  it('keeps the context of concurrent requests apart on a shared pool', async () => {
    const runs = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? valdoria : monteserrano));
    const results = await Promise.all(
      runs.map((session) => runInTenantContext(session.tenantId, () => testApp.dataSource.query(`SELECT DISTINCT tenant_id FROM topics`))),
    );
    results.forEach((rows, i) => expect(rows).toEqual([{ tenant_id: runs[i].tenantId }]));
  });

  it('serves tenant requests through the API under the policies', async () => {
    const own = await valdoria.as('get', '/v1/topics').expect(200);
    expect(own.body.data).toEqual([expect.objectContaining({ key: 'meteo' })]);
    // A unique value taken by another tenant still answers 409, though that row is invisible here.
    const email = `${valdoria.slug}-taken@comune.example`;
    await monteserrano.as('post', '/v1/users').send({ email, password: 'password-long', role: 'viewer' }).expect(201);
    await valdoria.as('post', '/v1/users').send({ email, password: 'password-long', role: 'viewer' }).expect(409);
  });
});
