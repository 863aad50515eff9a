// Zaułek console: log in, show who and what state, the open alarms (listed
// over REST, then kept current from the WebSocket's alarm messages, resumed
// by seq), acknowledge and resolve them, and the raw live messages below.
// Polish first, English on request. No inline script or style: the server's
// Content-Security-Policy is default-src 'self'. Server data is only ever put
// into the page as text (textContent), never as HTML.
'use strict';

const TEXT = {
  pl: {
    'login.title': 'Logowanie', 'login.user': 'Użytkownik', 'login.password': 'Hasło',
    'login.submit': 'Zaloguj', 'login.failed': 'Błędna nazwa użytkownika lub hasło.',
    'login.limited': 'Zbyt wiele nieudanych prób. Spróbuj ponownie za {s} s.',
    'login.expired': 'Sesja wygasła. Zaloguj się ponownie.',
    'status.title': 'Stan systemu', 'status.user': 'Zalogowany jako', 'status.role': 'Rola',
    'status.health': 'Serwer', 'status.ws': 'Powiadomienia na żywo',
    'status.messages': 'Ostatnie wiadomości', 'status.logout': 'Wyloguj',
    'health.ok': 'działa', 'health.down': 'niedostępny',
    'ws.open': 'połączone', 'ws.closed': 'rozłączone, ponawiam…',
    'role.operator': 'operator', 'role.administrator': 'administrator',
    'role.investigator': 'śledczy',
    'alarms.title': 'Otwarte alarmy', 'alarms.empty': 'Brak otwartych alarmów.',
    'alarms.camera': 'Kamera', 'alarms.kind': 'Rodzaj', 'alarms.priority': 'Priorytet',
    'alarms.state': 'Stan', 'alarms.count': 'Zdarzenia', 'alarms.time': 'Czas',
    'alarms.actions': 'Działania', 'alarms.ack': 'Potwierdź', 'alarms.resolve': 'Rozwiąż',
    'alarms.take': 'Przejmij',
    'alarms.note': 'Notatka: co zrobiono (wymagana)',
    'alarms.priority_of': '{p} z 5', 'alarms.last': 'ostatnie: {time}',
    'alarms.load_failed': 'Nie udało się pobrać listy alarmów: {err}',
    'alarms.cameras_failed': 'Nie udało się pobrać listy kamer: {err}',
    'alarms.truncated': 'Pokazano {n} najnowszych otwartych alarmów; starsze są w API.',
    'state.new': 'nowy', 'state.acknowledged': 'potwierdzony przez {user}, {time}',
    'state.resolved': 'rozwiązany przez {user}, {time}', 'state.assigned': 'przydzielony: {user}',
    'state.note': 'notatka: {note}',
    'kind.motion': 'ruch', 'kind.line_crossing': 'przekroczenie linii',
    'kind.intrusion': 'wtargnięcie', 'kind.tamper': 'sabotaż kamery',
    'kind.video_loss': 'utrata obrazu', 'kind.io_input': 'wejście alarmowe',
    'kind.health': 'stan kamery', 'kind.other': 'inne',
    'err.400': 'Serwer odrzucił żądanie', 'err.401': 'Sesja wygasła, zaloguj się ponownie',
    'err.403': 'Brak uprawnień',
    'err.404': 'Nie ma takiego alarmu', 'err.409': 'Stan alarmu już się zmienił',
    'err.429': 'Zbyt wiele żądań', 'err.other': 'Błąd serwera',
    'err.network': 'Brak połączenia z serwerem',
  },
  en: {
    'login.title': 'Sign in', 'login.user': 'User', 'login.password': 'Password',
    'login.submit': 'Sign in', 'login.failed': 'Wrong user name or password.',
    'login.limited': 'Too many failed attempts. Try again in {s} s.',
    'login.expired': 'Your session has expired. Please sign in again.',
    'status.title': 'System status', 'status.user': 'Signed in as', 'status.role': 'Role',
    'status.health': 'Server', 'status.ws': 'Live notifications',
    'status.messages': 'Recent messages', 'status.logout': 'Sign out',
    'health.ok': 'up', 'health.down': 'unreachable',
    'ws.open': 'connected', 'ws.closed': 'disconnected, retrying…',
    'role.operator': 'operator', 'role.administrator': 'administrator',
    'role.investigator': 'investigator',
    'alarms.title': 'Open alarms', 'alarms.empty': 'No open alarms.',
    'alarms.camera': 'Camera', 'alarms.kind': 'Kind', 'alarms.priority': 'Priority',
    'alarms.state': 'State', 'alarms.count': 'Events', 'alarms.time': 'Time',
    'alarms.actions': 'Actions', 'alarms.ack': 'Acknowledge', 'alarms.resolve': 'Resolve',
    'alarms.take': 'Take it',
    'alarms.note': 'Note: what was done (required)',
    'alarms.priority_of': '{p} of 5', 'alarms.last': 'latest: {time}',
    'alarms.load_failed': 'Could not load the alarms: {err}',
    'alarms.cameras_failed': 'Could not load the cameras: {err}',
    'alarms.truncated': 'Showing the {n} newest open alarms; older ones are in the API.',
    'state.new': 'new', 'state.acknowledged': 'acknowledged by {user}, {time}',
    'state.resolved': 'resolved by {user}, {time}', 'state.assigned': 'assigned to {user}',
    'state.note': 'note: {note}',
    'kind.motion': 'motion', 'kind.line_crossing': 'line crossing',
    'kind.intrusion': 'intrusion', 'kind.tamper': 'camera tampering',
    'kind.video_loss': 'video loss', 'kind.io_input': 'alarm input',
    'kind.health': 'camera health', 'kind.other': 'other',
    'err.400': 'The server refused the request', 'err.401': 'Session expired, sign in again',
    'err.403': 'Not permitted',
    'err.404': 'No such alarm', 'err.409': 'The alarm has changed meanwhile',
    'err.429': 'Too many requests', 'err.other': 'Server error',
    'err.network': 'The server cannot be reached',
  },
};

