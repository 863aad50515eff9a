// Search of resolved alarms with their notes, on the server:
// GET /api/v1/alarms?state=resolved&q=WORDS[&camera=ID][&before=ID], newest
// first, a page of PAGE at a time ("More" fetches the next). The server
// matches every word in the note, the camera (id or name), the kind and the
// people, case and diacritics aside; a kind's translated name is sent with
// its code as an alternative (state/alarms.js searchQuery).
import * as A from '../state/alarms.js';
import { KINDS } from '../state/timeline.js';
import { api, failure, errorText } from '../api.js';
import { t, label, onLanguage, when } from '../i18n.js';

const $ = (id) => document.getElementById(id);
const PAGE = 50;
const MAX_SHOWN = 1000;  // rows kept in the table; more: narrow the search

export class SearchPanel {
  // cameras(): the cameras Map; cameraName(id)
  constructor({ cameras, cameraName }) {
    Object.assign(this, { cameras, cameraName });
    this.result = null;  // {found, next, query} or {error}
    this.session = 0;
    $('search-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.search();
    });
    $('search-more').addEventListener('click', () => this.more());
    onLanguage(() => this.render());
  }

  query() {
    return A.searchQuery($('search-text').value, KINDS.map((k) => [k, label('kind.', k)]));
  }

  async search() {
    this.result = { found: [], next: null, q: this.query(), camera: $('search-camera').value };
    await this.page();
  }

  async more() {
    if (this.result?.next) await this.page();
  }

  async page() {
    const mine = ++this.session;
    const r = this.result;
    const q = new URLSearchParams({ state: 'resolved', limit: String(PAGE) });
    if (r.q) q.set('q', r.q);
    if (r.camera) q.set('camera', r.camera);
    if (r.next) q.set('before', r.next);
    $('search-view').dataset.busy = 'true';
    const res = await api('GET', '/api/v1/alarms?' + q);
    if (mine !== this.session) return;
    delete $('search-view').dataset.busy;
    if (res.status !== 200) {
      this.result = { error: failure(res) };
    } else {
      r.found.push(...res.data.alarms);
      r.next = r.found.length < MAX_SHOWN ? res.data.next_before : null;
    }
    $('search-view').dataset.done = String(mine);
    $('search-view').dataset.query = r.q ?? '';
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
    $('search-more').hidden = !r?.next;
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
    status.textContent = r.found.length
      ? t(r.next ? 'search.found_more' : 'search.found', { n: r.found.length }) : t('search.none');
    table.hidden = r.found.length === 0;
    $('search-rows').replaceChildren(...r.found.map((a) => {
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
