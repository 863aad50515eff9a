// The cameras panel: every camera the user may see with its live status
// (GET /api/v1/cameras, then the WebSocket's camera messages), filtered by
// name and state. A click puts the camera into the selected tile of the
// grid, a double-click also enlarges it.
import * as C from '../state/cameras.js';
import { api, failure, errorText } from '../api.js';
import { t, label, onLanguage, when } from '../i18n.js';

const $ = (id) => document.getElementById(id);

export class CamerasPanel {
  // onPick(id, enlarge), onChange(removedId|null, listed: the whole list came)
  constructor({ onPick, onChange }) {
    Object.assign(this, { onPick, onChange });
    this.map = new Map();
    this.loaded = false;
    this.error = null;
    this.asked = 0;
    this.session = 0;
    this.site = '';  // the site filter (state/sites.js)
    $('camera-filter').addEventListener('input', () => this.render());
    $('camera-state').addEventListener('change', () => this.render());
    onLanguage(() => this.render());
  }

  name(id) {
    const c = this.map.get(id);
    return c && c.name !== id ? c.name : '';
  }

  // The list again (at most every 10 s when onlyIfStale: an unknown camera
  // in a message).
  async load(onlyIfStale = false) {
    if (onlyIfStale && Date.now() - this.asked < 10000) return;
    this.asked = Date.now();
    const mine = this.session;
    const res = await api('GET', '/api/v1/cameras');
    if (mine !== this.session) return;
    if (res.status === 200) {
      this.error = null;
      this.map = C.fromList(res.data.cameras);
      this.loaded = true;
      $('camera-list').dataset.loaded = 'true';
    } else {
      this.error = failure(res);
    }
    this.render();
    this.onChange(null, res.status === 200);
  }

  message(msg) {
    const what = C.applyMessage(this.map, msg);
    if (what === 'added') this.load(true);
    if (what) {
      this.render();
      this.onChange(what === 'removed' ? msg.camera_id : null, false);
    }
  }

  clear() {
    this.session += 1;
    this.map = new Map();
    this.loaded = false;
    this.error = null;
    this.asked = 0;
    delete $('camera-list').dataset.loaded;
    this.render();
  }

  render() {
    const sel = $('camera-state');
    const chosen = sel.value;
    sel.replaceChildren(...['', ...C.STATES].map((s) => {
      const o = document.createElement('option');
      o.value = s;
      o.textContent = s ? label('camstate.', s) : t('cameras.all');
      return o;
    }));
    sel.value = chosen;
    sel.setAttribute('aria-label', t('cameras.state'));
    const shown = C.filter(this.map, $('camera-filter').value, sel.value, this.site);
    $('cameras-count').textContent = this.loaded ? `(${t('cameras.count', { n: shown.length, m: this.map.size })})` : '';
    $('cameras-error').textContent = this.error ? t('alarms.cameras_failed', { err: errorText(this.error) }) : '';
    const empty = $('cameras-empty');
    empty.hidden = !this.loaded || shown.length > 0;
    empty.textContent = this.map.size ? t('cameras.none') : t('cameras.empty');
    $('camera-list').replaceChildren(...shown.map((c) => {
      const li = document.createElement('li');
      li.dataset.cameraId = c.id;
      li.dataset.status = c.status;
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'camera-pick';
      b.addEventListener('click', () => this.onPick(c.id, false));
      b.addEventListener('dblclick', () => this.onPick(c.id, true));
      const name = document.createElement('span');
      name.className = 'camera-name';
      name.textContent = c.name;
      const id = document.createElement('span');
      id.className = 'camera-id';
      id.textContent = c.id;
      const st = document.createElement('span');
      st.className = 'camera-status';
      st.textContent = label('camstate.', c.status);
      st.title = [c.reason, c.since ? when(c.since) : ''].filter(Boolean).join(' · ');
      b.append(name, id, st);
      li.append(b);
      return li;
    }));
  }
}