const MAX_OPEN = 1000;     // open alarms loaded over REST at most
const KEEP_RESOLVED = 20;  // alarms resolved during this session stay listed (greyed)

let lang = localStorage.getItem('zaulek.lang') || 'pl';
let csrf = sessionStorage.getItem('zaulek.csrf') || '';
let lastSeq = 0;
// While a resume is replayed: the stream's seq at hello (replayed messages
// are at or below it) and the highest live seq seen meanwhile. lastSeq moves
// past replayed messages only as they come, so that a connection lost
// during the replay resumes from the last one received.
let resumeUpto = 0;
let liveDuringResume = 0;
let resuming = false;
let streamSeq = 0;  // the highest seq of the current stream (from its hello on)
let socket = null;
let session = 0;    // counts logins: answers for an earlier one are dropped
let userName = '';  // who is signed in (Take it assigns the alarm to them)

const alarms = new Map();       // id -> alarm, as the server last said
const rows = new Map();         // id -> {tr, cells, ack, take, form, note, resolve, err, busy, error}
const cameraNames = new Map();  // camera id -> name
let camerasAsked = 0;           // when the camera names were last fetched (ms)
let loading = null;             // the REST load in flight: {buffer: [alarm messages meanwhile]}
let loaded = false;
let truncated = 0;
const panelErrors = { load: null, cameras: null };

const t = (key, vars = {}) =>
  (TEXT[lang][key] || key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
const $ = (id) => document.getElementById(id);
// The translation of a server value (kind.motion), or the value itself.
const label = (prefix, value) => TEXT[lang][prefix + value] ?? String(value);

function applyLanguage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  renderAlarms();
}

// Text set through a key is translated again when the language changes.
function setText(el, key) {
  el.dataset.i18n = key;
  el.textContent = t(key);
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { status: 0, data: {}, headers: new Headers() };  // no answer at all
  }
  const data = await res.json().catch(() => ({}));
  return { status: res.status, data, headers: res.headers };
}

// {status, message} of a failed call -> one line for the operator, with the
// server's own words (docs/design/errors.md: {"error": {code, message}}).
const failure = (res) => ({ status: res.status, message: res.data?.error?.message || '' });
function errorText(f) {
  if (f.status === 0) return t('err.network');
  const key = TEXT[lang]['err.' + f.status] ? 'err.' + f.status : 'err.other';
  return `${t(key)} (${f.status})` + (f.message ? `: ${f.message}` : '');
}

function showLogin(message = '') {
  $('login-view').hidden = false;
  $('console-view').hidden = true;
  $('login-error').textContent = message;
}

async function showStatus() {
  const me = await api('GET', '/api/v1/auth/me');
  if (me.status !== 200) {
    showLogin();
    return;
  }
  csrf = me.data.csrf_token;
  sessionStorage.setItem('zaulek.csrf', csrf);
  $('login-view').hidden = true;
  $('console-view').hidden = false;
  $('status-user').textContent = me.data.name;
  userName = me.data.name;
  setText($('status-role'), 'role.' + me.data.role);
  $('status-role').dataset.role = me.data.role;
  loadCameras();
  connect();
  const health = await fetch('/healthz').then((r) => r.ok).catch(() => false);
  setText($('status-health'), health ? 'health.ok' : 'health.down');
}

