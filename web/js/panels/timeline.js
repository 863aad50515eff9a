// The timeline of one camera (investigators, operators): recorded ranges and
// gaps (GET /api/v1/cameras/{id}/recordings, with its bookmarks), event
// markers by kind (GET /api/v1/events, paged, bounded), evidence holds
// (GET /api/v1/holds; only administrators and investigators may read them),
// drawn on a canvas from the layout in state/timeline.js. Zoom from a
// minute to 90 days (wheel, buttons, +/-), a click plays back there, a
// drag chooses a range for an export, the player's position is the cursor.
import * as T from '../state/timeline.js';
import { api, failure, errorText, cameraPath } from '../api.js';
import { t, label, onLanguage, locale } from '../i18n.js';
import { rfc3339 } from '../state/playback.js';

const $ = (id) => document.getElementById(id);

const EVENT_PAGE = 10000;  // the API's largest page
const EVENT_PAGES = 5;     // at most this many pages a view (50,000 events); more is said
const DRAG_PX = 4;         // a pointer moved less than this is a click
const REFRESH_MS = 15000;  // a shown window that reaches the present is asked again this often

// Lanes, top to bottom (CSS pixels).
const AXIS = 18;
const REC = { y: 22, h: 26 };
const HOLD = { y: 52, h: 8 };
const BOOK = { y: 63, h: 10 };
const EV = { y: 78, h: 9 };
const HEIGHT = EV.y + T.KINDS.length * EV.h + 4;
export const KIND_COLOURS = {
  motion: '#2f6fdb', line_crossing: '#8a3ffc', intrusion: '#d12771', tamper: '#e0112b',
  video_loss: '#7a4b00', io_input: '#0f7b6c', health: '#6b7280', other: '#1d2330',
};

export class TimelinePanel {
  // cameraName(id); onPlay(camera, time); onRange(range|null): the chosen
  // export range; canHolds(): whether the role may read holds.
  constructor({ cameraName, onPlay, onRange }) {
    Object.assign(this, { cameraName, onPlay, onRange });
    this.camera = '';
    this.view = T.windowEnding(Date.now(), 3600e3);
    this.data = null;  // {ranges, bookmarks, events, holds, truncated, to}
    this.error = null;
    this.cursor = null;  // the player's wall time (ms)
    this.range = null;   // the chosen export range
    this.hover = null;
    this.seq = 0;
    this.session = 0;
    this.timer = null;
    this.canvas = $('timeline');
    this.canvas.height = HEIGHT;
    this.bind();
    this.list = [];
    this.listKey = null;
    onLanguage(() => {
      this.listKey = null;
      this.cameras(this.list);
      this.render();
    });
  }

