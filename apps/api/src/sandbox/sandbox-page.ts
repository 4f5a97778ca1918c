/** The simulated phone: one static page; it talks to the sandbox API with the comune's API key or token. */
export function renderSandboxPage(channelId: string): string {
  return `<!doctype html>
<html lang="it">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Telefono simulato – Filodiretto sandbox</title>
<style>
  :root { font-family: system-ui, sans-serif; line-height: 1.4; }
  body { margin: 0 auto; max-width: 28rem; padding: 1rem; }
  label { display: block; font-weight: 600; margin-top: .6rem; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
  #chat { border: 1px solid #999; border-radius: .6rem; padding: .6rem; min-height: 18rem; max-height: 60vh; overflow-y: auto; background: #efeae2; margin-top: 1rem; }
  .msg { margin: .3rem 0; padding: .4rem .6rem; border-radius: .5rem; max-width: 85%; white-space: pre-wrap; word-wrap: break-word; color: #111; }
  .inbound { background: #d9fdd3; margin-left: auto; }
  .outbound { background: #fff; }
  .msg button { margin: .3rem .3rem 0 0; }
  form.send { display: flex; gap: .4rem; margin-top: .6rem; }
  button { padding: .5rem .9rem; font-size: 1rem; }
</style>
</head>
<body>
<main>
  <h1>Telefono simulato</h1>
  <p>Scrivi come un cittadino al canale sandbox: prova <strong>ATTIVA ISCRIZIONE</strong> e <strong>DISATTIVA ISCRIZIONE</strong>.</p>
  <label for="key">Chiave API del Comune (X-API-Key) o token di accesso</label>
  <input id="key" type="password" autocomplete="off">
  <label for="from">Numero del telefono simulato</label>
  <input id="from" type="tel" value="+39 347 000 0001">
  <div id="chat" role="log" aria-live="polite"></div>
  <form class="send" id="send"><label for="text" class="visually-hidden" style="position:absolute;left:-9999px">Messaggio</label>
    <input id="text" autocomplete="off" placeholder="Messaggio"><button type="submit">Invia</button></form>
</main>
<script>
(function () {
  var channelId = ${JSON.stringify(channelId)};
  var key = document.getElementById('key'), from = document.getElementById('from'), chat = document.getElementById('chat');
  // Opened from the console (same tab): its session's access token, until one is typed here.
  key.value = sessionStorage.getItem('sandbox-key') || sessionStorage.getItem('filodiretto.accessToken') || '';
  key.addEventListener('change', function () { sessionStorage.setItem('sandbox-key', key.value); refresh(); });
  function headers() {
    var h = { 'content-type': 'application/json' };
    if (key.value.indexOf('.') > 0) h.authorization = 'Bearer ' + key.value; else h['x-api-key'] = key.value;
    return h;
  }
  function send(body) {
    body.from = from.value;
    return fetch('/v1/sandbox/' + channelId + '/inbound', { method: 'POST', headers: headers(), body: JSON.stringify(body) }).then(function () { setTimeout(refresh, 400); setTimeout(refresh, 1500); });
  }
  function refresh() {
    if (!key.value) return;
    fetch('/v1/sandbox/' + channelId + '/conversations/' + encodeURIComponent(from.value), { headers: headers() })
      .then(function (r) { return r.ok ? r.json() : { data: [] }; })
      .then(function (body) {
        chat.textContent = '';
        body.data.forEach(function (m) {
          var div = document.createElement('div');
          div.className = 'msg ' + m.direction;
          div.textContent = m.text || '(' + (m.payload.type || 'messaggio') + ')';
          var buttons = (m.payload.interactive && m.payload.interactive.action && m.payload.interactive.action.buttons) || [];
          buttons.forEach(function (b) {
            var button = document.createElement('button');
            button.type = 'button';
            button.textContent = b.reply.title;
            button.addEventListener('click', function () { send({ buttonReplyId: b.reply.id, buttonTitle: b.reply.title, contextMessageId: m.wamid }); });
            div.appendChild(document.createElement('br'));
            div.appendChild(button);
          });
          chat.appendChild(div);
        });
        chat.scrollTop = chat.scrollHeight;
      });
  }
  document.getElementById('send').addEventListener('submit', function (event) {
    event.preventDefault();
    var text = document.getElementById('text');
    if (!text.value.trim()) return;
    send({ text: text.value });
    text.value = '';
  });
  from.addEventListener('change', refresh);
  refresh();
  setInterval(refresh, 5000);
})();
</script>
</body>
</html>`;
}