// ------------------------------------------------------------------ alarms

const RANK = { new: 0, acknowledged: 1, resolved: 2 };

// Whether `a` is at least as recent as `b` (the same alarm). An alarm only
// moves forward: new -> acknowledged -> resolved, count and assignment only
// grow within a state. So a REST answer and the WebSocket's messages can
// arrive in any order and the newest state wins.
function notOlder(a, b) {
  if (!b) return true;
  if (RANK[a.state] !== RANK[b.state]) return RANK[a.state] > RANK[b.state];
  if (a.count !== b.count) return a.count > b.count;
  return (a.assigned_at || '') >= (b.assigned_at || '');
}

function upsert(map, a) {
  if (notOlder(a, map.get(a.id))) map.set(a.id, a);
}

function alarmMessage(msg) {
  const { type, seq, ...a } = msg;  // eslint-disable-line no-unused-vars
  if (loading) loading.buffer.push(a);
  upsert(alarms, a);
  if (!cameraNames.has(a.camera_id)) loadCameras(true);
  renderAlarms([a.id]);
}

// The open alarms over REST, newest first (paged with next_before). Called
// once the WebSocket is subscribed (hello), so that nothing falls between
// the list and the stream, and again after a resume_gap.
async function loadAlarms() {
  const mine = { buffer: [], session };
  loading = mine;
  const got = [];
  let before = null;
  let res;
  for (;;) {
    const q = new URLSearchParams({ state: 'open', limit: '200' });
    if (before) q.set('before', before);
    res = await api('GET', '/api/v1/alarms?' + q);
    if (res.status !== 200 || mine.session !== session) break;
    got.push(...res.data.alarms);
    before = res.data.next_before;
    if (!before || got.length >= MAX_OPEN) break;
  }
  if (loading !== mine || mine.session !== session) return;  // a newer load or a logout
  if (res.status !== 200) {
    loading = null;
    panelErrors.load = failure(res);
    renderAlarms();
    return;
  }
  panelErrors.load = null;
  truncated = before ? got.length : 0;
  const fresh = new Map();
  for (const a of got) upsert(fresh, a);
  // Alarms shown as open that the list no longer has were resolved while
  // the stream was away (a reload after resume_gap): show them resolved,
  // by whom and with the note, rather than let them vanish.
  const gone = [...alarms.values()].filter((a) => a.state !== 'resolved' && !fresh.has(a.id));
  if (gone.length > 0 && !truncated) {
    const res2 = await api('GET', '/api/v1/alarms?state=resolved&limit=200');
    if (loading !== mine || mine.session !== session) return;
    if (res2.status === 200) {
      const ids = new Set(gone.map((a) => a.id));
      for (const a of res2.data.alarms) if (ids.has(a.id)) upsert(fresh, a);
    } else {
      panelErrors.load = failure(res2);
    }
  }
  // Alarms resolved during this session stay listed; what changed while the
  // list was on its way is applied on top.
  for (const [id, a] of alarms) if (a.state === 'resolved' && !fresh.has(id)) fresh.set(id, a);
  for (const a of mine.buffer) upsert(fresh, a);
  loading = null;
  alarms.clear();
  for (const [id, a] of fresh) alarms.set(id, a);
  loaded = true;
  $('alarms').dataset.loaded = 'true';
  renderAlarms();
}

async function loadCameras(onlyIfStale = false) {
  if (onlyIfStale && Date.now() - camerasAsked < 10000) return;
  camerasAsked = Date.now();
  const mine = session;
  const res = await api('GET', '/api/v1/cameras');
  if (mine !== session) return;
  if (res.status === 200) {
    panelErrors.cameras = null;
    for (const c of res.data.cameras) cameraNames.set(c.id, c.name);
  } else {
    panelErrors.cameras = failure(res);
  }
  renderAlarms();
}

async function act(id, action, body) {
  const row = rows.get(id);
  if (!row || row.busy) return;
  row.busy = true;
  row.error = null;
  renderAlarms([id]);
  const mine = session;
  const res = await api('POST', `/api/v1/alarms/${encodeURIComponent(id)}/${action}`, body);
  if (mine !== session) return;
  row.busy = false;
  if (res.status === 200) {
    upsert(alarms, res.data);
    if (action === 'resolve') row.note.value = '';
  } else {
    row.error = failure(res);
  }
  renderAlarms([id]);
}

