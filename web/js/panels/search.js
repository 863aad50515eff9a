// Search of resolved alarms with their notes: GET /api/v1/alarms has the
// filters state, camera, before and limit; the words are matched here
// (state/alarms.js matches) over at most MAX_SCANNED of the newest resolved
// alarms (of the chosen camera), and the panel says when it stopped there.
import * as A from '../state/alarms.js';
import { api, failure, errorText } from '../api.js';
import { t, label, onLanguage, when } from '../i18n.js';

const $ = (id) => document.getElementById(id);
const PAGE = 200;
const MAX_SCANNED = 2000;
const MAX_SHOWN = 200;

export class SearchPanel {
  // cameras(): the cameras Map; cameraName(id)
  constructor({ cameras, cameraName }) {
    Object.assign(this, { cameras, cameraName });
    this.result = null;  // {found, scanned, more} or {error}
    this.session = 0;
    $('search-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.search();
    });
    onLanguage(() => this.render());
  }

  async search() {
    const mine = ++this.session;
    const text = $('search-text').value;
    const camera = $('search-camera').value;
    const found = [];
    let scanned = 0;
    let before = null;
    let more = false;
    let error = null;
    $('search-view').dataset.busy = 'true';
    for (;;) {
      const q = new URLSearchParams({ state: 'resolved', limit: String(PAGE) });
      if (camera) q.set('camera', camera);
      if (before) q.set('before', before);
      const res = await api('GET', '/api/v1/alarms?' + q);
      if (mine !== this.session) return;
      if (res.status !== 200) {
        error = failure(res);
        break;
      }
      for (const a of res.data.alarms) {
        const ctx = { cameraName: this.cameraName(a.camera_id), kindLabel: label('kind.', a.kind) };
        if (A.matches(a, text, ctx)) found.push(a);
      }
      scanned += res.data.alarms.length;
      before = res.data.next_before;
      if (!before) break;
      if (scanned >= MAX_SCANNED) {
        more = true;
        break;
      }
      if (found.length >= MAX_SHOWN) break;
    }
    this.result = error ? { error } : { found, scanned, more };
    delete $('search-view').dataset.busy;
    $('search-view').dataset.done = String(mine);
    this.render();
  }

  // The camera choice follows the cameras list.
  camerasChanged() {
    const sel = $('search-camera');
    const chosen = sel.value;
    const opts = [['', t('search.any')],
      ...[...this.cameras().values()].sort((a, b) => a.name.localeCompare(b.name, 'pl')).map((c) => [c.id, c.name === c.id ? c.id : `${c.name} (${c.id})`])];
    sel.replaceChildren(...opts.map(([v, text]) => {
      const o = document.createElement('option');
      o.value = v;
      o.textContent = text;
      return o;
    }));
    sel.value = opts.some(([v]) => v === chosen) ? chosen : '';
  }

  render() {
    this.camerasChanged();
    const r = this.result;
    const status = $('search-status');
    const table = $('search-results');
    if (!r) {
      status.textContent = '';
      table.hidden = true;
      return;
    }
    if (r.error) {
      status.textContent = t('search.failed', { err: errorText(r.error) });
      table.hidden = true;
      return;
    }
    status.textContent = (r.found.length ? t('search.found', { n: r.found.length, m: r.scanned })
      : t('search.none', { m: r.scanned })) + (r.more ? ' ' + t('search.more', { m: r.scanned }) : '');
    table.hidden = r.found.length === 0;
    $('search-rows').replaceChildren(...r.found.slice(0, MAX_SHOWN).map((a) => {
      const tr = document.createElement('tr');
      tr.dataset.alarmId = a.id;
      const name = this.cameraName(a.camera_id);
      const cells = [name ? `${name} (${a.camera_id})` : a.camera_id, label('kind.', a.kind),
        when(a.first_time), `${a.resolved_by ?? ''}, ${when(a.resolved_at)}`, a.note ?? ''];
      const classes = ['camera', 'kind', 'time', 'resolved', 'note'];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        td.className = 'search-' + classes[i];
        td.textContent = text;
        tr.append(td);
      });
      return tr;
    }));
  }

  clear() {
    this.session += 1;
    this.result = null;
    $('search-text').value = '';
    this.render();
  }
}
