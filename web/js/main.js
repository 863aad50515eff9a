// Zaułek console: the wiring. Each panel in panels/ (login, status,
// alarms, search, cameras, grid, help); the REST client in api.js,
// the console WebSocket in ws.js, pure state in state/ (unit tested with
// node --test web/test/); the timeline, player and export dialog in
// panels/timeline.js, player.js, export.js; the administration view in
// panels/admin.js. Later panels (sites) slot in the same way: a class in
// panels/ with open/clear/message, its pure layout in state/, its texts in
// lang/.
// No inline script or style: the server's Content-Security-Policy is
// default-src 'self'. Server data goes into the page only as text.
import { t, setText, setLang, getLang, applyLanguage, onLanguage } from './i18n.js';
import { api, setCsrf } from './api.js';
import { ConsoleSocket } from './ws.js';
import * as sound from './sound.js';
import { actionFor } from './state/shortcuts.js';
import { AlarmsPanel } from './panels/alarms.js';
import { SearchPanel } from './panels/search.js';
import { CamerasPanel } from './panels/cameras.js';
import { GridPanel } from './panels/grid.js';
import { toggleHelp } from './panels/help.js';
import { LoginPanel } from './panels/login.js';
import { StatusPanel } from './panels/status.js';
import { AdminPanel } from './panels/admin.js';
import { views, pickView } from './state/admin.js';
import { TimelinePanel } from './panels/timeline.js';
import { PlayerPanel } from './panels/player.js';
import { ExportPanel } from './panels/export.js';
import { SitesPanel } from './panels/sites.js';