function element(tag, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  return el;
}

function makeRow(id) {
  const tr = element('tr');
  tr.dataset.alarmId = id;
  const cells = {};
  for (const name of ['camera', 'kind', 'priority', 'state', 'count', 'time', 'actions']) {
    cells[name] = element('td', 'alarm-' + name);
    tr.append(cells[name]);
  }
  const ack = element('button', 'ack');
  ack.type = 'button';
  ack.addEventListener('click', () => act(id, 'ack'));
  // Assigns the alarm to the signed-in user (POST .../assign).
  const take = element('button', 'take');
  take.type = 'button';
  take.addEventListener('click', () => act(id, 'assign', { user: userName }));
  const form = element('form', 'resolve');
  const note = element('input', 'note');
  note.name = 'note';
  note.maxLength = 4096;
  const resolve = element('button', 'resolve');
  resolve.type = 'submit';
  form.append(note, resolve);
  // The note is sent as typed: the server decides what a valid note is, and
  // its refusal is shown below.
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    act(id, 'resolve', { note: note.value });
  });
  const err = element('p', 'error');
  err.setAttribute('role', 'alert');
  cells.actions.append(ack, take, form, err);
  return { tr, cells, ack, take, form, note, resolve, err, busy: false, error: null };
}

const when = (s) => (s ? new Date(s).toLocaleString(lang === 'pl' ? 'pl-PL' : 'en-GB') : '');

function lines(td, texts) {
  td.replaceChildren(...texts.filter(Boolean).map((text) => {
    const div = element('div');
    div.textContent = text;
    return div;
  }));
}

function fillRow(row, a) {
  const { tr, cells } = row;
  tr.dataset.state = a.state;
  tr.dataset.count = String(a.count);
  tr.className = `state-${a.state} priority-${a.priority}`;
  const name = cameraNames.get(a.camera_id);
  lines(cells.camera, [name && name !== a.camera_id ? name : '', a.camera_id]);
  cells.kind.textContent = label('kind.', a.kind);
  cells.kind.dataset.kind = a.kind;
  cells.priority.textContent = t('alarms.priority_of', { p: a.priority });
  const state = a.state === 'acknowledged'
    ? t('state.acknowledged', { user: a.acknowledged_by, time: when(a.acknowledged_at) })
    : a.state === 'resolved'
      ? t('state.resolved', { user: a.resolved_by, time: when(a.resolved_at) })
      : label('state.', a.state);
  lines(cells.state, [state,
    a.assigned_to && a.state !== 'resolved' ? t('state.assigned', { user: a.assigned_to }) : '',
    a.note ? t('state.note', { note: a.note }) : '']);
  cells.count.textContent = String(a.count);
  lines(cells.time, [when(a.first_time),
    a.count > 1 && a.last_time !== a.first_time ? t('alarms.last', { time: when(a.last_time) }) : '']);
  row.ack.textContent = t('alarms.ack');
  row.take.textContent = t('alarms.take');
  row.resolve.textContent = t('alarms.resolve');
  row.note.placeholder = t('alarms.note');
  row.note.setAttribute('aria-label', t('alarms.note'));
  row.ack.hidden = a.state !== 'new';
  row.take.hidden = a.state === 'resolved' || !userName || a.assigned_to === userName;
  row.form.hidden = a.state === 'resolved';
  row.ack.disabled = row.take.disabled = row.resolve.disabled = row.busy;
  row.err.textContent = row.error ? errorText(row.error) : '';
}

// Puts the alarms on the page, newest first; `changed`: only these rows
// need their text filled again (all when absent). Rows are kept, not
// rebuilt, so a note being typed survives other alarms' updates.
function renderAlarms(changed) {
  const resolved = [...alarms.values()].filter((a) => a.state === 'resolved');
  resolved.sort(newestFirst);
  for (const a of resolved.slice(KEEP_RESOLVED)) alarms.delete(a.id);
  const list = [...alarms.values()].sort(newestFirst);
  const tbody = $('alarm-rows');
  for (const [id, row] of rows) {
    if (!alarms.has(id)) {
      row.tr.remove();
      rows.delete(id);
    }
  }
  list.forEach((a, i) => {
    let row = rows.get(a.id);
    const fresh = !row;
    if (fresh) {
      row = makeRow(a.id);
      rows.set(a.id, row);
    }
    if (fresh || !changed || changed.includes(a.id)) fillRow(row, a);
    if (tbody.children[i] !== row.tr) tbody.insertBefore(row.tr, tbody.children[i] || null);
  });
  const open = list.filter((a) => a.state !== 'resolved').length;
  $('alarms-count').textContent = loaded ? `(${open})` : '';
  $('alarms-empty').hidden = !loaded || open > 0;
  $('alarms').hidden = list.length === 0;
  const errors = [];
  if (panelErrors.load) errors.push(t('alarms.load_failed', { err: errorText(panelErrors.load) }));
  if (panelErrors.cameras) {
    errors.push(t('alarms.cameras_failed', { err: errorText(panelErrors.cameras) }));
  }
  if (truncated) errors.push(t('alarms.truncated', { n: truncated }));
  lines($('alarms-error'), errors);
}

