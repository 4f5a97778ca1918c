import { mkdirSync } from 'fs';
import { join } from 'path';
import { Browser, chromium, Page } from 'playwright-core';
import { createTestApp, FakeGraphApi, TenantSession, TestApp, waitFor } from '@app/testing';
import { disableQuietHours } from './campaign-fixtures';

/**
 * The console in headless Chromium (Debian's /usr/bin/chromium): a comune logs in, sees its
 * charts, composes a campaign with the WhatsApp preview and sends it through a sandbox channel;
 * the operator sees delivery health and approves a comune. Screenshots go to test-artifacts/.
 */
jest.setTimeout(90_000);

describe('Console in a browser', () => {
  const ARTIFACTS = join(__dirname, '..', 'test-artifacts');
  let testApp: TestApp;
  let browser: Browser;
  let baseUrl: string;
  let comune: TenantSession;
  let fake: FakeGraphApi;

  const query = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => testApp.dataSource.query(sql, params) as Promise<T[]>;

  async function login(page: Page, email: string, password: string): Promise<void> {
    await page.goto(`${baseUrl}/console`);
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('#login-submit');
  }

  /** Opens the console as this member, on the comune's dashboard; runs `steps`; no page error on the way. */
  async function inConsole(email: string, password: string, steps: (page: Page) => Promise<void>, viewport = { width: 1280, height: 1000 }): Promise<void> {
    const page = await browser.newPage({ viewport });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await login(page, email, password);
      await page.waitForSelector('#chart-subscribers');
      await steps(page);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    fake = await new FakeGraphApi().start();
    testApp = await createTestApp({ env: { WHATSAPP_GRAPH_URL: fake.url } });
    const address = testApp.app.getHttpServer().address() as { port: number };
    baseUrl = `http://127.0.0.1:${address.port}`;
    comune = await TenantSession.create(testApp, { population: 400 });

    const channel = await comune
      .as('post', '/v1/channels')
      .send({ name: 'WhatsApp del Comune', provider: 'sandbox', phoneNumberId: `sandbox-${comune.slug}`, wabaId: 'sandbox', displayPhoneNumber: '390571000000', accessToken: 'sandbox', appSecret: 'sandbox-secret', verifyToken: 'sandbox-verify' })
      .expect(201);
    for (const phone of ['347 111 2233', '347 111 2234', '347 111 2235']) {
      await comune.as('post', '/v1/subscribers').send({ channelId: channel.body.id, phone }).expect(201);
    }
    // History for the chart: 25 citizens subscribed over the last 20 days, 5 of whom left again
    // (subscriber rows and their consent events, as the platform writes them).
    await query(
      `WITH people AS (
         INSERT INTO subscribers (tenant_id, channel_id, phone, status, consent_source, subscribed_at, unsubscribed_at)
         SELECT $1, $2, '+39348' || lpad(g::text, 7, '0'), CASE WHEN g <= 5 THEN 'unsubscribed' ELSE 'active' END, 'keyword',
                now() - make_interval(days => 1 + g % 20), CASE WHEN g <= 5 THEN now() - make_interval(days => g % 3) END
         FROM generate_series(1, 30) g RETURNING id, subscribed_at, unsubscribed_at)
       INSERT INTO consent_events (tenant_id, channel_id, subscriber_id, action, source, occurred_at)
       SELECT $1, $2, id, 'subscribed', 'keyword', subscribed_at FROM people
       UNION ALL SELECT $1, $2, id, 'unsubscribed', 'keyword', unsubscribed_at FROM people WHERE unsubscribed_at IS NOT NULL`,
      [comune.tenantId, channel.body.id],
    );
    // One citizen WhatsApp could not reach (a 131026 failure; how it is marked is tested with the campaigns).
    await query(`UPDATE subscribers SET undeliverable_since = now() - interval '2 hours' WHERE tenant_id = $1 AND phone = '+393480000010'`, [comune.tenantId]);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await testApp.close();
    await fake.stop();
  });

  it('serves the page with a strict content security policy and Chart.js from this origin', async () => {
    const page = await testApp.http().get('/console').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.text).toContain('/console/assets/chart.umd.min.js');
    const chartJs = await testApp.http().get('/console/assets/chart.umd.min.js').expect(200);
    expect(chartJs.headers['content-type']).toMatch(/javascript/);
    expect(chartJs.text).toContain('Chart');
    await testApp.http().get('/console/assets/..%2F..%2Fconsole.controller.ts').expect(404);
    await testApp.http().get('/console/assets/package.json').expect(404);
  });

  it('lets a comune log in, see its charts, compose with a WhatsApp preview and send through the sandbox', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await login(page, comune.adminEmail, 'wrong-password');
      await page.waitForSelector('text=Email o password errate.');
      await page.fill('#password', comune.adminPassword);
      await page.click('#login-submit');

      await page.waitForSelector('#chart-subscribers');
      // Chart.js has drawn the chart on the canvas.
      await page.waitForFunction("!!window.Chart && !!window.Chart.getChart(document.querySelector('#chart-subscribers'))");
      const cards = await page.locator('.card').allInnerTexts();
      expect(cards[0]).toContain('Iscritti attivi');
      expect(cards[0]).toContain('28'); // 25 by keyword + 3 by API
      expect(cards[1]).toContain('7%'); // 28 of 400 residents
      // The citizens WhatsApp cannot reach are listed for the comune to contact another way.
      const unreachable = await page.locator('#unreachable').innerText();
      expect(unreachable).toContain('non raggiungibili');
      expect(unreachable).toContain('+393480000010');
      expect(await page.locator('#unreachable tbody tr').count()).toBe(1);
      await page.screenshot({ path: join(ARTIFACTS, 'console-panoramica.png'), fullPage: true });

      await page.click('a[href="#/nuova"]');
      await page.waitForSelector('#campaign-title');
      await page.fill('#campaign-title', 'Chiusura ponte');
      await page.fill('#campaign-text', 'Domani il ponte sull’Arno resta chiuso dalle 8 alle 18.');
      await page.selectOption('#campaign-type', 'poll');
      await page.fill('#campaign-option-0', 'Ho capito');
      await page.fill('#campaign-option-1', 'Più info');
      const preview = await page.locator('#whatsapp-preview').innerText();
      expect(preview).toContain('Domani il ponte sull’Arno resta chiuso');
      expect(preview).toContain('Ho capito');
      expect(preview).toContain('Più info');
      await page.screenshot({ path: join(ARTIFACTS, 'console-nuova-campagna.png'), fullPage: true });

      await page.selectOption('#campaign-type', 'text');
      // An emergency: exempt from quiet hours and the monthly cap, so it leaves now whatever the hour.
      // It is confirmed first (it reaches every subscriber, at night too).
      await page.selectOption('#campaign-priority', 'emergency');
      const confirmation = new Promise<string>((resolve) => page.once('dialog', (dialog) => { resolve(dialog.message()); void dialog.accept(); }));
      await page.click('#campaign-send');
      expect(await confirmation).toContain('EMERGENZA a tutti gli iscritti');
      await page.waitForSelector('text=in invio.', { timeout: 15_000 });
      await page.waitForSelector('#campaign-link', { timeout: 15_000 });
      const href = await page.getAttribute('#campaign-link', 'href');
      const campaignId = href!.split('/').pop()!;

      // The sandbox "sends" to the 28 active subscribers; the funnel follows.
      await waitFor(
        async () => {
          const report = await comune.as('get', `/v1/analytics/campaigns/${campaignId}`).expect(200);
          expect(report.body).toMatchObject({ recipients: 28, sent: 28, failed: 0 });
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      await page.click('#campaign-link');
      await page.waitForSelector('#chart-funnel');
      await page.waitForSelector('text=Inviati a WhatsApp');
      await page.screenshot({ path: join(ARTIFACTS, 'console-campagna.png'), fullPage: true });

      await page.click('a[href="#/campagne"]');
      await page.waitForSelector(`tr[data-campaign-id="${campaignId}"]`);
      expect(await page.locator(`tr[data-campaign-id="${campaignId}"]`).innerText()).toContain('Chiusura ponte');

      // Channel keywords, saved through PATCH /v1/channels/{id}.
      await page.click('a[href="#/canali"]');
      const subscribeKeywords = page.locator('input[aria-label="Parole per iscriversi"]');
      await subscribeKeywords.fill('ATTIVA ISCRIZIONE, ISCRIVIMI');
      await page.click('text=Salva parole chiave');
      await page.waitForSelector('text=Parole chiave salvate.');
      const channels = await comune.as('get', '/v1/channels').expect(200);
      expect(channels.body.data[0].subscribeKeywords).toEqual(['ATTIVA ISCRIZIONE', 'ISCRIVIMI']);
      await page.screenshot({ path: join(ARTIFACTS, 'console-canali.png'), fullPage: true });

      // The inbox of what citizens wrote.
      await query(
        `INSERT INTO inbound_messages (tenant_id, channel_id, provider_message_id, type, from_phone, text, payload, handled_as, received_at)
         VALUES ($1, $2, 'wamid.console.question', 'text', '+393471112233', 'A che ora apre l''anagrafe?', '{}', 'question', now())`,
        [comune.tenantId, channels.body.data[0].id],
      );
      await page.click('a[href="#/messaggi"]');
      await page.waitForSelector("text=A che ora apre l'anagrafe?");
      await page.screenshot({ path: join(ARTIFACTS, 'console-messaggi.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("lets a comune read its WhatsApp templates, send an approved one with its parameters, and see the send's warnings", async () => {
    const other = await TenantSession.create(testApp);
    await other.as('patch', '/v1/tenant').send({ quietHoursStart: '00:00', quietHoursEnd: '00:00' }).expect(200);
    const wabaId = `waba-console-${other.slug}`;
    const created = await other
      .as('post', '/v1/channels')
      .send({ name: 'Numero ufficiale', provider: 'whatsapp_cloud', phoneNumberId: `pn-${other.slug}`, wabaId, displayPhoneNumber: '390571999999', accessToken: 'token-console', appSecret: 's', verifyToken: 'v' })
      .expect(201);
    await other.as('post', '/v1/subscribers').send({ channelId: created.body.id, phone: '347 222 3344' }).expect(201);
    fake.templates.set(wabaId, [
      { id: '1', name: 'allerta_meteo', language: 'it', status: 'APPROVED', category: 'UTILITY', parameter_format: 'NAMED', components: [{ type: 'BODY', text: 'Allerta {{colore}} per {{zona}}.' }] },
      { id: '2', name: 'evento_piazza', language: 'it', status: 'PAUSED', category: 'MARKETING', components: [{ type: 'BODY', text: 'Evento' }] },
    ]);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await login(page, other.adminEmail, other.adminPassword);
      await page.waitForSelector('a[href="#/canali"]');
      await page.click('a[href="#/canali"]');
      await page.waitForSelector('text=Non ancora letti da WhatsApp.');
      await page.click('text=Aggiorna modelli da WhatsApp');
      await page.waitForSelector('text=Modelli aggiornati.');
      const table = await page.locator(`#templates-${created.body.id} table`).innerText();
      expect(table).toContain('allerta_meteo');
      expect(table).toContain('approvato');
      expect(table).toContain('sospeso');
      await page.screenshot({ path: join(ARTIFACTS, 'console-modelli.png'), fullPage: true });

      // The channel is paused by hand: the send goes through, and the console says what holds it back.
      await other.as('patch', `/v1/channels/${created.body.id}`).send({ status: 'paused' }).expect(200);
      await page.click('a[href="#/nuova"]');
      await page.waitForSelector('#campaign-title');
      await page.fill('#campaign-title', 'Allerta');
      await page.selectOption('#campaign-type', 'template');
      // Only the approved template is offered, with one field per parameter named as in WhatsApp Manager.
      await page.waitForSelector('#campaign-template-param-1');
      expect(await page.locator('#campaign-template option').allInnerTexts()).toEqual(['allerta_meteo · it · UTILITY']);
      expect(await page.locator('#campaign-template-params').innerText()).toContain('Parametro colore');
      await page.fill('#campaign-template-param-0', 'arancione');
      await page.fill('#campaign-template-param-1', 'la zona del fiume');
      expect(await page.locator('#whatsapp-preview').innerText()).toContain('Modello «allerta_meteo»: arancione · la zona del fiume');
      await page.selectOption('#campaign-priority', 'emergency');
      page.once('dialog', (dialog) => void dialog.accept());
      await page.click('#campaign-send');
      await page.waitForSelector('.campaign-warning', { timeout: 15_000 });
      expect(await page.locator('.campaign-warning').innerText()).toContain('Il canale è in pausa');
      await page.screenshot({ path: join(ARTIFACTS, 'console-modello-inviato.png'), fullPage: true });
      // The campaign's page says what holds it back while it does.
      await page.click('#campaign-link');
      await page.waitForSelector('#held-back', { timeout: 15_000 });
      expect(await page.locator('#held-back').innerText()).toMatch(/^In attesa: Il canale è in pausa: non parte nulla finché non viene riattivato\./);

      // Resumed: the citizen gets the template with its named parameters.
      await other.as('patch', `/v1/channels/${created.body.id}`).send({ status: 'active' }).expect(200);
      await waitFor(() => expect(fake.sentTo('+393472223344')).toHaveLength(1), { timeoutMs: 20_000 });
      expect(fake.sentTo('+393472223344')[0].body.template).toMatchObject({
        name: 'allerta_meteo',
        components: [{ type: 'body', parameters: [{ parameter_name: 'colore', text: 'arancione' }, { parameter_name: 'zona', text: 'la zona del fiume' }] }],
      });
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('renews an expired access token without losing the page, and ends the session on the server at logout', async () => {
    const session = await TenantSession.create(testApp);
    await session.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox' }).expect(201);
    await inConsole(session.adminEmail, session.adminPassword, async (page) => {
      expect(await page.locator('#who').innerText()).toContain('amministratore');
      // The access token lapses (15 minutes): the next request exchanges the refresh token and goes on.
      await page.evaluate("sessionStorage.setItem('filodiretto.accessToken', 'expired.access.token')");
      await page.click('a[href="#/nuova"]');
      await page.waitForSelector('#campaign-title');
      expect(await page.evaluate("sessionStorage.getItem('filodiretto.accessToken')")).not.toBe('expired.access.token');
      // On a phone, no table or form makes the page wider than the screen.
      await page.click('a[href="#/"]');
      await page.waitForSelector('#chart-subscribers');
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      // Logging out ends the session on the server too.
      const refreshToken = (await page.evaluate("sessionStorage.getItem('filodiretto.refreshToken')")) as string;
      await page.click('#logout');
      await page.waitForSelector('#login-submit');
      await waitFor(() => testApp.http().post('/v1/auth/refresh').send({ refreshToken }).expect(401));
      // A session that cannot be renewed any more says so on the login page.
      await login(page, session.adminEmail, session.adminPassword);
      await page.waitForSelector('#chart-subscribers');
      await page.evaluate("sessionStorage.setItem('filodiretto.accessToken', 'expired.access.token'); sessionStorage.setItem('filodiretto.refreshToken', 'rt_gone')");
      await page.click('a[href="#/campagne"]');
      await page.waitForSelector('text=Sessione scaduta: accedi di nuovo.');
    }, { width: 375, height: 740 });
  });

  it('schedules a campaign in the comune’s own time, shows when it goes, and cancels it', async () => {
    const session = await TenantSession.create(testApp);
    await session.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox' }).expect(201);
    await inConsole(session.adminEmail, session.adminPassword, async (page) => {
      await page.click('a[href="#/nuova"]');
      await page.waitForSelector('#campaign-title');
      const day = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
      await page.fill('#campaign-title', 'Mercato spostato');
      await page.fill('#campaign-text', 'Il mercato del sabato si sposta in piazza Garibaldi.');
      await page.fill('#campaign-schedule', `${day}T10:30`);
      // (Quiet hours 21:00-08:00 leave 10:30 alone; see below for one they hold.)
      await page.click('#campaign-send');
      await page.waitForSelector('text=programmata per');
      const id = (await page.getAttribute('#campaign-link', 'href'))!.split('/').pop()!;
      const scheduled = (await session.as('get', `/v1/campaigns/${id}`).expect(200)).body;
      expect(scheduled.status).toBe('scheduled');
      // 10:30 in Rome (the comune's timezone), whatever the browser's.
      expect(new Date(scheduled.scheduledAt).toLocaleString('it-IT', { timeZone: 'Europe/Rome', hour: '2-digit', minute: '2-digit' })).toBe('10:30');

      await page.click('#campaign-link');
      await page.waitForSelector('#campaign-cancel');
      expect(await page.locator('h1 + p').innerText()).toContain('programmata per');
      page.once('dialog', (dialog) => void dialog.accept());
      await page.click('#campaign-cancel');
      await page.waitForSelector('.badge.cancelled');
      expect((await session.as('get', `/v1/campaigns/${id}`).expect(200)).body.status).toBe('cancelled');
      expect(await page.locator('#campaign-cancel').count()).toBe(0);

      // Sent now inside the comune's quiet hours (set around this hour, whatever the real time): held to their end, and said so in Italian.
      const hour = Number(new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Rome', hour: '2-digit', hourCycle: 'h23' }).format(new Date()));
      const hh = (h: number) => `${String((h + 24) % 24).padStart(2, '0')}:00`;
      await session.as('patch', '/v1/tenant').send({ quietHoursStart: hh(hour - 1), quietHoursEnd: hh(hour + 2) }).expect(200);
      await page.click('a[href="#/nuova"]');
      await page.waitForSelector('#campaign-title');
      await page.fill('#campaign-title', 'Di notte');
      await page.fill('#campaign-text', 'Avviso');
      await page.click('#campaign-send');
      await page.waitForSelector('.campaign-warning');
      const held = await page.locator('.campaign-warning').innerText();
      expect(held).toMatch(/^Attenzione: Fascia di silenzio \(\d\d:00–\d\d:00, Europe\/Rome\): le campagne ordinarie attendono, questa parte il .+\. Le emergenze non attendono\.$/);
      expect(held).toContain(`(${hh(hour - 1)}–${hh(hour + 2)}, Europe/Rome)`);
    });
  });

  it('lists the comune’s subscribers by status, adds one given consent at the desk and imports a CSV list', async () => {
    const session = await TenantSession.create(testApp);
    const channel = (await session.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox' }).expect(201)).body;
    await session.as('post', '/v1/topics').send({ key: 'meteo', name: 'Allerte meteo' }).expect(201);
    await inConsole(session.adminEmail, session.adminPassword, async (page) => {
      await page.click('a[href="#/iscritti"]');
      await page.waitForSelector('text=Nessun iscritto in questo stato.');
      await page.fill('#subscriber-phone', '347 555 0101');
      await page.fill('#subscriber-name', 'Anna');
      await page.getByLabel('Allerte meteo').check();
      await page.click('#subscriber-submit');
      await page.waitForSelector('text=Iscritto +393475550101 aggiunto.');
      // The same number again: said plainly.
      await page.fill('#subscriber-phone', '+39 347 555 0101');
      await page.click('#subscriber-submit');
      await page.waitForSelector('text=Questo numero è già registrato su questo canale.');
      // The access token lapsed meanwhile: the upload renews the session too.
      await page.evaluate("sessionStorage.setItem('filodiretto.accessToken', 'expired.access.token')");
      await page.setInputFiles('#import-file', { name: 'elenco.csv', mimeType: 'text/csv', buffer: Buffer.from('phone,name,topics\n3475550102,Bruno,meteo\n3475550103,Carla,\nnon-un-numero,Dario,\n') });
      await page.click('#import-submit');
      await page.waitForSelector('text=Importati 2 nuovi, aggiornati 0, scartate 1 righe.');
      expect(await page.locator('#import-rejected').innerText()).toContain('riga 4');
      await page.click('a[href="#/"]');
      await page.waitForSelector('#chart-subscribers');
      await page.click('a[href="#/iscritti"]');
      await page.waitForSelector('#subscribers');
      expect(await page.locator('#subscribers tbody tr').count()).toBe(3);
      expect(await page.locator('#subscribers').innerText()).toMatch(/\+393475550101\s+Anna\s+meteo\s+API/);
      const listed = (await session.as('get', `/v1/subscribers?channelId=${channel.id}`).expect(200)).body.data;
      expect(listed.map((s: { phone: string }) => s.phone).sort()).toEqual(['+393475550101', '+393475550102', '+393475550103']);
      await page.selectOption('#subscribers-status', 'unsubscribed');
      await page.waitForSelector('text=Nessun iscritto in questo stato.');
      // A topic for the public page and for campaigns.
      await page.fill('#topic-key', 'viabilita');
      await page.fill('#topic-name', 'Viabilità');
      await page.click('#topic-submit');
      await page.waitForSelector('text=Viabilità (viabilita)');
      expect((await session.as('get', '/v1/topics').expect(200)).body.data.map((t: { key: string }) => t.key).sort()).toEqual(['meteo', 'viabilita']);
      await page.fill('#topic-key', 'viabilita');
      await page.fill('#topic-name', 'Ancora');
      await page.click('#topic-submit');
      await page.waitForSelector('text=Esiste già un argomento con questa chiave.');
      // The sandbox's simulated phone, from the channel's card, on this session.
      await page.click('a[href="#/canali"]');
      await page.click('a.sandbox-link');
      await page.waitForSelector('#text');
      await page.fill('#text', 'ATTIVA ISCRIZIONE');
      await page.click('#send button[type=submit]');
      await page.waitForSelector('#chat .msg:nth-child(2)', { timeout: 10_000 });
      expect(await page.locator('#chat').innerText()).toContain('ATTIVA ISCRIZIONE');
      expect((await session.as('get', `/v1/subscribers?channelId=${channel.id}`).expect(200)).body.data.map((s: { phone: string }) => s.phone)).toContain('+393470000001');
    });
  });

  it('lets a tenant admin manage the people and API keys of the comune, and anyone change their own password', async () => {
    const session = await TenantSession.create(testApp);
    await inConsole(session.adminEmail, session.adminPassword, async (page) => {
      page.on('dialog', (dialog) => void dialog.accept());
      await page.click('a[href="#/persone"]');
      await page.waitForSelector('#member-add');
      const email = `redazione-${session.slug}@comune.example`;
      await page.fill('#member-email', email);
      await page.fill('#member-password', 'password-iniziale');
      await page.click('#member-submit');
      const row = page.locator('#members tr', { hasText: email });
      await row.waitFor();
      const member = ((await session.as('get', '/v1/users').expect(200)).body.data as { id: string; email: string; role: string }[]).find((u) => u.email === email)!;
      expect(member.role).toBe('editor');
      await page.selectOption(`#role-${member.id}`, 'viewer');
      await page.waitForSelector(`text=Ruolo di ${email} aggiornato.`);
      expect((await session.as('get', `/v1/users/${member.id}`).expect(200)).body.role).toBe('viewer');

      // A key for an integration, shown once, working, then revoked.
      await page.fill('#key-name', 'Allerte regionali');
      await page.click('#key-submit');
      const key = await page.locator('#new-key code').innerText();
      await testApp.http().get('/v1/topics').set('X-API-Key', key).expect(200);
      await page.locator('#api-keys tr', { hasText: 'Allerte regionali' }).getByRole('button', { name: 'Revoca' }).click();
      await page.waitForSelector('text=Nessuna chiave.');
      await testApp.http().get('/v1/topics').set('X-API-Key', key).expect(401);
      await row.getByRole('button', { name: 'Rimuovi' }).click();
      await page.waitForSelector('#member-add');
      await waitFor(async () => expect(((await session.as('get', '/v1/users').expect(200)).body.data as { email: string }[]).map((u) => u.email)).not.toContain(email));

      // One's own password: the current one is asked for; the session goes on with the new one.
      await page.click('a[href="#/account"]');
      await page.waitForSelector('#password-change');
      await page.fill('#current-password', 'not-the-password');
      await page.fill('#new-password', 'una-password-nuova');
      await page.fill('#new-password-again', 'una-password-nuova');
      await page.click('#password-submit');
      await page.waitForSelector('text=La password attuale non è corretta.');
      await page.fill('#current-password', session.adminPassword);
      await page.click('#password-submit');
      await page.waitForSelector('text=Password cambiata.');
      await page.click('a[href="#/iscritti"]');
      await page.waitForSelector('#subscribers-status');
      await testApp.http().post('/v1/auth/login').send({ email: session.adminEmail, password: session.adminPassword }).expect(401);
      await testApp.http().post('/v1/auth/login').send({ email: session.adminEmail, password: 'una-password-nuova' }).expect(200);
    });
  });

  it('lets an editor draft but not send, and leaves no draft behind when a send is refused', async () => {
    const session = await TenantSession.create(testApp);
    await session.as('post', '/v1/channels').send({ name: 'Prova', provider: 'sandbox' }).expect(201);
    const email = `redattore-${session.slug}@comune.example`;
    await session.as('post', '/v1/users').send({ email, password: 'password-of-a-member', role: 'editor' }).expect(201);
    let draftId = '';
    await inConsole(email, 'password-of-a-member', async (page) => {
      await page.click('a[href="#/nuova"]');
      await page.waitForSelector('#campaign-title');
      expect(await page.locator('#campaign-send').isDisabled()).toBe(true);
      expect(await page.locator('a[href="#/persone"]').count()).toBe(0);
      expect(await page.locator('#campaign-send-note').innerText()).toContain('Solo un amministratore');
      // The editor drafts; a tenant admin sends the draft from its page.
      await page.fill('#campaign-title', 'Scuole chiuse');
      await page.fill('#campaign-text', 'Domani le scuole restano chiuse.');
      await page.click('#campaign-draft');
      await page.waitForSelector('text=Bozza «Scuole chiuse» salvata.');
      draftId = (await page.getAttribute('#campaign-link', 'href'))!.split('/').pop()!;
      await page.click('#campaign-link');
      await page.waitForSelector('.badge.draft');
      expect(await page.locator('#campaign-send-draft').count()).toBe(0);
    });
    await disableQuietHours(session);
    await inConsole(session.adminEmail, session.adminPassword, async (sender) => {
      await sender.goto(`${baseUrl}/console#/campagne/${draftId}`);
      await sender.click('#campaign-send-draft');
      await waitFor(async () => expect(['sending', 'completed']).toContain((await session.as('get', `/v1/campaigns/${draftId}`).expect(200)).body.status));
      await sender.waitForSelector('#campaign-send-draft', { state: 'detached' });
    });

    // The comune suspended: the admin's send is refused, in Italian first, and the draft it made is gone.
    const operator = await TenantSession.operatorToken(testApp);
    await testApp.http().post(`/v1/admin/tenants/${session.tenantId}/suspend`).set('Authorization', `Bearer ${operator}`).expect(200);
    await inConsole(session.adminEmail, session.adminPassword, async (admin) => {
      await admin.click('a[href="#/nuova"]');
      await admin.waitForSelector('#campaign-title');
      await admin.fill('#campaign-title', 'Durante la sospensione');
      await admin.fill('#campaign-text', 'Prova');
      await admin.click('#campaign-send');
      await admin.waitForSelector('text=Operazione non consentita: ');
      await waitFor(async () => expect(((await session.as('get', '/v1/campaigns').expect(200)).body.data as { id: string }[]).map((c) => c.id)).toEqual([draftId]));
    });
  });

  it('shows the operator delivery health, campaigns held by a paused channel and the comuni awaiting approval', async () => {
    const waiting = await TenantSession.create(testApp, { approve: false });
    // An emergency on a channel paused by hand: it waits, and the operator sees it at once.
    const held = await TenantSession.create(testApp);
    const sandbox = await held
      .as('post', '/v1/channels')
      .send({ name: 'Prova', provider: 'sandbox', phoneNumberId: `sandbox-held-${held.slug}`, wabaId: 'sandbox', displayPhoneNumber: '390571000001', accessToken: 'x', appSecret: 'x', verifyToken: 'x' })
      .expect(201);
    await held.as('post', '/v1/subscribers').send({ channelId: sandbox.body.id, phone: '347 333 4455' }).expect(201);
    await held.as('patch', `/v1/channels/${sandbox.body.id}`).send({ status: 'paused' }).expect(200);
    const alert = await held.as('post', '/v1/campaigns').send({ title: 'Esondazione', channelId: sandbox.body.id, priority: 'emergency', message: { type: 'text', text: 'Allerta rossa' } }).expect(201);
    await held.as('post', `/v1/campaigns/${alert.body.id}/send`).expect(202);
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await login(page, testApp.config.platformAdmin.email, testApp.config.platformAdmin.password!);
      await page.waitForSelector('#chart-queues');
      expect(await page.locator('h1').innerText()).toBe('Stato della piattaforma');
      expect(await page.locator('.card').first().innerText()).toContain('Inviati nell’ultimo minuto');
      expect(await page.locator('#held-campaigns').innerText()).toContain('EMERGENZA — Esondazione — 1 in attesa');
      await page.screenshot({ path: join(ARTIFACTS, 'console-operatore.png'), fullPage: true });

      await page.click('a[href="#/comuni"]');
      const row = page.locator(`#pending-tenants tr[data-tenant-id="${waiting.tenantId}"]`);
      await row.waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'console-comuni-da-approvare.png'), fullPage: true });
      await row.locator('button').click();
      await row.waitFor({ state: 'detached' });
      const statusOf = async () =>
        ((await testApp.http().get('/v1/admin/tenants?limit=500').set('Authorization', `Bearer ${await TenantSession.operatorToken(testApp)}`).expect(200)).body.data as { id: string; status: string }[]).find((t) => t.id === waiting.tenantId)!.status;
      expect(await statusOf()).toBe('active');
      // Among every comune now: suspended (after a confirmation) and reinstated from the same page.
      const listed = page.locator(`#tenants tr[data-tenant-id="${waiting.tenantId}"]`);
      expect(await listed.innerText()).toContain('attivo');
      page.once('dialog', (dialog) => void dialog.accept());
      await listed.getByRole('button', { name: 'Sospendi' }).click();
      await page.locator(`#tenants tr[data-tenant-id="${waiting.tenantId}"]`, { hasText: 'sospeso' }).waitFor();
      expect(await statusOf()).toBe('suspended');
      await page.locator(`#tenants tr[data-tenant-id="${waiting.tenantId}"]`).getByRole('button', { name: 'Riattiva' }).click();
      await page.locator(`#tenants tr[data-tenant-id="${waiting.tenantId}"]`, { hasText: 'attivo' }).waitFor();
      expect(await statusOf()).toBe('active');
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
