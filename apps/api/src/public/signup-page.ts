import { createHash } from 'crypto';
import { Channel, ChannelProvider, resolveSettings } from '@app/channels';
import type { SignupPage } from '@app/subscribers';

const escapeHtml = (value: string): string =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const waLink = (channel: Channel): string => {
  const keyword = resolveSettings(channel).subscribeKeywords[0];
  return `https://wa.me/${channel.displayPhoneNumber.replace(/\D/g, '')}?text=${encodeURIComponent(keyword)}`;
};

/** How to confirm on the number of the service chosen (each its own number and keywords), shown once the request is taken. */
const confirmation = (channel: Channel): string => {
  const settings = resolveSettings(channel);
  return `<div class="done" data-channel-id="${channel.id}" hidden>
      <h2>Manca un ultimo passo</h2>
      <p>Per confermare l'iscrizione scrivi <strong>${escapeHtml(settings.subscribeKeywords[0])}</strong> su WhatsApp al numero
      <strong>+${escapeHtml(channel.displayPhoneNumber.replace(/\D/g, ''))}</strong>.</p>
      <p><a class="button" href="${escapeHtml(waLink(channel))}">Apri WhatsApp e conferma</a></p>
      <p class="help">Per cancellarti in qualsiasi momento scrivi ${escapeHtml(settings.unsubscribeKeywords[0])}.</p>
    </div>`;
};

/** The page's own style and script: the same bytes on every page, so the CSP names them by hash. */
const PAGE_STYLE = `
  :root { color-scheme: light dark; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5; }
  body { margin: 0; padding: 1rem; max-width: 34rem; margin-inline: auto; }
  h1 { font-size: 1.5rem; }
  label { display: block; font-weight: 600; margin-top: 1rem; }
  input[type=tel], input[type=text], select { width: 100%; box-sizing: border-box; font-size: 1.1rem; padding: .6rem; border: 2px solid #555; border-radius: .4rem; }
  fieldset { margin-top: 1rem; border: 1px solid #888; border-radius: .4rem; }
  .check { display: flex; gap: .5rem; align-items: flex-start; margin-top: .6rem; }
  .check label { margin: 0; font-weight: normal; }
  .check input { width: 1.4rem; height: 1.4rem; }
  .help { font-size: .9rem; margin: .2rem 0 0; }
  button, .button { display: inline-block; margin-top: 1.2rem; font-size: 1.1rem; padding: .8rem 1.4rem; background: #0b6b3a; color: #fff; border: 0; border-radius: .4rem; text-decoration: none; cursor: pointer; }
  button:focus-visible, .button:focus-visible, input:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
  .hp { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
  #result.error { color: #b00020; font-weight: 600; }
`;

const PAGE_SCRIPT = `
(function () {
  var form = document.getElementById('signup');
  if (!form) return;
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var result = document.getElementById('result');
    result.className = '';
    var data = new FormData(form);
    if (!form.privacyAccepted.checked) { result.className = 'error'; result.textContent = "Per iscriverti devi accettare l'informativa sulla privacy."; form.privacyAccepted.focus(); return; }
    if (!String(data.get('phone') || '').trim()) { result.className = 'error'; result.textContent = 'Inserisci il tuo numero di cellulare.'; form.phone.focus(); return; }
    var body = { phone: String(data.get('phone')), privacyAccepted: true, topics: data.getAll('topics').map(String) };
    if (data.get('name')) body.name = String(data.get('name'));
    if (data.get('channelId')) body.channelId = String(data.get('channelId'));
    if (data.get('website')) body.website = String(data.get('website'));
    result.textContent = 'Invio in corso…';
    fetch(form.getAttribute('data-action'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      .then(function (response) {
        if (response.status === 202) { form.hidden = true; var done = document.querySelector('.done[data-channel-id="' + body.channelId + '"]') || document.querySelector('.done'); done.hidden = false; done.querySelector('h2').setAttribute('tabindex', '-1'); done.querySelector('h2').focus(); return; }
        result.className = 'error';
        result.textContent = response.status === 429 ? 'Troppi tentativi: riprova fra qualche minuto.' : response.status === 400 ? 'Controlla il numero di cellulare e riprova.' : 'Non è stato possibile completare l\\'iscrizione. Riprova più tardi.';
      })
      .catch(function () { result.className = 'error'; result.textContent = 'Connessione non riuscita. Riprova.'; });
  });
})();
`;

