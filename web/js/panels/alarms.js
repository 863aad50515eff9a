// The alarm panel: the open alarms (listed over REST, then kept current from
// the WebSocket's alarm messages), acknowledge, take, assign to a colleague,
// resolve with a note; a fresh alarm sounds and brings its camera into view
// (onFresh). Server data is only ever put into the page as text.
import * as A from '../state/alarms.js';
import { api, failure, errorText } from '../api.js';
import { t, label, onLanguage, when } from '../i18n.js';

const $ = (id) => document.getElementById(id);
const MAX_OPEN = 1000;     // open alarms loaded over REST at most
const KEEP_RESOLVED = 20;  // alarms resolved during this session stay listed (greyed)

function element(tag, className) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  return el;
}

function lines(td, texts) {
  td.replaceChildren(...texts.filter(Boolean).map((text) => {
    const div = element('div');
    div.textContent = text;
    return div;
  }));
}

export class AlarmsPanel {
  // cameraName(id) -> name or ''; onFresh(alarm); onShow(cameraId)
  constructor({ cameraName, onFresh, onShow }) {
    Object.assign(this, { cameraName, onFresh, onShow });
    this.alarms = new Map();  // id -> alarm, as the server last said
    this.rows = new Map();    // id -> {tr, cells, ack, take, ...}
    this.loading = null;      // the REST load in flight: {buffer: [alarm messages meanwhile]}
    this.loaded = false;
    this.truncated = 0;
    this.errors = { load: null };
    this.session = 0;
    this.user = '';
    this.shows = () => true;  // the site filter: (alarm) -> shown here
    onLanguage(() => this.render());
  }

  open(user) {
    this.user = user;
  }

  message(msg) {
    const { type, seq, ...a } = msg;  // eslint-disable-line no-unused-vars
    if (this.loading) this.loading.buffer.push(a);
    const fresh = A.isFresh(this.alarms, a);
    A.upsert(this.alarms, a);
    this.render([a.id]);
    if (fresh) this.onFresh(a);
  }

  // The open alarms over REST, newest first (paged with next_before). Called
  // once the WebSocket is subscribed (hello), so that nothing falls between
  // the list and the stream, and again after a resume_gap.
  async load() {
    const mine = { buffer: [], session: this.session };
    this.loading = mine;
    const got = [];
    let before = null;
    let res;
    for (;;) {
      const q = new URLSearchParams({ state: 'open', limit: '200' });
      if (before) q.set('before', before);
      res = await api('GET', '/api/v1/alarms?' + q);
      if (res.status !== 200 || mine.session !== this.session) break;
      got.push(...res.data.alarms);
      before = res.data.next_before;
      if (!before || got.length >= MAX_OPEN) break;
    }
    if (this.loading !== mine || mine.session !== this.session) return;  // a newer load or a logout
    if (res.status !== 200) {
      this.loading = null;
      this.errors.load = failure(res);
      this.render();
      return;
    }
    this.errors.load = null;
    this.truncated = before ? got.length : 0;
    const fresh = new Map();
    for (const a of got) A.upsert(fresh, a);
    // Alarms shown as open that the list no longer has were resolved while
    // the stream was away (a reload after resume_gap): show them resolved,
    // by whom and with the note, rather than let them vanish.
    const gone = [...this.alarms.values()].filter((a) => a.state !== 'resolved' && !fresh.has(a.id));
    if (gone.length > 0 && !this.truncated) {
      const res2 = await api('GET', '/api/v1/alarms?state=resolved&limit=200');
      if (this.loading !== mine || mine.session !== this.session) return;
      if (res2.status === 200) {
        const ids = new Set(gone.map((a) => a.id));
        for (const a of res2.data.alarms) if (ids.has(a.id)) A.upsert(fresh, a);
      } else {
        this.errors.load = failure(res2);
      }
    }
    // Alarms resolved during this session stay listed; what changed while
    // the list was on its way is applied on top.
    for (const [id, a] of this.alarms) if (a.state === 'resolved' && !fresh.has(id)) fresh.set(id, a);
    for (const a of mine.buffer) A.upsert(fresh, a);
    this.loading = null;
    this.alarms = fresh;
    this.loaded = true;
    $('alarms').dataset.loaded = 'true';
    this.render();
  }

  async act(id, action, body) {
    const row = this.rows.get(id);
    if (!row || row.busy) return;
    row.busy = true;
    row.error = null;
    this.render([id]);
    const mine = this.session;
    const res = await api('POST', `/api/v1/alarms/${encodeURIComponent(id)}/${action}`, body);
    if (mine !== this.session) return;
    row.busy = false;
    if (res.status === 200) {
      A.upsert(this.alarms, res.data);
      if (action === 'resolve') row.note.value = '';
      if (action === 'assign') row.assignee.value = '';
    } else {
      row.error = failure(res);
    }
    this.render([id]);
  }

  // Keyboard 'a': the newest new alarm (of those the site filter shows).
  ackNewest() {
    const a = A.newestNew(new Map([...this.alarms].filter(([, x]) => this.shows(x))));
    if (a) this.act(a.id, 'ack');
  }

  newestCamera() {
    return [...this.alarms.values()].filter((a) => a.state !== 'resolved' && this.shows(a)).sort(A.newestFirst)[0]?.camera_id;
  }