function newestFirst(a, b) {
  const x = Number(a.id);
  const y = Number(b.id);
  return Number.isNaN(x) || Number.isNaN(y) ? String(b.id).localeCompare(String(a.id)) : y - x;
}

function clearAlarms() {
  alarms.clear();
  for (const row of rows.values()) row.tr.remove();
  rows.clear();
  cameraNames.clear();
  camerasAsked = 0;
  loading = null;
  loaded = false;
  truncated = 0;
  panelErrors.load = panelErrors.cameras = null;
  delete $('alarms').dataset.loaded;
  renderAlarms();
}

// --------------------------------------------------------------- WebSocket

function setWs(state) {
  setText($('status-ws'), 'ws.' + state);
  $('status-ws').dataset.state = state;
}

function connect() {
  if (socket) return;
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  // batch=1: messages that piled up come as one array frame.
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/ws?batch=1`);
  socket = ws;
  ws.onopen = () => setWs('open');
  ws.onmessage = (ev) => {
    if (socket !== ws) return;  // a socket left behind by a logout
    const frame = JSON.parse(ev.data);
    for (const msg of Array.isArray(frame) ? frame : [frame]) {
      if (msg.type === 'hello') {
        streamSeq = msg.last_seq;
        // Subscribed: resume what was missed (docs/events.md), or on a
        // first connection take the open alarms from the REST list.
        if (lastSeq > 0) {
          resuming = true;
          resumeUpto = msg.last_seq;
          liveDuringResume = 0;
          ws.send(JSON.stringify({ type: 'resume', after: lastSeq }));
        } else {
          loadAlarms();
        }
      }
      // The stream could not resume (another stream, e.g. after the user's
      // cameras changed, or a restart): count from this stream from now on,
      // and list the alarms again.
      if (msg.type === 'resume_gap') {
        resuming = false;
        lastSeq = streamSeq;
        loadAlarms();
      }
      if (msg.type === 'resumed' && resuming) {
        resuming = false;
        lastSeq = Math.max(lastSeq, liveDuringResume);
      }
      if (typeof msg.seq === 'number') {
        if (resuming && msg.seq > resumeUpto) liveDuringResume = Math.max(liveDuringResume, msg.seq);
        else lastSeq = Math.max(lastSeq, msg.seq);
        streamSeq = Math.max(streamSeq, msg.seq);
      }
      if (msg.type === 'alarm') alarmMessage(msg);
      if (msg.type === 'camera' && !cameraNames.has(msg.camera_id)) loadCameras(true);
      const li = document.createElement('li');
      li.textContent = JSON.stringify(msg);
      $('messages').prepend(li);
    }
    while ($('messages').children.length > 100) $('messages').lastChild.remove();
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    setWs('closed');
    if (!$('console-view').hidden) setTimeout(reconnect, 2000);
  };
}

// After a lost connection: back to the login form if the session is gone,
// else connect again (and resume).
async function reconnect() {
  if ($('console-view').hidden || socket) return;
  const me = await api('GET', '/api/v1/auth/me');
  if (me.status === 401) {
    logout(t('login.expired'));
    return;
  }
  if (!$('console-view').hidden) connect();
}

function logout(message = '') {
  session += 1;
  csrf = '';
  userName = '';
  sessionStorage.removeItem('zaulek.csrf');
  const ws = socket;
  socket = null;
  if (ws) ws.close();
  // The next user's stream is not this one's: no resume across logins.
  lastSeq = 0;
  streamSeq = 0;
  resuming = false;
  clearAlarms();
  $('messages').replaceChildren();
  showLogin(message);
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
  } else if (res.status === 0) {
    $('login-error').textContent = t('err.network');
  } else {
    $('login-error').textContent = t('login.failed');
  }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/v1/auth/logout');
  logout();
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
