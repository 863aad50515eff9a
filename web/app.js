// Zaułek console (foundation): log in, show who and what state, list live
// WebSocket messages. Polish first, English on request. No inline script:
// the server's Content-Security-Policy is default-src 'self'.
'use strict';

const TEXT = {
  pl: {
    'login.title': 'Logowanie', 'login.user': 'Użytkownik', 'login.password': 'Hasło',
    'login.submit': 'Zaloguj', 'login.failed': 'Błędna nazwa użytkownika lub hasło.',
    'login.limited': 'Zbyt wiele nieudanych prób. Spróbuj ponownie za {s} s.',
    'status.title': 'Stan systemu', 'status.user': 'Zalogowany jako', 'status.role': 'Rola',
    'status.health': 'Serwer', 'status.ws': 'Powiadomienia na żywo',
    'status.messages': 'Ostatnie wiadomości', 'status.logout': 'Wyloguj',
    'health.ok': 'działa', 'health.down': 'niedostępny',
    'ws.open': 'połączone', 'ws.closed': 'rozłączone, ponawiam…',
    'role.operator': 'operator', 'role.administrator': 'administrator',
    'role.investigator': 'śledczy',
  },
  en: {
    'login.title': 'Sign in', 'login.user': 'User', 'login.password': 'Password',
    'login.submit': 'Sign in', 'login.failed': 'Wrong user name or password.',
    'login.limited': 'Too many failed attempts. Try again in {s} s.',
    'status.title': 'System status', 'status.user': 'Signed in as', 'status.role': 'Role',
    'status.health': 'Server', 'status.ws': 'Live notifications',
    'status.messages': 'Recent messages', 'status.logout': 'Sign out',
    'health.ok': 'up', 'health.down': 'unreachable',
    'ws.open': 'connected', 'ws.closed': 'disconnected, retrying…',
    'role.operator': 'operator', 'role.administrator': 'administrator',
    'role.investigator': 'investigator',
  },
};

let lang = localStorage.getItem('zaulek.lang') || 'pl';
let csrf = sessionStorage.getItem('zaulek.csrf') || '';
let lastSeq = 0;
let streamSeq = 0;  // the highest seq of the current stream (from its hello on)
let socket = null;

const t = (key, vars = {}) =>
  (TEXT[lang][key] || key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
const $ = (id) => document.getElementById(id);

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  return { status: res.status, data, headers: res.headers };
}

async function showStatus() {
  const me = await api('GET', '/api/v1/auth/me');
  if (me.status !== 200) {
    $('login-view').hidden = false;
    $('status-view').hidden = true;
    return;
  }
  csrf = me.data.csrf_token;
  sessionStorage.setItem('zaulek.csrf', csrf);
  $('login-view').hidden = true;
  $('status-view').hidden = false;
  $('status-user').textContent = me.data.name;
  $('status-role').textContent = t('role.' + me.data.role);
  const health = await fetch('/healthz').then((r) => r.ok).catch(() => false);
  $('status-health').textContent = t(health ? 'health.ok' : 'health.down');
  connect();
}

function connect() {
  if (socket) return;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // batch=1: messages that piled up come as one array frame.
  socket = new WebSocket(`${proto}//${location.host}/api/v1/ws?batch=1`);
  socket.onopen = () => {
    $('status-ws').textContent = t('ws.open');
    if (lastSeq > 0) socket.send(JSON.stringify({ type: 'resume', after: lastSeq }));
  };
  socket.onmessage = (ev) => {
    const frame = JSON.parse(ev.data);
    for (const msg of Array.isArray(frame) ? frame : [frame]) {
      if (msg.type === 'hello') streamSeq = msg.last_seq;
      // The stream could not resume (another stream, e.g. after the user's
      // cameras changed, or a restart): count from this stream from now on.
      if (msg.type === 'resume_gap') lastSeq = streamSeq;
      if (typeof msg.seq === 'number') {
        lastSeq = Math.max(lastSeq, msg.seq);
        streamSeq = Math.max(streamSeq, msg.seq);
      }
      const li = document.createElement('li');
      li.textContent = JSON.stringify(msg);
      $('messages').prepend(li);
    }
    while ($('messages').children.length > 100) $('messages').lastChild.remove();
  };
  socket.onclose = () => {
    socket = null;
    $('status-ws').textContent = t('ws.closed');
    if (!$('status-view').hidden) setTimeout(connect, 2000);
  };
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const res = await api('POST', '/api/v1/auth/login',
    { username: form.get('username'), password: form.get('password') });
  ev.target.reset();
  if (res.status === 200) {
    $('login-error').textContent = '';
    await showStatus();
  } else if (res.status === 429) {
    $('login-error').textContent = t('login.limited', { s: res.headers.get('Retry-After') });
  } else {
    $('login-error').textContent = t('login.failed');
  }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/v1/auth/logout');
  csrf = '';
  sessionStorage.removeItem('zaulek.csrf');
  if (socket) socket.close();
  $('status-view').hidden = true;
  $('login-view').hidden = false;
});

for (const code of ['pl', 'en']) {
  $('lang-' + code).addEventListener('click', () => {
    lang = code;
    localStorage.setItem('zaulek.lang', lang);
    applyLanguage();
  });
}

applyLanguage();
showStatus();