  makeRow(id) {
    const tr = element('tr');
    tr.dataset.alarmId = id;
    const cells = {};
    for (const name of ['camera', 'kind', 'priority', 'state', 'count', 'time', 'actions']) {
      cells[name] = element('td', 'alarm-' + name);
      tr.append(cells[name]);
    }
    const ack = element('button', 'ack');
    ack.type = 'button';
    ack.addEventListener('click', () => this.act(id, 'ack'));
    // Assigns the alarm to the signed-in user (POST .../assign).
    const take = element('button', 'take');
    take.type = 'button';
    take.addEventListener('click', () => this.act(id, 'assign', { user: this.user }));
    const form = element('form', 'resolve');
    const note = element('input', 'note');
    note.name = 'note';
    note.maxLength = 4096;
    const resolve = element('button', 'resolve');
    resolve.type = 'submit';
    form.append(note, resolve);
    // The note is sent as typed: the server decides what a valid note is,
    // and its refusal is shown below.
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.act(id, 'resolve', { note: note.value });
    });
    // Assign to a colleague by user name; the server checks the name.
    const assignForm = element('form', 'assign');
    const assignee = element('input', 'assignee');
    assignee.name = 'assignee';
    assignee.maxLength = 64;
    assignee.autocomplete = 'off';
    const assign = element('button', 'assign');
    assign.type = 'submit';
    assignForm.append(assignee, assign);
    assignForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.act(id, 'assign', { user: assignee.value.trim() });
    });
    const err = element('p', 'error');
    err.setAttribute('role', 'alert');
    cells.actions.append(ack, take, form, assignForm, err);
    const show = element('button', 'show');
    show.type = 'button';
    show.textContent = '▶';
    show.addEventListener('click', () => {
      const a = this.alarms.get(id);
      if (a) this.onShow(a.camera_id);
    });
    return { tr, cells, ack, take, form, note, resolve, assignForm, assignee, assign, show, err, busy: false, error: null };
  }

  fillRow(row, a) {
    const { tr, cells } = row;
    tr.dataset.state = a.state;
    tr.dataset.count = String(a.count);
    tr.dataset.cameraId = a.camera_id;
    tr.className = `state-${a.state} priority-${a.priority}`;
    const name = this.cameraName(a.camera_id);
    lines(cells.camera, [name, a.camera_id]);
    row.show.title = t('alarms.show');
    row.show.setAttribute('aria-label', t('alarms.show'));
    cells.camera.append(row.show);
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
    row.assign.textContent = t('alarms.assign');
    row.note.placeholder = t('alarms.note');
    row.note.setAttribute('aria-label', t('alarms.note'));
    row.assignee.placeholder = t('alarms.assignee');
    row.assignee.setAttribute('aria-label', t('alarms.assignee'));
    row.ack.hidden = a.state !== 'new';
    row.take.hidden = a.state === 'resolved' || !this.user || a.assigned_to === this.user;
    row.form.hidden = row.assignForm.hidden = a.state === 'resolved';
    row.ack.disabled = row.take.disabled = row.resolve.disabled = row.assign.disabled = row.busy;
    row.err.textContent = row.error ? errorText(row.error) : '';
  }

  // Puts the alarms on the page, newest first; `changed`: only these rows
  // need their text filled again (all when absent). Rows are kept, not
  // rebuilt, so a note being typed survives other alarms' updates.
  render(changed) {
    for (const id of A.excessResolved(this.alarms, KEEP_RESOLVED)) this.alarms.delete(id);
    const all = [...this.alarms.values()].sort(A.newestFirst);
    const list = all.filter((a) => this.shows(a));
    // Open alarms the site filter hides are counted, never silently gone.
    const elsewhere = all.filter((a) => a.state !== 'resolved' && !this.shows(a)).length;
    $('alarms-elsewhere').hidden = elsewhere === 0;
    $('alarms-elsewhere').textContent = t('alarms.elsewhere', { n: elsewhere });
    $('alarms-elsewhere').dataset.count = String(elsewhere);
    const tbody = $('alarm-rows');
    const listed = new Set(list.map((a) => a.id));
    for (const [id, row] of this.rows) {
      if (!listed.has(id)) {
        row.tr.remove();
        this.rows.delete(id);
      }
    }
    list.forEach((a, i) => {
      let row = this.rows.get(a.id);
      const fresh = !row;
      if (fresh) {
        row = this.makeRow(a.id);
        this.rows.set(a.id, row);
      }
      if (fresh || !changed || changed.includes(a.id)) this.fillRow(row, a);
      if (tbody.children[i] !== row.tr) tbody.insertBefore(row.tr, tbody.children[i] || null);
    });
    const open = list.filter((a) => a.state !== 'resolved').length;
    $('alarms-count').textContent = this.loaded ? `(${open})` : '';
    $('alarms-empty').hidden = !this.loaded || open > 0;
    $('alarms').hidden = list.length === 0;
    const errors = [];
    if (this.errors.load) errors.push(t('alarms.load_failed', { err: errorText(this.errors.load) }));
    if (this.truncated) errors.push(t('alarms.truncated', { n: this.truncated }));
    lines($('alarms-error'), errors);
  }

  clear() {
    this.session += 1;
    this.alarms.clear();
    for (const row of this.rows.values()) row.tr.remove();
    this.rows.clear();
    this.loading = null;
    this.loaded = false;
    this.truncated = 0;
    this.errors.load = null;
    this.user = '';
    delete $('alarms').dataset.loaded;
    this.render();
  }
}