  bind() {
    const c = this.canvas;
    const xOf = (ev) => ev.clientX - c.getBoundingClientRect().left;
    let down = null;
    c.addEventListener('pointerdown', (ev) => {
      if (!this.camera || ev.button !== 0) return;
      c.setPointerCapture(ev.pointerId);
      down = { x: xOf(ev), moved: false };
    });
    c.addEventListener('pointermove', (ev) => {
      const x = xOf(ev);
      this.hover = x;
      if (down && Math.abs(x - down.x) >= DRAG_PX) down.moved = true;
      if (down?.moved) this.setRange(T.rangeOf(this.timeAtX(down.x), this.timeAtX(x)), false);
      this.draw();
    });
    c.addEventListener('pointerleave', () => {
      this.hover = null;
      this.draw();
    });
    c.addEventListener('pointerup', (ev) => {
      if (!down) return;
      const x = xOf(ev);
      const start = down;
      down = null;
      if (start.moved) this.setRange(T.rangeOf(this.timeAtX(start.x), this.timeAtX(x)), true);
      else this.onPlay(this.camera, this.timeAtX(x));
    });
    c.addEventListener('wheel', (ev) => {
      if (!this.camera) return;
      ev.preventDefault();
      this.setView(T.zoom(this.view, ev.deltaY > 0 ? 1.25 : 0.8, this.timeAtX(xOf(ev)), this.now()));
    }, { passive: false });
    // Keys (arrows, +/-, ...) are the console's shortcuts in the timeline
    // view (state/shortcuts.js, main.js), listed on '?'.
    $('tl-zoom-in').addEventListener('click', () => this.zoomBy(1 / 3));
    $('tl-zoom-out').addEventListener('click', () => this.zoomBy(3));
    $('tl-earlier').addEventListener('click', () => this.pan(-0.5));
    $('tl-later').addEventListener('click', () => this.pan(0.5));
    $('tl-now').addEventListener('click', () => this.setView(T.windowEnding(this.now(), this.view.to - this.view.from)));
    $('tl-prev').addEventListener('click', () => this.step(-1));
    $('tl-next').addEventListener('click', () => this.step(1));
    $('tl-span').addEventListener('change', () => {
      const span = Number($('tl-span').value);
      const at = this.cursor ?? this.view.to;
      this.setView(T.centre({ from: 0, to: span }, at, this.now()));
    });
    $('timeline-camera').addEventListener('change', () => this.open($('timeline-camera').value));
    new ResizeObserver(() => this.draw()).observe(c);
    // The present grows: a window that reaches it is asked again while shown.
    setInterval(() => {
      if (this.camera && c.offsetParent !== null && this.view.to >= this.now() - REFRESH_MS) this.load();
    }, REFRESH_MS);
  }

  now() { return Date.now(); }

  width() { return this.canvas.clientWidth || 1; }

  timeAtX(x) { return T.timeAt(this.view, this.width(), Math.max(0, Math.min(this.width(), x))); }

  // After login / on logout.
  clear() {
    this.session += 1;
    this.camera = '';
    this.data = null;
    this.error = null;
    this.cursor = null;
    this.setRange(null, true);
    clearTimeout(this.timer);
    this.render();
  }

  // The camera choice, filled from the cameras panel (again only when the
  // cameras or their names changed: a status message must not close an
  // open list).
  cameras(list) {
    const key = list.map((id) => `${id}\u0000${this.cameraName(id)}`).join('\u0001');
    this.list = list;
    if (key === this.listKey) return;
    this.listKey = key;
    const sel = $('timeline-camera');
    const chosen = this.camera;
    const none = document.createElement('option');
    none.value = '';
    none.textContent = t('timeline.pick');
    sel.replaceChildren(none, ...list.map((id) => {
      const o = document.createElement('option');
      o.value = id;
      const name = this.cameraName(id);
      o.textContent = name ? `${name} (${id})` : id;
      return o;
    }));
    sel.value = list.includes(chosen) ? chosen : '';
  }

  // A camera's timeline: the last hour, unless it is the one shown.
  open(camera) {
    if (camera === this.camera) return;
    this.camera = camera;
    $('timeline-camera').value = camera;
    this.data = null;
    this.error = null;
    this.cursor = null;
    this.setRange(null, true);
    this.view = T.windowEnding(this.now(), this.view.to - this.view.from || 3600e3);
    this.load();
  }

  zoomBy(f) { this.setView(T.zoom(this.view, f, this.cursor ?? (this.view.from + this.view.to) / 2, this.now())); }

  pan(f) { this.setView(T.pan(this.view, f, this.now())); }