const $ = (id) => document.getElementById(id);
let user = '';
let role = '';
let view = 'live';
// A fresh alarm's camera while the grid was closed (the timeline view): put
// into view on the way back.
let pendingCamera = null;
const sortedIds = () => [...cameras.map.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
// The grid's cameras: those within the site filter.
const gridIds = () => sortedIds().filter((id) => sites.shows(id));

const cameras = new CamerasPanel({
  onPick: (id, enlarge) => {
    if (view === 'timeline') {
      timeline.open(id);
      return;
    }
    grid.placeSelected(id);
    if (enlarge) grid.toggleEnlarge(grid.grid.enlarged ?? grid.grid.selected);
  },
  onChange: (removed, listed) => {
    grid.camerasChanged(removed, listed);
    timeline.cameras(sortedIds());
    search.camerasChanged();
    alarms.render();
    if (removed !== null || listed) sites.reloadSoon();
  },
});
const grid = new GridPanel({ cameras: () => cameras.map, shows: (id) => sites.shows(id) });
const search = new SearchPanel({ cameras: () => cameras.map, cameraName: (id) => cameras.name(id) });
const alarms = new AlarmsPanel({
  cameraName: (id) => cameras.name(id),
  onFresh: (a) => {
    if (sound.beep()) $('alarm-sound').dataset.beeps = String(sound.beepsPlayed());
    $('alarm-sound').dataset.alarms = String(Number($('alarm-sound').dataset.alarms || 0) + 1);
    // The grid is closed in the timeline view: its camera waits for the way back.
    // An alarm outside the site filter is counted under the alarms, and
    // does not take a tile of this site's grid.
    if (!sites.shows(a.camera_id)) return;
    if (view === 'timeline') pendingCamera = a.camera_id;
    else grid.bringIntoView(a.camera_id);
    // Seen from another view: the Live button says there is a new alarm.
    if (view !== 'live') document.querySelector('#views button[data-view="live"]').dataset.attention = 'true';
  },
  onShow: (id) => {
    setView('live');
    grid.bringIntoView(id);
  },
});

const admin = new AdminPanel({ onCatalogue: () => cameras.load() });

// The site filter narrows the cameras list, the grid (each site its own
// grid) and the alarms; the plan of the chosen site under the grid.
const sites = new SitesPanel({
  cameras: () => cameras.map,
  alarms: () => alarms.alarms,
  onFilter: (site) => siteFilter(site),
  onPick: (id) => grid.bringIntoView(id),
});
alarms.shows = (a) => sites.shows(a.camera_id);
function siteFilter(site) {
  cameras.site = site;
  cameras.render();
  alarms.render();
  if (user && view !== 'timeline') grid.open(user, gridIds(), cameras.loaded, site);
  else grid.site = site;
}

const cameraName = (id) => cameras.name(id);
const player = new PlayerPanel({
  cameraName, onTime: (ms) => timeline.setCursor(ms), onBookmark: () => timeline.load(),
});
// Exports are for investigators and administrators (the server decides; the
// page only hides the button from operators).
const mayExport = () => role === 'investigator' || role === 'administrator';
const timeline = new TimelinePanel({
  cameraName,
  onPlay: (camera, ms) => player.play(camera, ms),
  onRange: (r) => { $('export-open').disabled = !r || !mayExport(); },
});
const exporter = new ExportPanel({ cameraName, onDone: () => timeline.load() });
$('export-open').addEventListener('click', () => {
  if (timeline.range) exporter.open(timeline.camera, timeline.range);
});

// The views in the header: the live console and the timeline for everyone,
// the administration for administrators (state/admin.js views). The chosen
// one is kept for this tab (sessionStorage). The live grid keeps playing
// behind the administration; behind the timeline its tiles are closed (no
// live sockets while footage plays back) and opened again on the way back.
function setView(wanted) {
  const was = view;
  view = pickView(role, wanted);
  $('views').hidden = views(role).length < 2;
  for (const b of document.querySelectorAll('#views button.view')) {
    b.hidden = !views(role).includes(b.dataset.view);
    b.setAttribute('aria-pressed', String(b.dataset.view === view));
  }
  $('center').hidden = view !== 'live';
  $('timeline-page').hidden = view !== 'timeline';
  $('admin-view').hidden = view !== 'admin';
  document.body.dataset.view = view;
  if (view === 'live') delete document.querySelector('#views button[data-view="live"]').dataset.attention;
  if (role) sessionStorage.setItem('zaulek.view', view);
  if (view === 'admin') admin.shown();
  if (view === 'live' && was !== 'live') sites.render();  // the plan is sized only while shown
  if (view === 'timeline' && was !== 'timeline') {
    grid.close();
    timeline.cameras(sortedIds());
    timeline.render();
  }
  if (view !== 'timeline' && was === 'timeline') {
    player.stop();
    player.render();
    if (user) {
      grid.open(user, gridIds(), cameras.loaded, sites.site);
      if (pendingCamera) grid.bringIntoView(pendingCamera);
    }
    pendingCamera = null;
  }
}
for (const b of document.querySelectorAll('#views button.view')) b.addEventListener('click', () => setView(b.dataset.view));

const login = new LoginPanel({ onSignedIn: () => showConsole() });
const status = new StatusPanel({
  onLogout: async () => {
    await api('POST', '/api/v1/auth/logout');
    logout();
  },
});

const socket = new ConsoleSocket({
  state: (s) => status.socket(s),
  // The lists from REST: on the first hello the alarms; after a resume_gap
  // (messages lost) the cameras too.
  reload: (why) => {
    alarms.load().then(() => sites.alarmsChanged());
    if (why === 'resume_gap') {
      cameras.load();
      sites.load();
      admin.resync();
    }
  },
  message: (msg) => {
    if (msg.type === 'alarm') {
      alarms.message(msg);
      sites.alarmsChanged();
      if (!cameras.map.has(msg.camera_id)) cameras.load(true);
    }
    if (msg.type === 'site' && sites.message(msg)) {
      cameras.render();
      alarms.render();
      grid.camerasChanged(null, true);
    }
    if (msg.type === 'site') admin.message(msg);
    if (msg.type === 'camera') {
      cameras.message(msg);
      admin.message(msg);
    }
    if (msg.type === 'job') exporter.message(msg);
    const li = document.createElement('li');
    li.textContent = JSON.stringify(msg);
    $('messages').prepend(li);
    while ($('messages').children.length > 100) $('messages').lastChild.remove();
  },
  // After a lost connection: back to the login form if the session is gone.
  beforeReconnect: async () => {
    const me = await api('GET', '/api/v1/auth/me');
    if (me.status === 401) {
      logout(t('login.expired'));
      return false;
    }
    return !$('console-view').hidden;
  },
});

async function showConsole() {
  const me = await api('GET', '/api/v1/auth/me');
  if (me.status !== 200) {
    login.show();
    return;
  }
  setCsrf(me.data.csrf_token);
  user = me.data.name;
  role = me.data.role;
  login.hide();
  status.open(me.data);
  admin.open(me.data);
  alarms.open(user);
  await cameras.load();
  await sites.open(user);
  cameras.site = sites.site;
  cameras.render();
  grid.open(user, gridIds(), cameras.loaded, sites.site);
  $('export-open').hidden = !mayExport();
  socket.start();
  status.health();
  setView(sessionStorage.getItem('zaulek.view') || 'live');
}

function logout(message = '') {
  setCsrf('');
  socket.stop();
  user = '';  // first: the way back from the timeline opens no grid
  setView('live');
  role = '';
  admin.clear();
  player.clear();
  timeline.clear();
  exporter.clear();
  sessionStorage.removeItem('zaulek.view');
  grid.close();
  alarms.clear();
  cameras.clear();
  sites.clear();
  cameras.site = '';
  grid.site = '';
  search.clear();
  $('messages').replaceChildren();
  login.show(message);
}

for (const code of ['pl', 'en']) $('lang-' + code).addEventListener('click', () => setLang(code));
$('help-open').addEventListener('click', () => toggleHelp(true));

function paintSound() {
  const b = $('alarm-sound');
  setText(b, sound.isMuted() ? 'sound.off' : 'sound.on');
  b.setAttribute('aria-pressed', String(sound.isMuted()));
  b.dataset.muted = String(sound.isMuted());
}
function toggleMute() {
  sound.setMuted(!sound.isMuted());
  if (!sound.isMuted()) sound.unlock();
  paintSound();
}
$('alarm-sound').addEventListener('click', toggleMute);

// The keyboard shortcuts of the view shown (state/shortcuts.js, the same
// table the help on '?' lists). Only while the console is shown; typing in a
// field is never taken as a shortcut; in the administration view the keys
// type into its forms, only those for every view act.
document.addEventListener('keydown', (ev) => {
  if ($('console-view').hidden && ev.key !== '?' && ev.key !== 'Escape') return;
  const el = ev.target;
  const editing = el instanceof HTMLElement
    && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
  const onControl = el instanceof HTMLElement && ['BUTTON', 'A', 'SUMMARY'].includes(el.tagName);
  const act = actionFor({
    key: ev.key, ctrlKey: ev.ctrlKey, altKey: ev.altKey, metaKey: ev.metaKey, editing, onControl,
  }, view);
  if (!act) return;
  sound.unlock();
  const help = $('help').open;
  if (help && act.action !== 'help' && act.action !== 'escape') return;
  // Another dialog (the export) keeps its keys, Esc (its own close) too.
  if (!help && document.querySelector('dialog[open]')) return;
  ev.preventDefault();
  switch (act.action) {
    case 'help': toggleHelp(); break;
    case 'escape':
      if (help) toggleHelp(false);
      else if (editing) el.blur();
      else if (view === 'live') grid.escape();
      else if (view === 'timeline') timeline.setRange(null, true);
      break;
    case 'layout1': grid.setLayout(1); break;
    case 'layout4': grid.setLayout(4); break;
    case 'layout9': grid.setLayout(9); break;
    case 'layout16': grid.setLayout(16); break;
    case 'move': grid.move(act.dx, act.dy); break;
    case 'enlarge': grid.toggleEnlarge(); break;
    case 'clear': grid.clearSelected(); break;
    case 'ack': alarms.ackNewest(); break;
    case 'jump': {
      const cam = alarms.newestCamera();
      if (cam) grid.bringIntoView(cam);
      break;
    }
    case 'mute': toggleMute(); break;
    case 'filter': $('camera-filter').focus(); break;
    case 'lang': setLang(getLang() === 'pl' ? 'en' : 'pl'); break;
    // The timeline view: the same as its buttons.
    case 'pause': if (player.camera) player.togglePause(); break;
    case 'speed': player.setSpeed(act.value); break;
    case 'pan': timeline.pan(act.dx * 0.25); break;
    case 'zoomIn': timeline.zoomBy(1 / 3); break;
    case 'zoomOut': timeline.zoomBy(3); break;
    case 'prevEvent': timeline.step(-1); break;
    case 'nextEvent': timeline.step(1); break;
    case 'now': $('tl-now').click(); break;
    case 'bookmark': if (!$('bookmark-add').disabled) player.bookmark(); break;
    case 'export': if (!$('export-open').hidden && !$('export-open').disabled) $('export-open').click(); break;
    case 'camera': $('timeline-camera').focus(); break;
    default: break;
  }
});

onLanguage(paintSound);
applyLanguage();
showConsole();
