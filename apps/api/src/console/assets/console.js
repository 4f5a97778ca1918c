/* Filodiretto console: a small single-page app over the public REST API (/v1). The token pair
 * from POST /v1/auth/login is kept in sessionStorage (gone when the tab closes); an expired access
 * token is exchanged for a new pair once, and the request tried again. Every text coming from the
 * API is inserted as text, never as HTML. */
(function () {
  'use strict';

  var TOKEN_KEY = 'filodiretto.accessToken';
  var REFRESH_KEY = 'filodiretto.refreshToken';
  var app = document.getElementById('app');
  var nav = document.getElementById('nav');
  var who = document.getElementById('who');
  var logoutButton = document.getElementById('logout');
  var charts = [];
  var me = null;
  /** Said on the login page once it is drawn (a session that ended). */
  var loginNotice = null;

  // ---------- helpers ----------
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === undefined || value === null || value === false) return;
        if (key === 'text') el.textContent = value;
        else if (key.slice(0, 2) === 'on') el.addEventListener(key.slice(2), value);
        else if (key === 'style') el.style.cssText = value; // CSSOM: allowed by the page's CSP, unlike style attributes
        else el.setAttribute(key, value === true ? '' : value);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(el, c); });
    else el.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
  function render() {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    app.replaceChildren();
    for (var i = 0; i < arguments.length; i++) append(app, arguments[i]);
  }
  var nf = new Intl.NumberFormat('it-IT');
  function num(n) { return n === null || n === undefined ? '—' : nf.format(n); }
  function pct(r) { return r === null || r === undefined ? '—' : (Math.round(r * 1000) / 10).toLocaleString('it-IT') + '%'; }
  function dateTime(iso) { return iso ? new Date(iso).toLocaleString('it-IT', { dateStyle: 'short', timeStyle: 'short' }) : '—'; }
  var STATUS = { draft: 'bozza', scheduled: 'programmata', sending: 'in invio', completed: 'completata', cancelled: 'annullata', failed: 'fallita', active: 'attivo', paused: 'in pausa', pending: 'in attesa', suspended: 'sospeso',
    APPROVED: 'approvato', PENDING: 'in revisione', REJECTED: 'rifiutato', PAUSED: 'sospeso', DISABLED: 'disattivato', DELETED: 'eliminato', ARCHIVED: 'archiviato', IN_APPEAL: 'in appello', LIMIT_EXCEEDED: 'oltre il limite' };
  /** The API's notes on what holds a campaign back, in Italian (the API's own words otherwise). */
  var NOTES = [
    [/^Quiet hours \(([^–]+)–([^,]+), ([^)]+)\): normal campaigns wait, and this one goes on at [^(]*\(([^)]+)\)/, function (m) {
      return 'Fascia di silenzio (' + m[1] + '–' + m[2] + ', ' + m[3] + '): le campagne ordinarie attendono, questa parte il ' + dateTime(m[4]) + '. Le emergenze non attendono.';
    }],
    [/^The channel is paused(?: \((.*)\))?: nothing goes out/, function (m) {
      return 'Il canale è in pausa' + (m[1] ? ' (' + m[1] + ')' : '') + ': non parte nulla finché non viene riattivato.';
    }],
    [/^(\d+\+?) message\(s\) wait to be tried again .*; the next attempt at (\S+)$/, function (m) {
      return m[1] + ' messaggi attendono un nuovo tentativo (errori di WhatsApp o limite giornaliero del numero); il prossimo il ' + dateTime(m[2]) + '.';
    }],
    [/^Subscribers outside the 24-hour window are skipped \(outside_window\): the channel's fallback template cannot be sent\. (.*)$/, function (m) {
      return 'Chi non scrive al Comune da più di 24 ore non riceverà il messaggio: il modello di riserva del canale non può essere inviato (' + m[1] + ').';
    }],
  ];
  function italianNote(text) {
    for (var i = 0; i < NOTES.length; i++) {
      var m = NOTES[i][0].exec(text);
      if (m) return NOTES[i][1](m);
    }
    return text;
  }
  function badge(status) { return h('span', { class: 'badge ' + status, text: STATUS[status] || status }); }
  function notice(text, isError) { return h('div', { class: 'notice' + (isError ? ' error' : ''), role: isError ? 'alert' : 'status', text: text }); }

  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  function keepSession(pair) {
    sessionStorage.setItem(TOKEN_KEY, pair.accessToken);
    sessionStorage.setItem(REFRESH_KEY, pair.refreshToken);
  }

  // One exchange at a time, shared by the requests that found the access token expired together.
  var refreshing = null;
  function refreshSession() {
    var refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return Promise.resolve(false);
    if (!refreshing) {
      refreshing = fetch('/v1/auth/refresh', { method: 'POST', headers: { Accept: 'application/json', 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: refreshToken }) })
        .then(function (response) { return response.ok ? response.json().then(function (pair) { keepSession(pair); return true; }) : false; })
        .catch(function () { return false; })
        .then(function (ok) { refreshing = null; return ok; });
    }
    return refreshing;
  }

  /** What the API's refusals mean, in Italian; the API's own words follow as the detail. */
  var REFUSED = { 400: 'Dati non validi', 403: 'Operazione non consentita', 404: 'Non trovato', 409: 'Operazione non possibile ora', 413: 'File troppo grande', 429: 'Troppe richieste: riprova fra poco' };

  /** A request to the API: JSON, or an upload (FormData, sent as it is); an expired session is renewed once. */
  function api(method, path, body, retried) {
    var headers = { Accept: 'application/json' };
    if (token()) headers.Authorization = 'Bearer ' + token();
    var upload = typeof FormData !== 'undefined' && body instanceof FormData;
    if (body !== undefined && !upload) headers['Content-Type'] = 'application/json';
    return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : upload ? body : JSON.stringify(body) }).then(function (response) {
      if (response.status === 401 && path !== '/v1/auth/login') {
        return (retried ? Promise.resolve(false) : refreshSession()).then(function (renewed) {
          if (renewed) return api(method, path, body, true);
          endSession('Sessione scaduta: accedi di nuovo.');
          var expired = new Error('Sessione scaduta: accedi di nuovo.');
          expired.status = 401;
          throw expired;
        });
      }
      var type = response.headers.get('content-type') || '';
      var parse = type.indexOf('application/json') >= 0 ? response.json() : response.text();
      return parse.then(function (data) {
        if (!response.ok) {
          var detail = data && data.message ? (Array.isArray(data.message) ? data.message.join('; ') : data.message) : '';
          var lead = REFUSED[response.status] || (response.status >= 500 ? 'Errore del server: riprova fra poco' : 'Errore ' + response.status);
          var error = new Error(detail ? lead + ': ' + detail : lead);
          error.status = response.status;
          error.code = data && data.code;
          throw error;
        }
        return data;
      });
    });
  }

  function chart(canvas, config) {
    if (!window.Chart) return;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    charts.push(new window.Chart(canvas, config));
  }

  // ---------- session ----------
  /** Forgets the session here; `why` is said on the login page. */
  function endSession(why) {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(REFRESH_KEY);
    me = null;
    loginNotice = why || null;
    if (location.hash !== '#/accesso') location.hash = '#/accesso';
    else route();
  }
  function logout() {
    // The session ends on the server too: its refresh token stops working.
    var refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (refreshToken) fetch('/v1/auth/logout', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refreshToken: refreshToken }) }).catch(function () {});
    endSession(null);
  }
  logoutButton.addEventListener('click', logout);

  function loginPage() {
    nav.replaceChildren();
    who.textContent = '';
    logoutButton.hidden = true;
    var message = h('div', null, loginNotice ? notice(loginNotice, true) : null);
    loginNotice = null;
    var email = h('input', { type: 'email', id: 'email', name: 'email', autocomplete: 'username', required: true });
    var password = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true });
    var form = h('form', { class: 'panel login', onsubmit: function (event) {
      event.preventDefault();
      api('POST', '/v1/auth/login', { email: email.value, password: password.value })
        .then(function (session) { keepSession(session); me = null; location.hash = '#/'; route(); })
        .catch(function (error) { message.replaceChildren(notice(error.status === 401 ? 'Email o password errate.' : error.message, true)); });
    } },
      h('h1', { text: 'Accedi alla console' }),
      h('label', { for: 'email', text: 'Email' }), email,
      h('label', { for: 'password', text: 'Password' }), password,
      h('p', null, h('button', { type: 'submit', id: 'login-submit', text: 'Accedi' })),
      message);
    render(form);
  }

  // ---------- navigation ----------
  var TENANT_PAGES = [
    ['#/', 'Panoramica', dashboardPage],
    ['#/campagne', 'Campagne', campaignsPage],
    ['#/nuova', 'Nuova campagna', composePage],
    ['#/iscritti', 'Iscritti', subscribersPage],
    ['#/canali', 'Canali e parole chiave', channelsPage],
    ['#/messaggi', 'Messaggi dei cittadini', inboxPage],
    ['#/persone', 'Persone e chiavi API', peoplePage, 'tenant_admin'],
    ['#/account', 'Il mio account', accountPage],
  ];
  var OPERATOR_PAGES = [
    ['#/', 'Stato della piattaforma', operatorPage],
    ['#/comuni', 'Comuni', pendingTenantsPage],
    ['#/account', 'Il mio account', accountPage],
  ];

  var ROLE_NAMES = { platform_admin: 'operatore', tenant_admin: 'amministratore', editor: 'redattore', viewer: 'lettura' };
  /** Sending and cancelling, channels and settings: the comune's administrators (the API says so too). */
  function isAdmin() { return me && me.role === 'tenant_admin'; }
  /** Drafting campaigns, adding subscribers and topics: editors too. */
  function isWriter() { return me && (me.role === 'tenant_admin' || me.role === 'editor'); }

  /** The pages of this member's role (a fourth element names the one role a page is for). */
  function pages() {
    return (me && me.role === 'platform_admin' ? OPERATOR_PAGES : TENANT_PAGES).filter(function (p) { return !p[3] || (me && me.role === p[3]); });
  }

  function drawNav(current) {
    nav.replaceChildren();
    pages().forEach(function (page) {
      nav.appendChild(h('a', { href: page[0], class: page[0] === current ? 'active' : null, text: page[1] }));
    });
    who.textContent = me ? (me.email || '') + ' · ' + (ROLE_NAMES[me.role] || me.role) : '';
    logoutButton.hidden = false;
  }

  function route() {
    if (!token()) return loginPage();
    var ensureMe = me ? Promise.resolve(me) : api('GET', '/v1/auth/me').then(function (m) { me = m; return m; });
    ensureMe.then(function () {
      var hash = location.hash || '#/';
      var base = hash.split('?')[0];
      if (base.indexOf('#/campagne/') === 0) { drawNav('#/campagne'); return campaignDetailPage(base.slice('#/campagne/'.length)); }
      var page = pages().filter(function (p) { return p[0] === base; })[0] || pages()[0];
      drawNav(page[0]);
      return page[2]();
    }).catch(function (error) { render(notice(error.message, true)); });
  }
  window.addEventListener('hashchange', route);

  // ---------- comune: overview ----------
  function dashboardPage() {
    render(h('h1', { text: 'Panoramica' }), h('p', { class: 'muted', text: 'Caricamento…' }));
    return Promise.all([
      api('GET', '/v1/analytics/overview'),
      api('GET', '/v1/analytics/subscribers?interval=day'),
      api('GET', '/v1/analytics/campaigns?limit=10'),
      api('GET', '/v1/analytics/usage'),
      api('GET', '/v1/analytics/subscribers/by-source'),
      api('GET', '/v1/tenant'),
      // Citizens WhatsApp cannot reach (131026): the comune reaches them another way. A role that
      // may not read subscribers just does not see the panel.
      api('GET', '/v1/subscribers?status=active&undeliverable=true&limit=20').catch(function () { return { data: [] }; }),
    ]).then(function (r) {
      var overview = r[0], series = r[1].data, campaigns = r[2].data, usage = r[3], sources = r[4].data, tenant = r[5], unreachable = r[6].data;
      var seriesCanvas = h('canvas', { id: 'chart-subscribers', 'aria-label': 'Iscritti nel tempo' });
      var sourceCanvas = h('canvas', { id: 'chart-sources', 'aria-label': 'Iscritti per canale di adesione' });
      render(
        h('h1', { text: 'Panoramica' }),
        h('div', { class: 'cards' },
          card('Iscritti attivi', num(overview.subscribers.active), num(overview.subscribers.pending) + ' in attesa di conferma'),
          card('Adesione', pct(overview.adoptionRate), tenant.population ? 'su ' + num(tenant.population) + ' residenti' : 'popolazione non indicata'),
          card('Messaggi consegnati', num(overview.messages.delivered), num(overview.messages.sent) + ' inviati a WhatsApp'),
          card('Messaggi letti', num(overview.messages.read), num(overview.messages.failed) + ' non consegnati'),
          card('Questo mese', usage.normalCampaigns + ' / ' + usage.monthlyMessageCap, 'campagne ordinarie sul limite mensile; ' + usage.emergencyCampaigns + ' emergenze')),
        h('div', { class: 'panel' }, h('h2', { text: 'Iscritti negli ultimi 30 giorni' }), h('div', { class: 'chart-box' }, seriesCanvas)),
        h('div', { class: 'panel' }, h('h2', { text: 'Come si sono iscritti' }), h('div', { class: 'chart-box', style: 'height:220px' }, sourceCanvas)),
        h('h2', { text: 'Ultime campagne' }),
        campaignTable(campaigns),
        unreachablePanel(unreachable));
      chart(seriesCanvas, {
        data: {
          labels: series.map(function (p) { return p.date.slice(8, 10) + '/' + p.date.slice(5, 7); }),
          datasets: [
            { type: 'line', label: 'Attivi', data: series.map(function (p) { return p.active; }), borderColor: '#075e54', backgroundColor: '#075e54', yAxisID: 'y', tension: 0.2 },
            { type: 'bar', label: 'Nuovi iscritti', data: series.map(function (p) { return p.joined; }), backgroundColor: '#25d366', yAxisID: 'y1' },
            { type: 'bar', label: 'Cancellati', data: series.map(function (p) { return -p.left; }), backgroundColor: '#c0392b', yAxisID: 'y1' },
          ],
        },
        options: { scales: { y: { position: 'left', beginAtZero: true }, y1: { position: 'right', grid: { drawOnChartArea: false } } } },
      });
      var SOURCE = { keyword: 'Parola chiave su WhatsApp', web_form: 'Modulo sul sito', import: 'Importazione', api: 'Integrazione (API)' };
      chart(sourceCanvas, {
        type: 'bar',
        data: { labels: sources.map(function (s) { return SOURCE[s.source] || s.source; }), datasets: [{ label: 'Attivi', data: sources.map(function (s) { return s.active; }), backgroundColor: '#128c7e' }] },
        options: { indexAxis: 'y', plugins: { legend: { display: false } } },
      });
    });
  }

  function unreachablePanel(subscribers) {
    if (!subscribers.length) return null;
    return h('div', { class: 'panel', id: 'unreachable' },
      h('h2', { text: 'Iscritti non raggiungibili su WhatsApp' }),
      h('p', { class: 'muted', text: 'WhatsApp non riesce a consegnare a questi numeri (non usano WhatsApp, non hanno accettato i termini o hanno un\'app troppo vecchia): contattateli in altro modo. Tornano raggiungibili appena un messaggio arriva o scrivono al numero del Comune.' }),
      h('table', null,
        h('thead', null, h('tr', null, ['Numero', 'Nome', 'Non raggiungibile dal'].map(function (t) { return h('th', { text: t }); }))),
        h('tbody', null, subscribers.map(function (s) {
          return h('tr', { 'data-subscriber-id': s.id },
            h('td', { text: s.phone || s.userId || '' }),
            h('td', { text: s.name || '' }),
            h('td', { text: new Date(s.undeliverableSince).toLocaleString('it-IT') }));
        }))));
  }

  function card(label, value, detail) {
    return h('div', { class: 'card' }, h('div', { class: 'label', text: label }), h('div', { class: 'value', text: value }), detail ? h('div', { class: 'muted', text: detail }) : null);
  }

  function funnelBar(c) {
    var total = Math.max(c.recipients, 1);
    var part = function (n) { return (100 * n / total).toFixed(2) + '%'; };
    return h('div', { class: 'funnel', title: 'letti ' + c.read + ', consegnati ' + c.delivered + ', inviati ' + c.sent + ', non consegnati ' + c.failed + ', saltati ' + c.skipped },
      h('span', { class: 'f-read', style: 'width:' + part(c.read) }),
      h('span', { class: 'f-delivered', style: 'width:' + part(c.delivered - c.read) }),
      h('span', { class: 'f-sent', style: 'width:' + part(c.sent - c.delivered) }),
      h('span', { class: 'f-failed', style: 'width:' + part(c.failed) }),
      h('span', { class: 'f-skipped', style: 'width:' + part(c.skipped) }));
  }

  function campaignTable(campaigns) {
    if (!campaigns.length) return h('p', { class: 'muted', text: 'Nessuna campagna ancora. Creane una da «Nuova campagna».' });
    return h('table', { class: 'campaigns' },
      h('thead', null, h('tr', null, ['Campagna', 'Stato', 'Destinatari', 'Consegnati', 'Letti', 'Andamento'].map(function (t) { return h('th', { text: t }); }))),
      h('tbody', null, campaigns.map(function (c) {
        return h('tr', { 'data-campaign-id': c.id },
          h('td', null, h('a', { href: '#/campagne/' + c.id, text: c.title }), c.priority === 'emergency' ? h('span', { class: 'badge failed', text: ' emergenza' }) : null),
          h('td', null, badge(c.status)),
          h('td', { text: num(c.recipients) }),
          h('td', { text: num(c.delivered) + ' (' + pct(c.deliveryRate) + ')' }),
          h('td', { text: num(c.read) + ' (' + pct(c.readRate) + ')' }),
          h('td', null, funnelBar(c)));
      })));
  }

  // ---------- comune: campaigns ----------
  function campaignsPage() {
    return api('GET', '/v1/analytics/campaigns?limit=100').then(function (page) {
      render(h('h1', { text: 'Campagne' }), h('p', null, h('a', { href: '#/nuova', text: '+ Nuova campagna' })), campaignTable(page.data));
    });
  }

  var REASONS = { outside_window: 'fuori dalla finestra di 24 ore', monthly_cap: 'limite mensile raggiunto', unsubscribed: 'cancellato nel frattempo', cancelled: 'campagna annullata', quiet_hours: 'fascia di silenzio' };

  function campaignDetailPage(id) {
    return Promise.all([
      api('GET', '/v1/analytics/campaigns/' + encodeURIComponent(id)),
      api('GET', '/v1/campaigns/' + encodeURIComponent(id)),
    ]).then(function (r) {
      var c = r[0], heldBack = r[1].heldBack;
      var funnelCanvas = h('canvas', { id: 'chart-funnel', 'aria-label': 'Imbuto della campagna' });
      var pollCanvas = c.poll ? h('canvas', { id: 'chart-poll', 'aria-label': 'Risultati del sondaggio' }) : null;
      var campaign = r[1];
      var download = c.status === 'draft' ? null : h('button', { class: 'secondary', text: 'Scarica i risultati (CSV)', onclick: function () { downloadCsv(c); } });
      var cancelNote = h('div');
      // What is not yet handed to WhatsApp is not sent (an alert sent by mistake, a schedule no longer wanted).
      var cancel = isAdmin() && (c.status === 'scheduled' || c.status === 'sending')
        ? h('button', { class: 'secondary', id: 'campaign-cancel', text: 'Annulla la campagna', onclick: function () {
          if (!window.confirm('Annullare «' + c.title + '»? I messaggi non ancora consegnati a WhatsApp non partiranno.')) return;
          cancel.disabled = true;
          api('POST', '/v1/campaigns/' + encodeURIComponent(id) + '/cancel')
            .then(function () { return campaignDetailPage(id); })
            .catch(function (error) { cancel.disabled = false; cancelNote.replaceChildren(notice(error.message, true)); });
        } })
        : null;
      var sendDraft = isAdmin() && c.status === 'draft'
        ? h('button', { id: 'campaign-send-draft', text: 'Invia ora', onclick: function () {
          if (!confirmEmergency(campaign)) return;
          sendDraft.disabled = true;
          api('POST', '/v1/campaigns/' + encodeURIComponent(id) + '/send')
            .then(function () { return campaignDetailPage(id); })
            .catch(function (error) { sendDraft.disabled = false; cancelNote.replaceChildren(notice(error.message, true)); });
        } })
        : null;
      var when = c.status === 'scheduled' && campaign.scheduledAt ? ' · programmata per ' + dateTime(campaign.scheduledAt) : c.startedAt ? ' · avviata ' + dateTime(c.startedAt) : '';
      render(
        h('h1', { text: c.title }),
        h('p', { class: 'row' }, badge(c.status), when, download, cancel, sendDraft),
        cancelNote,
        // What holds it back now (a paused channel, quiet hours, messages waiting to be tried again).
        heldBack ? h('div', { class: 'notice', id: 'held-back', role: 'status' }, h('strong', { text: 'In attesa: ' }), italianNote(heldBack)) : null,
        h('div', { class: 'cards' },
          card('Destinatari', num(c.recipients)),
          card('Inviati a WhatsApp', num(c.sent)),
          card('Consegnati', num(c.delivered), pct(c.deliveryRate) + ' degli inviati'),
          card('Letti', num(c.read), pct(c.readRate) + ' dei consegnati'),
          card('Tempo di consegna', c.timeToDeliveredSeconds ? Math.round(c.timeToDeliveredSeconds.p50) + ' s' : '—', c.timeToDeliveredSeconds ? '95% entro ' + Math.round(c.timeToDeliveredSeconds.p95) + ' s' : null)),
        h('div', { class: 'panel' }, h('h2', { text: 'Dall’invio alla lettura' }), h('div', { class: 'chart-box', style: 'height:240px' }, funnelCanvas)),
        c.skippedReasons.length ? h('div', { class: 'panel' }, h('h2', { text: 'Non inviati' }), h('ul', null, c.skippedReasons.map(function (r) { return h('li', { text: num(r.count) + ' — ' + (REASONS[r.reason] || r.reason) }); }))) : null,
        c.failedCodes.length ? h('div', { class: 'panel' }, h('h2', { text: 'Errori di WhatsApp' }), h('ul', null, c.failedCodes.map(function (f) { return h('li', { text: num(f.count) + ' — codice ' + (f.code === null ? 'sconosciuto' : f.code) }); }))) : null,
        pollCanvas ? h('div', { class: 'panel' }, h('h2', { text: 'Risultati del sondaggio' }), h('div', { class: 'chart-box', style: 'height:200px' }, pollCanvas),
          // The figures as text too (a chart says nothing to a screen reader).
          h('ul', { id: 'poll-votes' }, c.poll.options.map(function (o) { return h('li', { text: o.title + ': ' + num(o.votes) + (o.votes === 1 ? ' voto' : ' voti') }); }))) : null,
        c.reactions.length ? h('div', { class: 'panel' }, h('h2', { text: 'Reazioni' }), h('p', { text: c.reactions.map(function (r) { return r.emoji + ' ' + r.count; }).join('   ') })) : null);
      chart(funnelCanvas, {
        type: 'bar',
        data: {
          labels: ['Destinatari', 'Inviati', 'Consegnati', 'Letti', 'Non consegnati', 'Saltati'],
          datasets: [{ data: [c.recipients, c.sent, c.delivered, c.read, c.failed, c.skipped], backgroundColor: ['#9fb3ab', '#a8e6c1', '#25d366', '#128c7e', '#c0392b', '#c9d1ce'] }],
        },
        options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
      if (pollCanvas) {
        chart(pollCanvas, {
          type: 'bar',
          data: { labels: c.poll.options.map(function (o) { return o.title; }), datasets: [{ label: 'Voti', data: c.poll.options.map(function (o) { return o.votes; }), backgroundColor: '#25d366' }] },
          options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
        });
      }
    });
  }

  function downloadCsv(c) {
    fetch('/v1/analytics/campaigns/' + c.id + '/export.csv', { headers: { Authorization: 'Bearer ' + token() } })
      .then(function (r) { if (!r.ok) throw new Error('Esportazione non riuscita'); return r.blob(); })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = h('a', { href: url, download: 'campagna-' + c.id + '.csv' });
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
      })
      .catch(function (error) { alert(error.message); });
  }

  /** A checkbox per topic; `chosen()` answers the keys ticked. */
  function topicChoice(topics) {
    var boxes = topics.map(function (t) { return h('label', { class: 'row', style: 'font-weight:400' }, h('input', { type: 'checkbox', value: t.key, style: 'width:auto' }), t.name); });
    return {
      boxes: boxes,
      chosen: function () { return boxes.map(function (l) { return l.querySelector('input'); }).filter(function (i) { return i.checked; }).map(function (i) { return i.value; }); },
    };
  }

  /** An emergency reaches every recipient at once, at night too: asked once more. */
  function confirmEmergency(campaign) {
    if (campaign.priority !== 'emergency') return true;
    return window.confirm('Inviare come EMERGENZA a ' + (campaign.topics && campaign.topics.length ? 'chi segue gli argomenti scelti' : 'tutti gli iscritti') + ', anche nella fascia di silenzio?');
  }

  // ---------- comune: compose and send ----------
  function composePage() {
    return Promise.all([api('GET', '/v1/channels?limit=100'), api('GET', '/v1/topics?limit=500').catch(function () { return { data: [] }; })]).then(function (r) {
      var channels = r[0].data, topics = r[1].data;
      if (!channels.length) { render(h('h1', { text: 'Nuova campagna' }), notice('Prima collega un canale WhatsApp (o un canale di prova) in «Canali e parole chiave».', true)); return; }
      var message = h('div');
      var channel = h('select', { id: 'campaign-channel', name: 'channelId' }, channels.map(function (c) { return h('option', { value: c.id, text: c.name + (c.provider === 'sandbox' ? ' (prova)' : '') + ' · ' + c.displayPhoneNumber }); }));
      var title = h('input', { id: 'campaign-title', name: 'title', maxlength: '200', required: true, placeholder: 'Es. Allerta meteo arancione' });
      var type = h('select', { id: 'campaign-type', name: 'type' }, h('option', { value: 'text', text: 'Messaggio di testo' }), h('option', { value: 'poll', text: 'Sondaggio (2-3 risposte)' }), h('option', { value: 'template', text: 'Modello WhatsApp approvato (raggiunge tutti)' }));
      // Template campaigns: the channel's APPROVED templates, with one field per body parameter.
      var templates = [];
      var templateSelect = h('select', { id: 'campaign-template', name: 'template' });
      var templateParams = h('div', { id: 'campaign-template-params' });
      var templateNote = h('div');
      var templateBox = h('div', { hidden: true }, h('label', { for: 'campaign-template', text: 'Modello' }), templateSelect, templateNote, templateParams);
      function chosenTemplate() { return templates.filter(function (t) { return t.name + '|' + t.language === templateSelect.value; })[0] || null; }
      function drawTemplateParams() {
        var t = chosenTemplate();
        templateParams.replaceChildren();
        for (var i = 0; t && i < (t.bodyParameters || 0); i++) {
          var label = t.parameterNames && t.parameterNames[i] ? t.parameterNames[i] : '{{' + (i + 1) + '}}';
          var input = h('input', { class: 'template-param', id: 'campaign-template-param-' + i, maxlength: '1024', required: true, placeholder: 'Valore di ' + label });
          input.addEventListener('input', updatePreview);
          append(templateParams, [h('label', { for: input.id, text: 'Parametro ' + label }), input]);
        }
      }
      function loadTemplates() {
        var selected = channels.filter(function (c) { return c.id === channel.value; })[0];
        templates = [];
        templateSelect.replaceChildren();
        templateNote.replaceChildren();
        if (!selected || selected.provider === 'sandbox') {
          templateNote.replaceChildren(notice('Il canale di prova non ha modelli: scegli un canale WhatsApp.', true));
          drawTemplateParams();
          return Promise.resolve();
        }
        return api('GET', '/v1/channels/' + encodeURIComponent(selected.id) + '/templates?limit=500').then(function (list) {
          templates = list.data.filter(function (t) { return t.status === 'APPROVED'; });
          templates.forEach(function (t) { append(templateSelect, h('option', { value: t.name + '|' + t.language, text: t.name + ' · ' + t.language + (t.category ? ' · ' + t.category : '') })); });
          if (!templates.length) templateNote.replaceChildren(notice(list.syncedAt ? 'Nessun modello approvato su questo numero.' : 'Modelli non ancora letti da WhatsApp: aggiornali in «Canali e parole chiave».', true));
          drawTemplateParams();
          updatePreview();
        }).catch(function (error) { templateNote.replaceChildren(notice(error.message, true)); });
      }
      templateSelect.addEventListener('change', function () { drawTemplateParams(); updatePreview(); });
      channel.addEventListener('change', function () { if (type.value === 'template') loadTemplates(); });
      type.addEventListener('change', function () { if (type.value === 'template') loadTemplates(); });
      var text = h('textarea', { id: 'campaign-text', name: 'text', maxlength: '4096', required: true, placeholder: 'Il testo che riceveranno i cittadini' });
      var options = [0, 1, 2].map(function (i) { return h('input', { class: 'poll-option', id: 'campaign-option-' + i, maxlength: '20', 'aria-label': 'Risposta ' + (i + 1) + (i === 2 ? ' (facoltativa)' : ''), placeholder: 'Risposta ' + (i + 1) + (i === 2 ? ' (facoltativa)' : '') }); });
      var optionsBox = h('fieldset', { hidden: true, class: 'plain' }, h('legend', { text: 'Risposte (pulsanti)' }), options);
      var textBox = h('div', null, h('label', { for: 'campaign-text', text: 'Messaggio' }), text);
      // Empty: now. A time without offset is the comune's own time (the API reads it so).
      var schedule = h('input', { type: 'datetime-local', id: 'campaign-schedule', name: 'scheduledAt' });
      var priority = h('select', { id: 'campaign-priority', name: 'priority' }, h('option', { value: 'normal', text: 'Ordinaria' }), h('option', { value: 'emergency', text: 'Emergenza (ignora fascia di silenzio e limite mensile)' }));
      var topicBoxes = topicChoice(topics);
      var preview = h('div', { class: 'phone', id: 'whatsapp-preview', 'aria-label': 'Anteprima su WhatsApp' });
      function templateValues() { return Array.prototype.map.call(templateParams.querySelectorAll('.template-param'), function (i) { return i.value; }); }
      function updatePreview() {
        optionsBox.hidden = type.value !== 'poll';
        var isTemplate = type.value === 'template';
        templateBox.hidden = !isTemplate;
        textBox.hidden = isTemplate;
        text.required = !isTemplate;
        var now = new Date().toLocaleTimeString('it-IT', { hour: '2-digit', minute: '2-digit' });
        preview.replaceChildren();
        var t = chosenTemplate();
        var shown = isTemplate
          ? (t ? 'Modello «' + t.name + '»' + (templateValues().length ? ': ' + templateValues().join(' · ') : '') : '')
          : text.value;
        append(preview, [
          h('div', { class: 'bubble' }, shown || h('span', { class: 'muted', text: isTemplate ? 'Scegli un modello approvato' : 'Scrivi il messaggio per vederne l’anteprima' }), h('span', { class: 'time', text: now })),
          type.value === 'poll' ? options.filter(function (o) { return o.value.trim(); }).map(function (o) { return h('div', { class: 'reply-button', text: o.value.trim() }); }) : null]);
      }
      [text, type].concat(options).forEach(function (el) { el.addEventListener('input', updatePreview); el.addEventListener('change', updatePreview); });
      var send = h('button', { type: 'submit', id: 'campaign-send', text: 'Invia ora', disabled: !isAdmin() });
      var sendNote = isAdmin() ? null : h('p', { class: 'muted', id: 'campaign-send-note', text: 'Solo un amministratore del Comune può inviare le campagne: salvala come bozza, la invierà lui.' });
      // Editors draft, tenant admins send (a draft is sent from its page).
      var draft = h('button', { type: 'button', class: 'secondary', id: 'campaign-draft', text: 'Salva come bozza', onclick: function () {
        var body = readBody();
        if (!body) return;
        draft.disabled = true;
        api('POST', '/v1/campaigns', body)
          .then(function (campaign) {
            message.replaceChildren(notice('Bozza «' + body.title + '» salvata.' + (isAdmin() ? '' : ' Un amministratore del Comune può inviarla dalla sua pagina.')));
            append(message, h('a', { href: '#/campagne/' + campaign.id, id: 'campaign-link', text: 'Apri la bozza' }));
          })
          .catch(function (error) { message.replaceChildren(notice(error.message, true)); })
          .then(function () { draft.disabled = false; });
      } });
      /** The campaign as the form says it, or null (said why). */
      function readBody() {
        var body = { channelId: channel.value, title: title.value.trim(), priority: priority.value };
        if (!title.value.trim()) { message.replaceChildren(notice('Scrivi un titolo.', true)); title.focus(); return null; }
        if (type.value === 'template') {
          var t = chosenTemplate();
          if (!t) { message.replaceChildren(notice('Scegli un modello approvato.', true)); return null; }
          var values = templateValues();
          body.message = { type: 'template', template: { name: t.name, language: t.language } };
          if (values.length) body.message.template.bodyParameters = values;
        } else {
          body.message = type.value === 'poll'
            ? { type: 'poll', text: text.value, options: options.map(function (o) { return o.value.trim(); }).filter(Boolean) }
            : { type: 'text', text: text.value };
        }
        var chosen = topicBoxes.chosen();
        if (chosen.length) body.topics = chosen;
        if (schedule.value) body.scheduledAt = schedule.value;
        return body;
      }
      var form = h('form', { class: 'grid', onsubmit: function (event) {
        event.preventDefault();
        if (!isAdmin()) return;
        var body = readBody();
        if (!body) return;
        if (!confirmEmergency(body)) return;
        send.disabled = true;
        api('POST', '/v1/campaigns', body)
          .then(function (campaign) {
            return api('POST', '/v1/campaigns/' + campaign.id + '/send').then(
              function (sent) { return [campaign, sent]; },
              // Not sent (the comune suspended, a template refused...): the draft it made is not left behind.
              function (error) { return api('DELETE', '/v1/campaigns/' + campaign.id).catch(function () {}).then(function () { throw error; }); });
          })
          .then(function (r) {
            message.replaceChildren(notice('Campagna «' + body.title + '» ' + (r[1].status === 'scheduled' ? 'programmata' + (r[1].scheduledAt ? ' per ' + dateTime(r[1].scheduledAt) : '') + '.' : 'in invio.')));
            // What will hold it back (a paused channel, a fallback template WhatsApp refuses), as the API says it.
            (r[1].warnings || []).forEach(function (w) { append(message, h('div', { class: 'notice error campaign-warning', role: 'alert', text: 'Attenzione: ' + italianNote(w) })); });
            append(message, h('a', { href: '#/campagne/' + r[0].id, id: 'campaign-link', text: 'Segui l’andamento' }));
          })
          .catch(function (error) { message.replaceChildren(notice(error.message, true)); })
          .then(function () { send.disabled = false; });
      } },
        h('div', null,
          h('label', { for: 'campaign-channel', text: 'Canale' }), channel,
          h('label', { for: 'campaign-title', text: 'Titolo (interno)' }), title,
          h('label', { for: 'campaign-type', text: 'Tipo' }), type,
          textBox,
          templateBox,
          optionsBox,
          h('label', { for: 'campaign-priority', text: 'Priorità' }), priority,
          h('label', { for: 'campaign-schedule', text: 'Programma l’invio (facoltativo, ora del Comune)' }), schedule,
          topics.length ? h('div', null, h('label', { text: 'Argomenti (nessuno = tutti gli iscritti)' }), topicBoxes.boxes) : null,
          h('p', { class: 'row' }, send, draft), sendNote, message),
        h('div', null, h('label', { text: 'Anteprima su WhatsApp' }), preview));
      render(h('h1', { text: 'Nuova campagna' }), form);
      updatePreview();
    });
  }

  // ---------- comune: channels and keywords ----------
  /** A Cloud API channel's WhatsApp templates as last read, and the button that reads them again. */
  function templatesPanel(c, message) {
    var box = h('div', { class: 'templates', id: 'templates-' + c.id });
    function draw(list) {
      box.replaceChildren(
        h('h3', { text: 'Modelli WhatsApp' }),
        h('p', { class: 'muted', text: list.syncedAt ? 'Letti da WhatsApp ' + dateTime(list.syncedAt) + '; WhatsApp ne comunica i cambi di stato.' : 'Non ancora letti da WhatsApp.' }),
        list.data.length ? h('table', null,
          h('thead', null, h('tr', null, ['Modello', 'Lingua', 'Categoria', 'Stato', 'Note'].map(function (t) { return h('th', { text: t }); }))),
          h('tbody', null, list.data.map(function (t) {
            return h('tr', null, h('td', { text: t.name }), h('td', { text: t.language }), h('td', { text: t.category || '—' }), h('td', null, badge(t.status)), h('td', { text: t.reason || '' }));
          }))) : null,
        list.nextCursor ? h('p', { class: 'muted', text: 'Sono mostrati i primi 500 modelli.' }) : null,
        h('p', null, h('button', { class: 'secondary', text: 'Aggiorna modelli da WhatsApp', onclick: function () {
          api('POST', '/v1/channels/' + c.id + '/templates/sync?limit=500').then(function (synced) { draw(synced); message.replaceChildren(notice('Modelli aggiornati.')); })
            .catch(function (error) { message.replaceChildren(notice(error.message, true)); });
        } })));
    }
    api('GET', '/v1/channels/' + c.id + '/templates?limit=500').then(draw).catch(function (error) { box.replaceChildren(notice(error.message, true)); });
    return box;
  }

  function channelsPage() {
    return api('GET', '/v1/channels?limit=100').then(function (page) {
      var message = h('div');
      var list = page.data.map(function (c) {
        var subscribe = h('input', { value: (c.subscribeKeywords || []).join(', '), 'aria-label': 'Parole per iscriversi' });
        var unsubscribe = h('input', { value: (c.unsubscribeKeywords || []).join(', '), 'aria-label': 'Parole per cancellarsi' });
        var split = function (v) { return v.split(',').map(function (s) { return s.trim(); }).filter(Boolean); };
        return h('div', { class: 'panel' },
          h('h2', null, c.name + ' ', badge(c.status)),
          h('p', { class: 'muted', text: (c.provider === 'sandbox' ? 'Canale di prova' : 'WhatsApp Cloud API') + ' · ' + c.displayPhoneNumber + ' · ' + c.messagesPerSecond + ' messaggi al secondo · id ' + c.id }),
          // The sandbox's simulated phone, in this tab (it uses this session).
          c.provider === 'sandbox' ? h('p', null, h('a', { href: '/sandbox/' + encodeURIComponent(c.id), class: 'sandbox-link', text: 'Apri il telefono simulato: scrivi come un cittadino' })) : null,
          c.pausedReason ? notice('In pausa: ' + c.pausedReason, true) : null,
          h('label', { text: 'Parole per iscriversi (separate da virgola)' }), subscribe,
          h('label', { text: 'Parole per cancellarsi' }), unsubscribe,
          h('p', null, h('button', { class: 'secondary', text: 'Salva parole chiave', onclick: function () {
            api('PATCH', '/v1/channels/' + c.id, { subscribeKeywords: split(subscribe.value), unsubscribeKeywords: split(unsubscribe.value) })
              .then(function () { message.replaceChildren(notice('Parole chiave salvate.')); })
              .catch(function (error) { message.replaceChildren(notice(error.message, true)); });
          } })),
          c.provider === 'sandbox' ? null : templatesPanel(c, message));
      });
      var name = h('input', { id: 'sandbox-name', value: 'Canale di prova' });
      var phone = h('input', { id: 'sandbox-phone', value: '390000000000' });
      var create = h('form', { class: 'panel', onsubmit: function (event) {
        event.preventDefault();
        var id = 'sandbox-' + Math.random().toString(36).slice(2, 10);
        api('POST', '/v1/channels', { name: name.value, provider: 'sandbox', phoneNumberId: id, wabaId: id, displayPhoneNumber: phone.value, accessToken: id, appSecret: id, verifyToken: id })
          .then(function () { route(); })
          .catch(function (error) { message.replaceChildren(notice(error.message, true)); });
      } }, h('h2', { text: 'Aggiungi un canale di prova' }), h('p', { class: 'muted', text: 'Il canale di prova registra i messaggi senza inviarli a WhatsApp: utile per provare il servizio.' }),
        h('label', { for: 'sandbox-name', text: 'Nome' }), name, h('label', { for: 'sandbox-phone', text: 'Numero mostrato' }), phone, h('p', null, h('button', { type: 'submit', text: 'Crea canale di prova' })));
      render(h('h1', { text: 'Canali e parole chiave' }), message, list.length ? list : h('p', { class: 'muted', text: 'Nessun canale.' }), create);
    });
  }

  // ---------- comune: inbox ----------
  var HANDLED = { question: 'domanda', auto_reply: 'risposta automatica', subscribe: 'iscrizione', unsubscribe: 'cancellazione', already_subscribed: 'già iscritto', not_subscribed: 'non iscritto', poll_vote: 'voto', poll_vote_ignored: 'voto non contato', reaction: 'reazione' };
  // ---------- comune: subscribers ----------
  var SOURCES = { keyword: 'parola chiave', web_form: 'modulo web', import: 'importazione', api: 'API' };
  function subscribersPage() {
    var params = new URLSearchParams((location.hash.split('?')[1]) || '');
    var status = params.get('stato') || 'active';
    return Promise.all([
      api('GET', '/v1/channels?limit=100'),
      api('GET', '/v1/topics?limit=500').catch(function () { return { data: [] }; }),
      api('GET', '/v1/subscribers?limit=100&status=' + encodeURIComponent(status)),
    ]).then(function (r) {
      var channels = r[0].data, topics = r[1].data, list = r[2].data;
      var filter = h('select', { id: 'subscribers-status', 'aria-label': 'Stato', onchange: function () { location.hash = '#/iscritti?stato=' + filter.value; } },
        [['active', 'Attivi'], ['pending', 'In attesa di conferma'], ['unsubscribed', 'Cancellati']].map(function (o) { return h('option', { value: o[0], text: o[1], selected: o[0] === status }); }));
      var table = list.length ? h('table', { id: 'subscribers' },
        h('thead', null, h('tr', null, ['Numero', 'Nome', 'Argomenti', 'Origine', 'Dal'].map(function (t) { return h('th', { text: t }); }))),
        h('tbody', null, list.map(function (sub) {
          return h('tr', null, h('td', { text: sub.phone || sub.userId || '—' }), h('td', { text: sub.name || '' }), h('td', { text: (sub.topics || []).join(', ') }),
            h('td', { text: SOURCES[sub.consentSource] || sub.consentSource }), h('td', { text: dateTime(sub.subscribedAt) }));
        }))) : h('p', { class: 'muted', text: 'Nessun iscritto in questo stato.' });
      var forms = null;
      if (isWriter() && channels.length) {
        var channelChoice = function (id) { return h('select', { id: id }, channels.map(function (c) { return h('option', { value: c.id, text: c.name }); })); };
        // One citizen who gave consent to the comune (at the desk, by phone): consent source api.
        var addNote = h('div');
        var addChannel = channelChoice('subscriber-channel');
        var phone = h('input', { id: 'subscriber-phone', type: 'tel', required: true, placeholder: '347 123 4567' });
        var name = h('input', { id: 'subscriber-name', maxlength: '200' });
        var topicBoxes = topicChoice(topics);
        var add = h('form', { class: 'panel', id: 'subscriber-add', onsubmit: function (event) {
          event.preventDefault();
          var body = { channelId: addChannel.value, phone: phone.value };
          if (name.value.trim()) body.name = name.value.trim();
          var chosen = topicBoxes.chosen();
          if (chosen.length) body.topics = chosen;
          api('POST', '/v1/subscribers', body)
            .then(function (created) { addNote.replaceChildren(notice('Iscritto ' + created.phone + ' aggiunto.')); phone.value = ''; name.value = ''; })
            .catch(function (error) { addNote.replaceChildren(notice(error.status === 409 ? 'Questo numero è già registrato su questo canale.' : error.message, true)); });
        } },
          h('h2', { text: 'Aggiungi un iscritto' }),
          h('p', { class: 'muted', text: 'Solo per chi ha dato il consenso al Comune (allo sportello, per telefono). I cittadini possono iscriversi da soli dalla pagina pubblica o scrivendo la parola chiave su WhatsApp.' }),
          channels.length > 1 ? [h('label', { for: 'subscriber-channel', text: 'Canale' }), addChannel] : null,
          h('label', { for: 'subscriber-phone', text: 'Numero di cellulare' }), phone,
          h('label', { for: 'subscriber-name', text: 'Nome (facoltativo)' }), name,
          topics.length ? h('fieldset', { class: 'plain' }, h('legend', { text: 'Argomenti' }), topicBoxes.boxes) : null,
          h('p', null, h('button', { type: 'submit', id: 'subscriber-submit', text: 'Aggiungi' })), addNote);
        // A list the comune already has (CSV: phone,name,topics; topics separated by |).
        var importNote = h('div');
        var importChannel = channelChoice('import-channel');
        var file = h('input', { id: 'import-file', type: 'file', accept: '.csv,text/csv', required: true });
        var importForm = h('form', { class: 'panel', id: 'subscriber-import', onsubmit: function (event) {
          event.preventDefault();
          if (!file.files || !file.files[0]) return;
          var data = new FormData();
          data.append('channelId', importChannel.value);
          data.append('file', file.files[0]);
          importNote.replaceChildren(notice('Importazione in corso…'));
          api('POST', '/v1/subscribers/import', data)
            .then(function (b) {
              importNote.replaceChildren(notice('Importati ' + num(b.imported) + ' nuovi, aggiornati ' + num(b.updated) + ', scartate ' + num(b.rejectedCount) + ' righe.'),
                b.rejected.length ? h('ul', { id: 'import-rejected' }, b.rejected.slice(0, 20).map(function (x) { return h('li', { text: 'riga ' + x.line + ': ' + x.reason }); })) : null);
            })
            .catch(function (error) { importNote.replaceChildren(notice(error.message, true)); });
        } },
          h('h2', { text: 'Importa un elenco (CSV)' }),
          h('p', { class: 'muted', text: 'Intestazione phone,name,topics; più argomenti separati da |. Chi si era cancellato non viene reiscritto.' }),
          channels.length > 1 ? [h('label', { for: 'import-channel', text: 'Canale' }), importChannel] : null,
          h('label', { for: 'import-file', text: 'File CSV' }), file,
          h('p', null, h('button', { type: 'submit', id: 'import-submit', text: 'Importa' })), importNote);
        forms = h('div', { class: 'grid-2' }, add, importForm);
      }
      // The topics citizens choose from (on the public page) and campaigns are sent to.
      var topicNote = h('div');
      var topicKey = h('input', { id: 'topic-key', required: true, maxlength: '64', placeholder: 'es. meteo' });
      var topicName = h('input', { id: 'topic-name', required: true, maxlength: '200', placeholder: 'es. Allerte meteo' });
      var topicsPanel = h('div', { class: 'panel', id: 'topics' },
        h('h2', { text: 'Argomenti' }),
        topics.length ? h('ul', null, topics.map(function (t) { return h('li', { text: t.name + ' (' + t.key + ')' }); })) : h('p', { class: 'muted', text: 'Nessun argomento: le campagne vanno a tutti gli iscritti del canale.' }),
        isWriter() ? h('form', { id: 'topic-add', onsubmit: function (event) {
          event.preventDefault();
          api('POST', '/v1/topics', { key: topicKey.value.trim(), name: topicName.value.trim() })
            .then(function () { return subscribersPage(); })
            .catch(function (error) { topicNote.replaceChildren(notice(error.status === 409 ? 'Esiste già un argomento con questa chiave.' : error.message, true)); });
        } },
          h('label', { for: 'topic-key', text: 'Chiave (minuscole, cifre, - o _)' }), topicKey,
          h('label', { for: 'topic-name', text: 'Nome mostrato ai cittadini' }), topicName,
          h('p', null, h('button', { type: 'submit', id: 'topic-submit', text: 'Aggiungi argomento' })), topicNote) : null);
      render(h('h1', { text: 'Iscritti' }),
        h('p', { class: 'row' }, h('label', { for: 'subscribers-status', text: 'Mostra', style: 'margin:0' }), filter, h('span', { class: 'muted', text: list.length >= 100 ? 'i 100 più recenti' : num(list.length) })),
        table, forms, topicsPanel);
    });
  }

  function inboxPage() {
    return api('GET', '/v1/inbox?limit=100').then(function (page) {
      var rows = page.data;
      render(h('h1', { text: 'Messaggi dei cittadini' }),
        h('p', { class: 'muted', text: 'Il numero non è una chat: chi scrive riceve una risposta automatica che indica l’ufficio giusto. Qui trovi cosa hanno scritto.' }),
        rows.length ? h('table', null,
          h('thead', null, h('tr', null, ['Quando', 'Da', 'Tipo', 'Testo'].map(function (t) { return h('th', { text: t }); }))),
          h('tbody', null, rows.map(function (m) {
            return h('tr', null, h('td', { text: dateTime(m.receivedAt) }), h('td', { text: m.fromPhone || m.fromUserId || '—' }), h('td', { text: HANDLED[m.handledAs] || m.handledAs || m.type }), h('td', { text: m.text || '' }));
          }))) : h('p', { class: 'muted', text: 'Nessun messaggio.' }));
    });
  }

  // ---------- everyone: own account ----------
  function accountPage() {
    var note = h('div');
    var current = h('input', { type: 'password', id: 'current-password', autocomplete: 'current-password', required: true });
    var next = h('input', { type: 'password', id: 'new-password', autocomplete: 'new-password', required: true, minlength: '10' });
    var again = h('input', { type: 'password', id: 'new-password-again', autocomplete: 'new-password', required: true });
    render(h('h1', { text: 'Il mio account' }),
      h('p', { class: 'muted', text: (me.email || '') + ' · ' + (ROLE_NAMES[me.role] || me.role) }),
      h('form', { class: 'panel login', id: 'password-change', onsubmit: function (event) {
        event.preventDefault();
        if (next.value !== again.value) { note.replaceChildren(notice('Le due nuove password non coincidono.', true)); return; }
        api('POST', '/v1/auth/password', { currentPassword: current.value, newPassword: next.value })
          // Every other session of the account has ended; this one goes on with the new pair.
          .then(function (pair) { keepSession(pair); current.value = next.value = again.value = ''; note.replaceChildren(notice('Password cambiata. Le altre sessioni aperte con questo account sono state chiuse.')); })
          .catch(function (error) { note.replaceChildren(notice(error.code === 'wrong_password' ? 'La password attuale non è corretta.' : error.message, true)); });
      } },
        h('h2', { text: 'Cambia password' }),
        h('label', { for: 'current-password', text: 'Password attuale' }), current,
        h('label', { for: 'new-password', text: 'Nuova password (almeno 10 caratteri)' }), next,
        h('label', { for: 'new-password-again', text: 'Ripeti la nuova password' }), again,
        h('p', null, h('button', { type: 'submit', id: 'password-submit', text: 'Cambia password' })), note));
  }

  // ---------- comune: people and API keys (tenant admins) ----------
  /** `said`: what to show above the page once drawn again (the new key). */
  function peoplePage(said) {
    return Promise.all([api('GET', '/v1/users?limit=500'), api('GET', '/v1/api-keys?limit=500')]).then(function (r) {
      var users = r[0].data, keys = r[1].data;
      var note = h('div', null, said || null);
      var roleSelect = function (id, value) {
        return h('select', { id: id, 'aria-label': 'Ruolo' }, [['tenant_admin', 'amministratore'], ['editor', 'redattore'], ['viewer', 'lettura']].map(function (o) { return h('option', { value: o[0], text: o[1], selected: o[0] === value }); }));
      };
      var email = h('input', { type: 'email', id: 'member-email', required: true });
      var password = h('input', { type: 'password', id: 'member-password', autocomplete: 'new-password', required: true, minlength: '10' });
      var role = roleSelect('member-role', 'editor');
      var keyName = h('input', { id: 'key-name', required: true, maxlength: '200', placeholder: 'es. Sistema allerte della protezione civile' });
      var fail = function (error) { note.replaceChildren(notice(error.message, true)); };
      render(h('h1', { text: 'Persone e chiavi API' }), note,
        h('h2', { text: 'Persone del Comune' }),
        h('table', { id: 'members' },
          h('thead', null, h('tr', null, ['Email', 'Ruolo', 'Dal', ''].map(function (t) { return h('th', { text: t }); }))),
          h('tbody', null, users.map(function (u) {
            var select = roleSelect('role-' + u.id, u.role);
            select.addEventListener('change', function () {
              api('PATCH', '/v1/users/' + u.id, { role: select.value }).then(function () { note.replaceChildren(notice('Ruolo di ' + u.email + ' aggiornato.')); }).catch(function (error) { select.value = u.role; fail(error); });
            });
            return h('tr', { 'data-user-id': u.id }, h('td', { text: u.email }), h('td', null, select), h('td', { text: dateTime(u.createdAt) }),
              h('td', null, u.id === me.id ? h('span', { class: 'muted', text: 'tu' }) : h('button', { class: 'secondary', text: 'Rimuovi', onclick: function () {
                if (!window.confirm('Rimuovere ' + u.email + '? Non potrà più accedere.')) return;
                api('DELETE', '/v1/users/' + u.id).then(function () { return peoplePage(); }).catch(fail);
              } })));
          }))),
        h('form', { class: 'panel', id: 'member-add', onsubmit: function (event) {
          event.preventDefault();
          api('POST', '/v1/users', { email: email.value, password: password.value, role: role.value })
            .then(function () { return peoplePage(); })
            .catch(function (error) { fail(error.status === 409 ? { message: 'Questo indirizzo email è già usato da un account.' } : error); });
        } },
          h('h2', { text: 'Aggiungi una persona' }),
          h('label', { for: 'member-email', text: 'Email' }), email,
          h('label', { for: 'member-password', text: 'Password iniziale (almeno 10 caratteri; potrà cambiarla)' }), password,
          h('label', { for: 'member-role', text: 'Ruolo' }), role,
          h('p', { class: 'muted', text: 'Redattore: prepara le campagne. Amministratore: le invia, gestisce canali, persone e chiavi. Lettura: consulta.' }),
          h('p', null, h('button', { type: 'submit', id: 'member-submit', text: 'Aggiungi' }))),
        h('h2', { text: 'Chiavi API (integrazioni)' }),
        keys.length ? h('table', { id: 'api-keys' },
          h('thead', null, h('tr', null, ['Nome', 'Inizio della chiave', 'Ultimo uso', ''].map(function (t) { return h('th', { text: t }); }))),
          h('tbody', null, keys.map(function (k) {
            return h('tr', null, h('td', { text: k.name }), h('td', { text: k.prefix + '…' }), h('td', { text: dateTime(k.lastUsedAt) }),
              h('td', null, h('button', { class: 'secondary', text: 'Revoca', onclick: function () {
                if (!window.confirm('Revocare la chiave «' + k.name + '»? Le integrazioni che la usano smetteranno di funzionare.')) return;
                api('DELETE', '/v1/api-keys/' + k.id).then(function () { return peoplePage(); }).catch(fail);
              } })));
          }))) : h('p', { class: 'muted', text: 'Nessuna chiave.' }),
        h('form', { class: 'panel', id: 'key-add', onsubmit: function (event) {
          event.preventDefault();
          api('POST', '/v1/api-keys', { name: keyName.value.trim() }).then(function (created) {
            // Shown once: the API keeps only its hash.
            return peoplePage(h('div', { class: 'notice', id: 'new-key', role: 'status' }, 'Chiave «' + created.name + '» creata. Copiala ora, non sarà più mostrata: ', h('code', { text: created.key })));
          }).catch(fail);
        } },
          h('h2', { text: 'Nuova chiave API' }),
          h('label', { for: 'key-name', text: 'A cosa serve' }), keyName,
          h('p', null, h('button', { type: 'submit', id: 'key-submit', text: 'Crea chiave' }))));
    });
  }

  // ---------- operator ----------
  function operatorPage() {
    return Promise.all([api('GET', '/v1/admin/health'), api('GET', '/v1/admin/tenants?status=pending&limit=500')]).then(function (r) {
      var health = r[0], pending = r[1].data;
      var queueCanvas = h('canvas', { id: 'chart-queues', 'aria-label': 'Code' });
      var waiting = health.queues.reduce(function (s, q) { return s + q.waiting + q.delayed; }, 0);
      var failedJobs = health.queues.reduce(function (s, q) { return s + q.failed; }, 0);
      var errors = health.providerErrors.reduce(function (s, e) { return s + e.count; }, 0);
      var paused = health.channels.filter(function (c) { return c.status === 'paused'; }).length;
      render(
        h('h1', { text: 'Stato della piattaforma' }),
        h('p', { class: 'muted', text: 'Aggiornato ' + dateTime(health.generatedAt) }),
        h('div', { class: 'cards' },
          card('Inviati nell’ultimo minuto', num(health.throughput.lastMinute), num(health.throughput.last5Minutes) + ' negli ultimi 5 minuti'),
          card('In coda', num(waiting), num(failedJobs) + ' lavori falliti'),
          card('Errori WhatsApp (24 h)', num(errors)),
          card('Canali in pausa', num(paused), 'su ' + num(health.channels.length)),
          card('Campagne bloccate', num(health.stuckCampaigns.length)),
          card('Comuni da approvare', num(pending.length))),
        h('div', { class: 'panel' }, h('h2', { text: 'Code' }), h('div', { class: 'chart-box', style: 'height:220px' }, queueCanvas),
          h('button', { text: 'Apri Bull Board', onclick: function () {
            // Opened at the click (popup blockers), pointed at the board once its session cookie is set.
            var board = window.open('', '_blank');
            api('POST', '/v1/admin/queue-board/session').then(function () { if (board) board.location = '/admin/queues'; })
              .catch(function (error) {
                if (board) board.close();
                alert(error.status === 404 ? 'Bull Board non è disponibile: in questa installazione le code sono nel processo (senza Redis).' : error.message);
              });
          } })),
        (health.heldCampaigns || []).length ? h('div', { class: 'panel', id: 'held-campaigns' }, h('h2', { text: 'Campagne ferme: canale in pausa' }), h('ul', null, health.heldCampaigns.map(function (c) {
          return h('li', { text: (c.priority === 'emergency' ? 'EMERGENZA — ' : '') + c.title + ' — ' + num(c.queued) + ' in attesa' + (c.pausedReason ? ' (' + c.pausedReason + ')' : '') });
        }))) : null,
        health.stuckCampaigns.length ? h('div', { class: 'panel' }, h('h2', { text: 'Campagne bloccate' }), h('ul', null, health.stuckCampaigns.map(function (c) { return h('li', { text: c.title + ' — ' + num(c.pending) + ' in attesa dal ' + dateTime(c.lastProgressAt) }); }))) : null,
        h('div', { class: 'panel' }, h('h2', { text: 'Errori per codice (24 h)' }),
          health.providerErrors.length ? h('ul', null, health.providerErrors.map(function (e) { return h('li', { text: 'codice ' + (e.code === null ? 'sconosciuto' : e.code) + ': ' + num(e.count) }); })) : h('p', { class: 'muted', text: 'Nessun errore.' })),
        h('h2', { text: 'Canali' }),
        h('table', null,
          h('thead', null, h('tr', null, ['Comune', 'Canale', 'Stato', 'Qualità', 'Limite', 'Inviati 5 min', 'Errori 1 h'].map(function (t) { return h('th', { text: t }); }))),
          h('tbody', null, health.channels.map(function (c) {
            return h('tr', null, h('td', { text: c.tenantName }), h('td', { text: c.name + ' · ' + c.displayPhoneNumber }),
              h('td', null, badge(c.status), c.pausedReason ? h('div', { class: 'muted', text: c.pausedReason }) : null),
              h('td', null, c.qualityRating ? h('span', { class: 'badge ' + c.qualityRating, text: c.qualityRating }) : '—'), h('td', { text: c.messagingLimitTier || '—' }),
              h('td', { text: num(c.sentLast5Minutes) }), h('td', { text: num(c.failedLastHour) + (c.errorRate !== null ? ' (' + pct(c.errorRate) + ')' : '') }));
          }))));
      chart(queueCanvas, {
        type: 'bar',
        data: {
          labels: health.queues.map(function (q) { return q.name; }),
          datasets: [
            { label: 'In attesa', data: health.queues.map(function (q) { return q.waiting; }), backgroundColor: '#a8e6c1' },
            { label: 'In corso', data: health.queues.map(function (q) { return q.active; }), backgroundColor: '#25d366' },
            { label: 'Rimandati', data: health.queues.map(function (q) { return q.delayed; }), backgroundColor: '#d68910' },
            { label: 'Falliti', data: health.queues.map(function (q) { return q.failed; }), backgroundColor: '#c0392b' },
          ],
        },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
      });
    });
  }

  /** The comuni awaiting approval, then every other: approve, suspend (it stops sending at once), reinstate. */
  function pendingTenantsPage() {
    return Promise.all([api('GET', '/v1/admin/tenants?status=pending&limit=500'), api('GET', '/v1/admin/tenants?limit=500')]).then(function (r) {
      var pending = r[0].data, others = r[1].data.filter(function (t) { return t.status !== 'pending'; });
      var message = h('div');
      var fail = function (error) { message.replaceChildren(notice(error.message, true)); };
      var decide = function (t, action) { return api('POST', '/v1/admin/tenants/' + t.id + '/' + action).then(function () { route(); }).catch(fail); };
      var rows = function (list) {
        return h('tbody', null, list.map(function (t) {
          var actions = t.status === 'active'
            ? h('button', { class: 'secondary', text: 'Sospendi', onclick: function () {
              if (window.confirm('Sospendere ' + t.name + '? Non potrà più inviare: le campagne in invio si fermano subito.')) decide(t, 'suspend');
            } })
            : h('button', { text: t.status === 'pending' ? 'Approva' : 'Riattiva', onclick: function () { decide(t, 'approve'); } });
          return h('tr', { 'data-tenant-id': t.id }, h('td', { text: t.name }), h('td', { text: '/c/' + t.slug }), h('td', { text: num(t.population) }), h('td', null, badge(t.status)), h('td', { text: dateTime(t.createdAt) }), h('td', null, actions));
        }));
      };
      var head = function () { return h('thead', null, h('tr', null, ['Comune', 'Indirizzo', 'Abitanti', 'Stato', 'Registrato', ''].map(function (t) { return h('th', { text: t }); }))); };
      render(h('h1', { text: 'Comuni da approvare' }), message,
        pending.length ? h('table', { id: 'pending-tenants' }, head(), rows(pending)) : h('p', { class: 'muted', text: 'Nessun comune in attesa.' }),
        h('h2', { text: 'Tutti i comuni' }),
        others.length ? h('table', { id: 'tenants' }, head(), rows(others)) : h('p', { class: 'muted', text: 'Nessun comune attivo o sospeso.' }));
    });
  }

  route();
})();
