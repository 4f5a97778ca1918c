import { randomBytes } from 'crypto';
import { createTestApp, TenantSession, TestApp } from '@app/testing';

describe('Topics, subscribers, import, public signup', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false });
  });

  afterAll(async () => {
    await testApp.close();
  });

  async function comune(): Promise<{ session: TenantSession; channelId: string }> {
    const session = await TenantSession.create(testApp);
    const channel = await session.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox', privacyPolicyUrl: 'https://comune.example/privacy' }).expect(201);
    return { session, channelId: channel.body.id };
  }

  it('creates topics and refuses a duplicate key', async () => {
    const { session } = await comune();
    const topic = await session.as('post', '/v1/topics').send({ key: 'protezione-civile', name: 'Protezione civile' }).expect(201);
    expect(topic.body).toMatchObject({ id: expect.any(String), key: 'protezione-civile', name: 'Protezione civile' });
    await session.as('post', '/v1/topics').send({ key: 'protezione-civile', name: 'Altro' }).expect(409);
    await session.as('post', '/v1/topics').send({ key: 'Non Valida', name: 'x' }).expect(400);
    expect((await session.as('get', '/v1/topics').expect(200)).body).toMatchObject({ data: [{ key: 'protezione-civile' }], nextCursor: null });
    const other = await comune();
    expect((await other.session.as('get', '/v1/topics').expect(200)).body.data).toEqual([]);
    await other.session.as('post', '/v1/topics').send({ key: 'protezione-civile', name: 'Protezione civile' }).expect(201);
  });

  it('creates subscribers from Italian phone forms, 409 on a duplicate, 400 naming phone', async () => {
    const { session, channelId } = await comune();
    await session.as('post', '/v1/topics').send({ key: 'viabilita', name: 'Viabilità' }).expect(201);
    const created = await session.as('post', '/v1/subscribers').send({ channelId, phone: '347 123 4567', name: 'Giulia', topics: ['viabilita'] }).expect(201);
    expect(created.body).toMatchObject({ id: expect.any(String), channelId, phone: '+393471234567', userId: null, name: 'Giulia', status: 'active', topics: ['viabilita'], consentSource: 'api' });
    expect(new Date(created.body.subscribedAt).toISOString()).toBe(created.body.subscribedAt);
    await session.as('post', '/v1/subscribers').send({ channelId, phone: '+39 347 123 4567' }).expect(409);
    await session.as('post', '/v1/subscribers').send({ channelId, phone: '0039 347 1234567' }).expect(409);
    const bad = await session.as('post', '/v1/subscribers').send({ channelId, phone: '12' }).expect(400);
    expect(JSON.stringify(bad.body.message)).toContain('phone');
    const missing = await session.as('post', '/v1/subscribers').send({ channelId }).expect(400);
    expect(JSON.stringify(missing.body.message)).toContain('phone');
    // (The import's wording, a form field beside the file, is the import's alone.)
    const noChannel = await session.as('post', '/v1/subscribers').send({ phone: '3281112222' }).expect(400);
    expect(noChannel.body.message).toEqual(['channelId must be a UUID']);
    await session.as('post', '/v1/subscribers').send({ channelId, phone: '3281112222', topics: ['sconosciuto'] }).expect(400);
    await session.as('post', '/v1/subscribers').send({ channelId: '00000000-0000-4000-8000-000000000000', phone: '3281112222' }).expect(404);
  });

  it('lists with filters and keyset pages, patches, unsubscribes, exports and erases', async () => {
    const { session, channelId } = await comune();
    await session.as('post', '/v1/topics').send({ key: 'meteo', name: 'Meteo' }).expect(201);
    await session.as('post', '/v1/topics').send({ key: 'eventi', name: 'Eventi' }).expect(201);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const body = await session.as('post', '/v1/subscribers').send({ channelId, phone: `34710000${10 + i}`, topics: i % 2 ? ['meteo'] : [] }).expect(201);
      ids.push(body.body.id);
    }
    const page1 = await session.as('get', `/v1/subscribers?channelId=${channelId}&limit=2`).expect(200);
    expect(page1.body.data).toHaveLength(2);
    const page2 = await session.as('get', `/v1/subscribers?channelId=${channelId}&limit=2&cursor=${page1.body.nextCursor}`).expect(200);
    const page3 = await session.as('get', `/v1/subscribers?channelId=${channelId}&limit=2&cursor=${page2.body.nextCursor}`).expect(200);
    expect(page3.body.nextCursor).toBeNull();
    // Newest first: the latest sign-ups open the list.
    expect([...page1.body.data, ...page2.body.data, ...page3.body.data].map((s: { id: string }) => s.id)).toEqual([...ids].reverse());
    expect((await session.as('get', '/v1/subscribers?topic=meteo').expect(200)).body.data).toHaveLength(2);

    const patched = await session.as('patch', `/v1/subscribers/${ids[0]}`).send({ name: 'Marco', topics: ['eventi', 'meteo'] }).expect(200);
    expect(patched.body).toMatchObject({ name: 'Marco', topics: ['eventi', 'meteo'] });
    const unsubscribed = await session.as('post', `/v1/subscribers/${ids[0]}/unsubscribe`).expect(200);
    expect(unsubscribed.body.status).toBe('unsubscribed');
    expect((await session.as('get', '/v1/subscribers?status=unsubscribed').expect(200)).body.data.map((s: { id: string }) => s.id)).toEqual([ids[0]]);
    // The comune cannot put back one who left: the 409 says so.
    const again = await session.as('post', '/v1/subscribers').send({ channelId, phone: '3471000010' }).expect(409);
    expect(again.body).toMatchObject({
      code: 'subscriber_exists',
      message: `A subscriber with phone +393471000010 already exists on this channel (${ids[0]}, unsubscribed: only the person can subscribe again, by writing the subscribe keyword or through the web form)`,
    });
    expect((await session.as('get', '/v1/subscribers?status=active').expect(200)).body.data).toHaveLength(4);
    await session.as('get', '/v1/subscribers?status=gone').expect(400);

    const exported = await session.as('get', `/v1/subscribers/${ids[0]}/export`).expect(200);
    expect(exported.body.subscriber).toMatchObject({ id: ids[0], phone: '+393471000010', name: 'Marco' });
    expect(exported.body.consentHistory.map((e: { action: string }) => e.action)).toEqual(['subscribed', 'unsubscribed']);

    const viewer = await session.member('viewer');
    await testApp.http().delete(`/v1/subscribers/${ids[0]}`).set('Authorization', `Bearer ${viewer}`).expect(403);
    await session.as('delete', `/v1/subscribers/${ids[0]}`).expect(204);
    await session.as('get', `/v1/subscribers/${ids[0]}`).expect(404);
    const rows = await testApp.dataSource.query(`SELECT count(*)::int AS n FROM subscribers WHERE phone = '+393471000010'`);
    expect(rows[0].n).toBe(0);
    const suppressed = await testApp.dataSource.query(`SELECT count(*)::int AS n FROM suppressed_contacts WHERE channel_id = $1`, [channelId]);
    expect(suppressed[0].n).toBe(1);
    // An import cannot bring an erased person back; only their own opt-in can.
    const csv = 'phone,name,topics\n347 100 0010,Marco,\n';
    const imported = await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', Buffer.from(csv), 'lista.csv').expect(200);
    expect(imported.body).toMatchObject({ imported: 0, updated: 0, rejected: [{ line: 2, reason: expect.stringContaining('erased') }] });
  });

  it('counts an erased active subscriber as one who left in the subscriber series', async () => {
    const { session, channelId } = await comune();
    const stays = await session.as('post', '/v1/subscribers').send({ channelId, phone: '3471110001' }).expect(201);
    const goes = await session.as('post', '/v1/subscribers').send({ channelId, phone: '3471110002' }).expect(201);
    const left = await session.as('post', '/v1/subscribers').send({ channelId, phone: '3471110003' }).expect(201);
    await session.as('post', `/v1/subscribers/${left.body.id}/unsubscribe`).expect(200);
    await session.as('delete', `/v1/subscribers/${goes.body.id}`).expect(204);
    // Erasing someone who had already left is not a second departure.
    await session.as('delete', `/v1/subscribers/${left.body.id}`).expect(204);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Rome' }).format(new Date());
    const series = await session.as('get', '/v1/analytics/subscribers').query({ from: today, to: today }).expect(200);
    expect(series.body.data).toEqual([{ date: today, joined: 3, left: 2, active: 1 }]);
    expect((await session.as('get', `/v1/subscribers/${stays.body.id}`).expect(200)).body.status).toBe('active');
  });

  it('imports a CSV: merged duplicates, rejected lines with reasons, existing subscribers updated', async () => {
    const { session, channelId } = await comune();
    await session.as('post', '/v1/topics').send({ key: 'meteo', name: 'Meteo' }).expect(201);
    await session.as('post', '/v1/topics').send({ key: 'eventi', name: 'Eventi' }).expect(201);
    const existing = await session.as('post', '/v1/subscribers').send({ channelId, phone: '3470000001' }).expect(201);
    await session.as('post', `/v1/subscribers/${existing.body.id}/unsubscribe`).expect(200);
    const csv = [
      'phone,name,topics',
      '347 000 0001,Anna,meteo', // existing (unsubscribed): updated, stays unsubscribed
      '+39 347 000 0002,Bruno,meteo|eventi',
      '0039 347 0000002,Bruno B.,eventi', // duplicate of the line above: merged
      'non-un-numero,Carla,',
      '3470000003,Dario,sport', // unknown topic
      '3470000004,,',
      '3470000005,Eva\u0000,', // a NUL character: no column can store it
      `3470000006,${'N'.repeat(201)},`, // longer than a name may be: refused, not cut
      '3470000007,Rossi, Maria,meteo', // an unquoted comma in the name: its columns no longer line up
      '3470000008,Verdi,eventi,', // a trailing separator is no data
    ].join('\n');
    const result = await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', Buffer.from(csv), 'lista.csv').expect(200);
    // Every line of data counted once: 3 + 1 + 1 + 5 = the 10 lines.
    expect(result.body).toEqual({
      imported: 3,
      updated: 1,
      merged: 1,
      rejected: [
        { line: 5, reason: 'invalid phone number' },
        { line: 6, reason: expect.stringContaining('sport') },
        { line: 8, reason: 'name contains a NUL character' },
        { line: 9, reason: 'name is longer than 200 characters' },
        { line: 10, reason: expect.stringContaining('must be in double quotes') },
      ],
      rejectedCount: 5,
    });
    const all = (await session.as('get', `/v1/subscribers?channelId=${channelId}`).expect(200)).body.data;
    const byPhone = Object.fromEntries(all.map((s: { phone: string }) => [s.phone, s]));
    expect(byPhone['+393470000001']).toMatchObject({ name: 'Anna', status: 'unsubscribed', topics: ['meteo'] });
    expect(byPhone['+393470000002']).toMatchObject({ name: 'Bruno B.', status: 'active', consentSource: 'import', topics: ['eventi', 'meteo'] });
    expect(byPhone['+393470000004']).toMatchObject({ name: null, status: 'active' });
    expect(byPhone['+393470000007']).toBeUndefined();
    expect(byPhone['+393470000008']).toMatchObject({ name: 'Verdi', topics: ['eventi'] });
    await session.as('post', '/v1/subscribers/import').field('channelId', channelId).expect(400);
    const noChannel = await session.as('post', '/v1/subscribers/import').attach('file', Buffer.from(csv), 'lista.csv').expect(400);
    expect(noChannel.body.message).toContain('channelId is required: a form field beside file');
    await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', Buffer.from('nome,cognome\na,b\n'), 'x.csv').expect(400);
    const other = await comune();
    await other.session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', Buffer.from(csv), 'lista.csv').expect(404);
  });

  it('lists the first 1,000 rejected lines of an import and counts them all', async () => {
    const { session, channelId } = await comune();
    const csv = ['phone,name,topics', '3470009999,Anna,', ...Array.from({ length: 1_005 }, (_, i) => `non-un-numero-${i},X,`)].join('\n');
    const result = await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', Buffer.from(csv), 'lista.csv').expect(200);
    expect(result.body).toMatchObject({ imported: 1, updated: 0, merged: 0, rejectedCount: 1_005 });
    expect(result.body.rejected).toHaveLength(1_000);
    // Every entry is a line of the file (the header is line 1, Anna line 2).
    expect(result.body.rejected[0]).toEqual({ line: 3, reason: 'invalid phone number' });
    expect(result.body.rejected[999]).toEqual({ line: 1_002, reason: 'invalid phone number' });
  });

  it('imports a file saved by Excel with the Italian locale (; separator), reporting the lines where records start', async () => {
    const { session, channelId } = await comune();
    await session.as('post', '/v1/topics').send({ key: 'meteo', name: 'Meteo' }).expect(201);
    await session.as('post', '/v1/topics').send({ key: 'eventi', name: 'Eventi' }).expect(201);
    const csv = [
      '\ufeffphone;name;topics',
      '347 000 0101;Rossi, Anna;meteo|eventi', // a comma is part of the name here
      '+39 347 000 0102;"Bianchi; Bruno";eventi',
      '3470000103;"Famiglia Esposito', // a quoted field over three lines
      'via Roma 1',
      'scala B";meteo',
      'non-un-numero;Carla;',
      '3470000104;"Dario',
      'Verdi";sport',
    ].join('\r\n');
    const result = await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', Buffer.from(csv), 'iscritti.csv').expect(200);
    expect(result.body).toEqual({
      imported: 3,
      updated: 0,
      merged: 0,
      rejected: [
        { line: 7, reason: 'invalid phone number' },
        { line: 8, reason: 'unknown topic sport' },
      ],
      rejectedCount: 2,
    });
    const all = (await session.as('get', `/v1/subscribers?channelId=${channelId}`).expect(200)).body.data;
    const byPhone = Object.fromEntries(all.map((s: { phone: string }) => [s.phone, s]));
    expect(Object.keys(byPhone).sort()).toEqual(['+393470000101', '+393470000102', '+393470000103']);
    expect(byPhone['+393470000101']).toMatchObject({ name: 'Rossi, Anna', topics: ['eventi', 'meteo'] });
    expect(byPhone['+393470000102']).toMatchObject({ name: 'Bianchi; Bruno', topics: ['eventi'] });
    expect(byPhone['+393470000103']).toMatchObject({ name: 'Famiglia Esposito\r\nvia Roma 1\r\nscala B', topics: ['meteo'] });

    // Commas, CRLF line breaks (csv-parse counts a CRLF inside quotes as two lines), a rejected record over two lines.
    const commas = 'phone,name,topics\r\nnon-un-numero,"Anna\r\nRossi",meteo\r\n3470000202,Bruno,\r\naltro-non-numero,Carla,\r\n';
    const second = await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', Buffer.from(commas), 'iscritti.csv').expect(200);
    expect(second.body).toEqual({ imported: 1, updated: 0, merged: 0, rejected: [{ line: 2, reason: 'invalid phone number' }, { line: 5, reason: 'invalid phone number' }], rejectedCount: 2 });

    // A header with neither separator (or no phone column) is still refused, naming both forms.
    // So are a header whose columns would be dropped (unknown, or the two separators mixed) and an empty file.
    for (const header of ['phone|name|topics\n3470000301|Anna|\n', 'phone\tname\n3470000301\tAnna\n', 'phone;name,topics\n3470000301;Anna,meteo\n', 'phone,nome,email\n3470000301,Anna,a@b.it\n', '', '\ufeff']) {
      const refused = await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', Buffer.from(header), 'x.csv').expect(400);
      expect(JSON.stringify(refused.body.message)).toContain('phone,name,topics or phone;name;topics');
    }

    // Excel's plain CSV on Italian Windows: Windows-1252, Italian column names.
    const legacy = Buffer.concat([Buffer.from('Telefono;Nome;Argomenti\r\n3470000401;Nicol'), Buffer.from([0xf2]), Buffer.from(' Ferr'), Buffer.from([0xe0]), Buffer.from(';meteo\r\n')]);
    const third = await session.as('post', '/v1/subscribers/import').field('channelId', channelId).attach('file', legacy, 'iscritti.csv').expect(200);
    expect(third.body).toEqual({ imported: 1, updated: 0, merged: 0, rejected: [], rejectedCount: 0 });
    const [nicolo] = (await session.as('get', `/v1/subscribers?channelId=${channelId}`).expect(200)).body.data.filter((row: { phone: string }) => row.phone === '+393470000401');
    expect(nicolo).toMatchObject({ name: 'Nicolò Ferrà', topics: ['meteo'] });
  });

  it('serves the public page and takes web signups as pending (privacy required, honeypot, unknown comune)', async () => {
    const { session, channelId } = await comune();
    await session.as('post', '/v1/topics').send({ key: 'farmacie', name: 'Farmacie di turno' }).expect(201);
    const page = await testApp.http().get(`/c/${session.slug}`).expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<html lang="it">');
    expect(page.text).toContain('Farmacie di turno');
    expect(page.text).toContain('https://comune.example/privacy');
    // A wrong link: a page in Italian, not the API's JSON under an HTML type.
    const unknown = await testApp.http().get('/c/comune-che-non-esiste').expect(404);
    expect(unknown.headers['content-type']).toMatch(/^text\/html/);
    expect(unknown.text).toContain('<h1>Comune non trovato</h1>');

    const accepted = await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: '+39 333 512 0987', name: 'Francesca', topics: ['farmacie'], privacyAccepted: true }).expect(202);
    expect(accepted.body).toMatchObject({ status: 'pending' });
    await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: '3335120988', privacyAccepted: false }).expect(400);
    await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: '3335120988' }).expect(400);
    const badPhone = await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: 'abc', privacyAccepted: true }).expect(400);
    expect(JSON.stringify(badPhone.body.message)).toContain('phone');
    await testApp.http().post(`/v1/public/${session.slug}/subscriptions`).send({ phone: '3335120989', privacyAccepted: true, website: 'http://spam.example' }).expect(202);
    await testApp.http().post('/v1/public/comune-che-non-esiste/subscriptions').send({ phone: '3335120989', privacyAccepted: true }).expect(404);
    const listed = (await session.as('get', `/v1/subscribers?channelId=${channelId}`).expect(200)).body.data;
    expect(listed).toEqual([expect.objectContaining({ phone: '+393335120987', name: 'Francesca', status: 'pending', consentSource: 'web_form', topics: ['farmacie'] })]);
  });

  it('offers no signup while the comune awaits approval (it could not even send the welcome)', async () => {
    const signup = { name: 'Comune di Attesa', slug: 'in-attesa', adminEmail: 'urp@in-attesa.example', adminPassword: 'una-password-lunga' };
    await testApp.http().post('/v1/tenants/signup').send(signup).expect(201);
    const login = await testApp.http().post('/v1/auth/login').send({ email: signup.adminEmail, password: signup.adminPassword }).expect(200);
    // It can configure: a channel and a topic.
    await testApp.http().post('/v1/channels').set('Authorization', `Bearer ${login.body.accessToken}`).send({ name: 'Attesa', provider: 'sandbox' }).expect(201);
    await testApp.http().post('/v1/topics').set('Authorization', `Bearer ${login.body.accessToken}`).send({ key: 'meteo', name: 'Allerte meteo' }).expect(201);
    const page = await testApp.http().get('/c/in-attesa').expect(200);
    expect(page.text).toContain('Il servizio WhatsApp di Comune di Attesa non è ancora attivo');
    expect(page.text).not.toContain('Allerte meteo');
    const refused = await testApp.http().post('/v1/public/in-attesa/subscriptions').send({ phone: '333 512 0990', privacyAccepted: true }).expect(404);
    expect(refused.body).toMatchObject({ code: 'comune_not_active', message: 'The WhatsApp service of Comune di Attesa is not active yet: the comune awaits approval' });
    const stored = await testApp.dataSource.query(`SELECT count(*)::int AS n FROM subscribers s JOIN tenants t ON t.id = s.tenant_id WHERE t.slug = 'in-attesa'`);
    expect(stored[0].n).toBe(0);
  });

  it('keeps topics and subscribers of one comune invisible to another', async () => {
    const a = await comune();
    const b = await comune();
    const sub = await a.session.as('post', '/v1/subscribers').send({ channelId: a.channelId, phone: `34${randomBytes(4).readUInt32BE(0) % 100_000_000}`.padEnd(10, '1') }).expect(201);
    await b.session.as('get', `/v1/subscribers/${sub.body.id}`).expect(404);
    await b.session.as('delete', `/v1/subscribers/${sub.body.id}`).expect(404);
    await b.session.as('get', '/v1/subscribers/not-a-uuid').expect(404);
    expect((await b.session.as('get', '/v1/subscribers').expect(200)).body.data).toEqual([]);
    expect((await a.session.as('get', `/v1/subscribers/${sub.body.id}`).expect(200)).body.status).toBe('active');
  });
});