  setView(v) {
    this.view = v;
    this.draw();
    // Asked again once the zooming stops (wheel turns come in bursts).
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 150);
  }

  setRange(r, done) {
    this.range = r;
    if (done) this.onRange(r);
    this.draw();
  }

  // The player's position: the cursor; the view follows when it leaves it.
  setCursor(ms) {
    this.cursor = ms;
    if (ms !== null && (ms < this.view.from || ms > this.view.to) && ms <= this.now()) {
      this.setView(T.centre(this.view, ms, this.now()));
      return;
    }
    this.draw();
  }

  async load() {
    if (!this.camera) return this.render();
    const mine = ++this.seq;
    const session = this.session;
    const { from, to } = this.view;
    const q = `from=${encodeURIComponent(rfc3339(from))}&to=${encodeURIComponent(rfc3339(to))}`;
    const cam = encodeURIComponent(this.camera);
    const [rec, holds] = await Promise.all([
      api('GET', cameraPath(this.camera, `/recordings?${q}`)),
      api('GET', `/api/v1/holds?camera=${cam}`),
    ]);
    const events = [];
    let truncated = false;
    let evError = null;
    let after = '';
    for (let page = 0; page < EVENT_PAGES; page++) {
      const res = await api('GET', `/api/v1/events?camera=${cam}&${q}&limit=${EVENT_PAGE}${after ? `&after=${after}` : ''}`);
      if (res.status !== 200) {
        evError = failure(res);
        break;
      }
      events.push(...res.data.events);
      after = res.data.next_after;
      if (!after) break;
      if (page === EVENT_PAGES - 1) truncated = true;
    }
    if (mine !== this.seq || session !== this.session) return;
    if (rec.status !== 200) {
      this.error = failure(rec);
      this.data = null;
    } else {
      this.error = evError;
      const ms = (s) => Date.parse(s);
      this.data = {
        ranges: rec.data.ranges.map((r) => ({ from: ms(r.start), to: ms(r.end) })),
        bookmarks: (rec.data.bookmarks || []).map((b) => ({ ...b, ms: ms(b.time) })),
        events: events.map((e) => ({ ...e, ms: ms(e.time) })).sort((a, b) => a.ms - b.ms),
        // Operators may not read holds (403): the lane stays empty.
        holds: holds.status === 200 ? holds.data.holds : [],
        holdsShown: holds.status === 200,
        truncated, segments: rec.data.segments, to: ms(rec.data.to),
      };
    }
    this.render();
  }

  // The next or previous event from the cursor (or the view's middle): from
  // the loaded ones, else asked from the server; the player goes there.
  async step(dir) {
    if (!this.camera) return;
    const at = this.cursor ?? (this.view.from + this.view.to) / 2;
    let next = T.stepEvent((this.data?.events || []).map((e) => e.ms), at, dir);
    if (next === null) next = await this.findEvent(at, dir);
    if (next === null) {
      $('timeline-status').textContent = t(dir > 0 ? 'timeline.no_next' : 'timeline.no_prev');
      return;
    }
    if (next < this.view.from || next >= this.view.to) this.setView(T.centre(this.view, next, this.now()));
    this.onPlay(this.camera, next);
  }

  // Beyond the view: the first event after `at`, or the last before it in
  // growing windows back to 90 days (each one page).
  async findEvent(at, dir) {
    const cam = encodeURIComponent(this.camera);
    if (dir > 0) {
      const res = await api('GET', `/api/v1/events?camera=${cam}&from=${encodeURIComponent(rfc3339(at + 1))}&limit=1`);
      return res.status === 200 && res.data.events.length ? Date.parse(res.data.events[0].time) : null;
    }
    for (const back of [3600e3, 86400e3, 7 * 86400e3, T.MAX_SPAN]) {
      const res = await api('GET', `/api/v1/events?camera=${cam}&from=${encodeURIComponent(rfc3339(at - back))}`
        + `&to=${encodeURIComponent(rfc3339(at))}&limit=${EVENT_PAGE}`);
      if (res.status !== 200) return null;
      const ev = res.data.events;
      // a full page: the newest of it is not the last before `at`; a
      // smaller window is asked first, so this is rare and only approximate
      if (ev.length) return Date.parse(ev[ev.length - 1].time);
    }
    return null;
  }

  render() {
    const sel = $('tl-span');
    const span = this.view.to - this.view.from;
    sel.replaceChildren(...T.SPANS.map((s) => {
      const o = document.createElement('option');
      o.value = String(s);
      o.textContent = spanText(s);
      return o;
    }));
    sel.value = T.SPANS.includes(span) ? String(span) : '';
    const st = $('timeline-status');
    const d = this.data;
    const parts = [];
    if (!this.camera) parts.push(t('timeline.none'));
    if (this.error) parts.push(t('timeline.failed', { err: errorText(this.error, 'err.footage.') }));
    if (d) {
      const recorded = d.ranges.reduce((n, r) => n + (r.to - r.from), 0);
      parts.push(t('timeline.summary', {
        ranges: d.ranges.length, events: d.events.length, bookmarks: d.bookmarks.length,
        recorded: spanText(recorded),
      }));
      if (d.truncated) parts.push(t('timeline.truncated', { n: d.events.length }));
    }
    st.textContent = parts.join(' ');
    st.classList.toggle('error', Boolean(this.error));
    for (const id of ['tl-zoom-in', 'tl-zoom-out', 'tl-earlier', 'tl-later', 'tl-now', 'tl-prev', 'tl-next', 'tl-span']) {
      $(id).disabled = !this.camera;
    }
    this.canvas.setAttribute('aria-label', t('timeline.help'));
    $('tl-zoom-in').title = t('timeline.zoom_in');
    $('tl-zoom-out').title = t('timeline.zoom_out');
    $('tl-earlier').title = t('timeline.earlier');
    $('tl-later').title = t('timeline.later');
    this.legend();
    this.draw();
  }

  legend() {
    const items = [['rec', t('timeline.recorded'), '#3aa55d'], ['gap', t('timeline.gap'), '#f3c4ca'],
      ['hold', t('timeline.hold'), '#7b3fb5'], ['bookmark', t('timeline.bookmark'), '#1c8fd6'],
      ...T.KINDS.map((k) => [k, label('kind.', k), KIND_COLOURS[k]])];
    $('timeline-legend').replaceChildren(...items.map(([key, text, colour]) => {
      const li = document.createElement('li');
      li.dataset.key = key;
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = colour;  // CSSOM, allowed by the CSP (no inline style attribute)
      li.append(sw, document.createTextNode(text));
      return li;
    }));
  }

  draw() {
    const c = this.canvas;
    const w = this.width();
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(HEIGHT * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(HEIGHT * dpr);
    }
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, HEIGHT);
    g.fillStyle = '#fff';
    g.fillRect(0, 0, w, HEIGHT);
    const v = this.view;
    c.dataset.from = String(v.from);
    c.dataset.to = String(v.to);
    // axis
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'top';
    const offset = -new Date((v.from + v.to) / 2).getTimezoneOffset() * 60e3;
    for (const k of T.ticks(v, w, 90, offset)) {
      g.fillStyle = '#d5d8de';
      g.fillRect(Math.round(k.x), AXIS - 4, 1, HEIGHT - AXIS + 4);
      const label = tickText(k.time, k.step);
      g.fillStyle = '#1d2330';
      if (Math.round(k.x) + 3 + g.measureText(label).width <= w) g.fillText(label, Math.round(k.x) + 3, 2);
    }
    const d = this.data;
    c.dataset.bars = '0';
    c.dataset.marks = '0';
    if (d) {
      const bars = T.layoutRanges(d.ranges, v, w);
      const gaps = T.layoutGaps(bars, v, w, Math.min(d.to, this.now()));
      g.fillStyle = '#f3c4ca';
      for (const b of gaps) g.fillRect(b.x0, REC.y, b.x1 - b.x0, REC.h);
      g.fillStyle = '#3aa55d';
      for (const b of bars) g.fillRect(b.x0, REC.y, b.x1 - b.x0, REC.h);
      g.fillStyle = '#7b3fb5';
      for (const s of T.layoutSpans(d.holds, v, w)) g.fillRect(s.x0, HOLD.y, s.x1 - s.x0, HOLD.h);
      const books = T.layoutMarks(d.bookmarks, v, w, () => 'bookmark', (b) => b.ms);
      g.fillStyle = '#1c8fd6';
      for (const m of books) {
        g.beginPath();
        g.moveTo(m.x - 4, BOOK.y);
        g.lineTo(m.x + 4, BOOK.y);
        g.lineTo(m.x, BOOK.y + BOOK.h);
        g.fill();
      }
      const marks = T.layoutMarks(d.events, v, w, (e) => e.kind, (e) => e.ms);
      for (const m of marks) {
        const lane = Math.max(0, T.KINDS.indexOf(m.kind));
        g.fillStyle = KIND_COLOURS[m.kind] || KIND_COLOURS.other;
        g.fillRect(m.col, EV.y + lane * EV.h, m.count > 1 ? 2 : 1, EV.h - 2);
      }
      c.dataset.bars = String(bars.length);
      c.dataset.gaps = String(gaps.length);
      c.dataset.marks = String(marks.length);
      c.dataset.bookmarks = String(books.length);
      this.marks = { marks, books };
    }
    if (this.range) {
      const [s] = T.layoutSpans([this.range], v, w);
      if (s) {
        g.fillStyle = 'rgba(224, 140, 0, 0.25)';
        g.fillRect(s.x0, AXIS, s.x1 - s.x0, HEIGHT - AXIS);
        g.fillStyle = '#c77700';
        g.fillRect(s.x0, AXIS, 1, HEIGHT - AXIS);
        g.fillRect(s.x1 - 1, AXIS, 1, HEIGHT - AXIS);
      }
    }
    if (this.cursor !== null && this.cursor >= v.from && this.cursor < v.to) {
      const x = Math.round(T.xAt(v, w, this.cursor));
      g.fillStyle = '#e0112b';
      g.fillRect(x - 1, AXIS - 4, 2, HEIGHT - AXIS + 4);
    }
    if (this.hover !== null) {
      g.fillStyle = 'rgba(29, 35, 48, 0.5)';
      g.fillRect(Math.round(this.hover), AXIS, 1, HEIGHT - AXIS);
      c.title = this.tooltip(this.hover);
    }
  }

  // The time under the pointer and what is marked there (a pixel either side).
  tooltip(x) {
    const lines = [new Date(this.timeAtX(x)).toLocaleString(locale())];
    const near = (m) => Math.abs(m.x - x) <= 2;
    for (const m of this.marks?.marks.filter(near) || []) {
      lines.push(`${label('kind.', m.kind)} ×${m.count}: ${m.items.map((e) => new Date(e.ms).toLocaleTimeString(locale())).join(', ')}`);
    }
    for (const m of this.marks?.books.filter(near) || []) {
      for (const b of m.items) lines.push(`${t('timeline.bookmark')}: ${b.note || '—'} (${b.created_by})`);
    }
    return lines.join('\n');
  }
}

// "1 h", "90 d", "10 min" in the console's language.
export function spanText(msSpan) {
  const s = msSpan / 1000;
  if (s < 60) return t('span.s', { n: Math.round(s) });
  if (s < 3600) return t('span.min', { n: Math.round(s / 60) });
  if (s < 2 * 86400) return t('span.h', { n: Math.round((s / 3600) * 10) / 10 });
  return t('span.d', { n: Math.round(s / 86400) });
}

function tickText(time, step) {
  const d = new Date(time);
  const opts = step >= 86400e3 ? { day: 'numeric', month: 'short' }
    : step >= 60e3 ? { hour: '2-digit', minute: '2-digit' } : { hour: '2-digit', minute: '2-digit', second: '2-digit' };
  const text = d.toLocaleString(locale(), opts);
  // midnight within a day's ticks: the date too
  if (step < 86400e3 && d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0) {
    return d.toLocaleDateString(locale(), { day: 'numeric', month: 'short' });
  }
  return text;
}
