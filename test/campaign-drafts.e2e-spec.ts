import { createTestApp, TenantSession, TestApp } from '@app/testing';

describe('Campaign drafts: change and delete before sending', () => {
  let testApp: TestApp;
  let session: TenantSession;
  let channelId: string;

  beforeAll(async () => {
    testApp = await createTestApp();
    session = await TenantSession.create(testApp);
    channelId = (await session.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox' }).expect(201)).body.id;
    await session.as('post', '/v1/topics').send({ key: 'meteo', name: 'Meteo' }).expect(201);
  });

  afterAll(async () => {
    await testApp.close();
  });

  const draft = async () =>
    (await session.as('post', '/v1/campaigns').send({ channelId, title: 'Bozza', message: { type: 'text', text: 'Prima versione' } }).expect(201)).body as { id: string };

  it('lets an editor change a draft, validating like creation', async () => {
    const editor = await session.member('editor');
    const { id } = await draft();
    const changed = await testApp
      .http()
      .patch(`/v1/campaigns/${id}`)
      .set('Authorization', `Bearer ${editor}`)
      .send({ title: 'Allerta meteo', message: { type: 'poll', text: 'Avete ricevuto l’avviso?', options: ['Sì', 'No'] }, topics: ['meteo'], priority: 'emergency' })
      .expect(200);
    expect(changed.body).toMatchObject({ id, title: 'Allerta meteo', status: 'draft', priority: 'emergency' });
    const stored = (await session.as('get', `/v1/campaigns/${id}`).expect(200)).body;
    expect(stored).toMatchObject({ title: 'Allerta meteo', topics: ['meteo'], message: { type: 'poll', options: ['Sì', 'No'] } });

    const unknownTopic = await session.as('patch', `/v1/campaigns/${id}`).send({ topics: ['nessuno'] }).expect(400);
    expect(unknownTopic.body.message).toContain('nessuno');
    await session.as('patch', `/v1/campaigns/${id}`).send({ message: { type: 'text', text: '' } }).expect(400);
    await session.as('patch', `/v1/campaigns/${id}`).send({ status: 'completed' }).expect(400);
    const viewer = await session.member('viewer');
    await testApp.http().patch(`/v1/campaigns/${id}`).set('Authorization', `Bearer ${viewer}`).send({ title: 'x' }).expect(403);
  });

  it('refuses to change or delete a campaign that was sent, and deletes a draft', async () => {
    const sent = await draft();
    await session.as('post', `/v1/campaigns/${sent.id}/send`).expect(202);
    const refused = await session.as('patch', `/v1/campaigns/${sent.id}`).send({ title: 'Troppo tardi' }).expect(409);
    expect(refused.body.message).toMatch(/draft/);
    await session.as('delete', `/v1/campaigns/${sent.id}`).expect(409);

    const removable = await draft();
    await session.as('delete', `/v1/campaigns/${removable.id}`).expect(204);
    await session.as('get', `/v1/campaigns/${removable.id}`).expect(404);
  });

  it('refuses to delete a channel while a campaign on it is scheduled, and deletes it once cancelled', async () => {
    const other = (await session.as('post', '/v1/channels').send({ name: 'Secondo', provider: 'sandbox' }).expect(201)).body.id as string;
    const later = new Date(Date.now() + 86_400_000).toISOString();
    const campaign = (await session.as('post', '/v1/campaigns').send({ channelId: other, title: 'Domani', message: { type: 'text', text: 'Domani' }, scheduledAt: later }).expect(201)).body;
    expect((await session.as('post', `/v1/campaigns/${campaign.id}/send`).expect(202)).body.status).toBe('scheduled');
    const refused = await session.as('delete', `/v1/channels/${other}`).expect(409);
    expect(refused.body.message).toMatch(/cancel/);
    await session.as('post', `/v1/campaigns/${campaign.id}/cancel`).expect(200);
    await session.as('delete', `/v1/channels/${other}`).expect(204);
  });

  it("keeps another comune's drafts out of reach", async () => {
    const other = await TenantSession.create(testApp);
    const { id } = await draft();
    await other.as('patch', `/v1/campaigns/${id}`).send({ title: 'Intrusione' }).expect(404);
    await other.as('delete', `/v1/campaigns/${id}`).expect(404);
    expect((await session.as('get', `/v1/campaigns/${id}`).expect(200)).body.title).toBe('Bozza');
  });
});
