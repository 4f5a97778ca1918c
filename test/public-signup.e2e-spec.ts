import { Browser, chromium } from 'playwright-core';
import { createTestApp, TenantSession, TestApp } from '@app/testing';

/** The comune's signup page in headless Chromium (Debian's /usr/bin/chromium, package `chromium`). */
describe('Public signup page in a browser', () => {
  let testApp: TestApp;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    testApp = await createTestApp({ worker: false });
    const address = testApp.app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  afterAll(async () => {
    await browser?.close();
    await testApp.close();
  });

  it('lets a citizen ask to subscribe on a phone-sized screen, then says how to confirm on WhatsApp', async () => {
    const session = await TenantSession.create(testApp);
    const channel = (await session.as('post', '/v1/channels').send({ name: 'WhatsApp del Comune', provider: 'sandbox', privacyPolicyUrl: 'https://comune.example/privacy' }).expect(201)).body;
    await session.as('post', '/v1/topics').send({ key: 'meteo', name: 'Allerte meteo' }).expect(201);
    const page = await browser.newPage({ viewport: { width: 375, height: 740 } });
    const refused: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
    });
    const response = await page.goto(`${base}/c/${session.slug}`);
    expect(response!.headers()['content-security-policy']).toMatch(/script-src 'sha256-[^']+'.*frame-ancestors 'none'/);
    expect(response!.headers()['x-content-type-options']).toBe('nosniff');
    expect(await page.title()).toContain('avvisi WhatsApp');
    // The page's own style applies under its policy (named by hash); so does its script (the form below).
    expect(await page.evaluate("getComputedStyle(document.querySelector('button[type=submit]')).backgroundColor")).toBe('rgb(11, 107, 58)');
    // Without the privacy acceptance the form explains what is missing and sends nothing.
    await page.getByLabel('Numero di cellulare (WhatsApp)').fill('347 821 5604');
    await page.getByRole('button', { name: 'Iscrivimi' }).click();
    await page.getByText("devi accettare l'informativa").waitFor();
    await page.getByLabel('Allerte meteo').check();
    await page.getByLabel('Nome (facoltativo)').fill('Giulia');
    await page.getByRole('checkbox', { name: /informativa sulla privacy/ }).check();
    await page.getByRole('button', { name: 'Iscrivimi' }).click();
    await page.getByRole('heading', { name: 'Manca un ultimo passo' }).waitFor();
    expect(await page.getByRole('link', { name: 'Apri WhatsApp e conferma' }).getAttribute('href')).toBe('https://wa.me/390000000000?text=ATTIVA%20ISCRIZIONE');
    expect(refused).toEqual([]);
    await page.close();
    const subscribers = (await session.as('get', `/v1/subscribers?channelId=${channel.id}`).expect(200)).body.data;
    expect(subscribers).toEqual([expect.objectContaining({ phone: '+393478215604', name: 'Giulia', status: 'pending', topics: ['meteo'], consentSource: 'web_form' })]);
  });
  it('offers the real numbers only (not the sandbox) and says to confirm on the number of the service chosen', async () => {
    const session = await TenantSession.create(testApp);
    const channel = (name: string, provider: string, number: string) =>
      session.as('post', '/v1/channels').send({ name, provider, phoneNumberId: `pn-${number}-${session.slug}`, wabaId: 'waba', displayPhoneNumber: number, accessToken: 't', appSecret: 's', verifyToken: 'v' }).expect(201);
    await channel('Prova interna', 'sandbox', '390000000001');
    await channel('Protezione civile', 'whatsapp_cloud', '390571111111');
    const second = (await channel('Notizie dal Comune', 'whatsapp_cloud', '390572222222')).body;
    const page = await browser.newPage({ viewport: { width: 375, height: 740 } });
    await page.goto(`${base}/c/${session.slug}`);
    expect(await page.locator('#channelId option').allInnerTexts()).toEqual(['Protezione civile', 'Notizie dal Comune']);
    await page.selectOption('#channelId', second.id);
    await page.getByLabel('Numero di cellulare (WhatsApp)').fill('347 821 5605');
    await page.getByRole('checkbox', { name: /informativa sulla privacy/ }).check();
    await page.getByRole('button', { name: 'Iscrivimi' }).click();
    await page.getByRole('heading', { name: 'Manca un ultimo passo' }).waitFor();
    expect(await page.getByRole('link', { name: 'Apri WhatsApp e conferma' }).getAttribute('href')).toBe('https://wa.me/390572222222?text=ATTIVA%20ISCRIZIONE');
    expect(await page.getByRole('main').innerText()).toContain('+390572222222');
    await page.close();
    const pending = (await session.as('get', `/v1/subscribers?channelId=${second.id}&status=pending`).expect(200)).body.data;
    expect(pending).toEqual([expect.objectContaining({ phone: '+393478215605', status: 'pending' })]);
  });
});