const cspHash = (source: string): string => `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;

/**
 * The page's Content-Security-Policy: its own inline style and script (by hash) and requests to
 * this origin, nothing else; no framing (the form cannot be overlaid by another site), no plugins.
 */
export const SIGNUP_PAGE_CSP = [
  "default-src 'none'",
  `style-src ${cspHash(PAGE_STYLE)}`,
  `script-src ${cspHash(PAGE_SCRIPT)}`,
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** The comune's subscription page: small, accessible, mobile-first, in Italian, no external assets. */
export function renderSignupPage({ tenant, channels: all, topics }: SignupPage, slug: string): string {
  // A comune's sandbox (its try-out number) is not offered to citizens once it has a real number.
  const channels = all.some((c) => c.provider !== ChannelProvider.Sandbox) ? all.filter((c) => c.provider !== ChannelProvider.Sandbox) : all;
  const channel = channels[0];
  const settings = channel ? resolveSettings(channel) : null;
  const privacyUrl = settings?.privacyPolicyUrl ?? tenant.privacyPolicyUrl;
  const name = escapeHtml(tenant.name);
  const topicsHtml = topics.length
    ? `<fieldset><legend>Argomenti che ti interessano (facoltativo)</legend>${topics
        .map((t, i) => `<div class="check"><input type="checkbox" id="topic-${i}" name="topics" value="${escapeHtml(t.key)}"><label for="topic-${i}">${escapeHtml(t.name)}</label></div>`)
        .join('')}</fieldset>`
    : '';
  const channelSelect =
    channels.length > 1
      ? `<label for="channelId">Servizio</label><select id="channelId" name="channelId">${channels.map((c) => `<option value="${c.id}">${escapeHtml(c.name)}</option>`).join('')}</select>`
      : channel
        ? `<input type="hidden" name="channelId" value="${channel.id}">`
        : '';
  const body = channel
    ? `<p>Ricevi su WhatsApp avvisi di protezione civile, allerte meteo, interruzioni di servizi, viabilità e notizie utili di ${name}.
      Il servizio è gratuito e solo informativo: nessuno vede il tuo numero.</p>
    <form id="signup" data-action="${escapeHtml(`/v1/public/${encodeURIComponent(slug)}/subscriptions`)}" novalidate>
      ${channelSelect}
      <label for="phone">Numero di cellulare (WhatsApp)</label>
      <input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" required placeholder="347 123 4567" aria-describedby="phone-help">
      <p id="phone-help" class="help">Anche con prefisso internazionale, ad esempio +39 347 123 4567.</p>
      <label for="name">Nome (facoltativo)</label>
      <input id="name" name="name" type="text" autocomplete="given-name" maxlength="200">
      ${topicsHtml}
      <div class="hp" aria-hidden="true"><label for="website">Non compilare questo campo</label><input id="website" name="website" type="text" tabindex="-1" autocomplete="off"></div>
      <div class="check"><input id="privacy" name="privacyAccepted" type="checkbox" required>
        <label for="privacy">Ho letto e accetto l'${privacyUrl ? `<a href="${escapeHtml(privacyUrl)}" target="_blank" rel="noopener">informativa sulla privacy</a>` : 'informativa sulla privacy'}</label></div>
      <button type="submit">Iscrivimi</button>
      <p id="result" role="status" aria-live="polite"></p>
    </form>
    ${channels.map(confirmation).join('\n    ')}`
    : `<p>Il servizio WhatsApp di ${name} non è ancora attivo. Torna a trovarci presto.</p>`;
  return `<!doctype html>
<html lang="it">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Iscriviti agli avvisi WhatsApp – ${name}</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
  <h1>Avvisi WhatsApp di ${name}</h1>
  ${body}
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>`;
}

/** The page of a comune that is not on the platform (or not yet active): said in Italian, as a page, with a 404. */
export function renderUnknownComunePage(): string {
  return `<!doctype html>
<html lang="it">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Comune non trovato</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<main>
  <h1>Comune non trovato</h1>
  <p>Questo indirizzo non corrisponde a nessun servizio WhatsApp attivo. Controlla il link che hai ricevuto dal tuo Comune.</p>
</main>
</body>
</html>`;
}
