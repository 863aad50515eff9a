// Sites in the console: the one site selector (header) that narrows the
// live grid, the cameras list and the alarms panel (state/sites.js; the
// choice remembered per user in this browser's localStorage), and the plan
// view of the chosen site below the grid: its cameras at their places with
// their open alarms, live from the alarms panel; a click on a camera brings
// it into the grid. The list comes from GET /api/v1/sites and again after
// each hub `site` message (and camera added or removed).
import * as S from '../state/sites.js';
import { api, failure, errorText } from '../api.js';
import { t, onLanguage } from '../i18n.js';
import { PlanDrawing } from './plan.js';

const $ = (id) => document.getElementById(id);

export class SitesPanel {
  // cameras(): the cameras Map; alarms(): the alarms Map (id -> alarm);
  // onFilter(site): the filter changed; onPick(cameraId): a camera on the plan.
  constructor({ cameras, alarms, onFilter, onPick }) {
    Object.assign(this, { cameras, alarms, onFilter, onPick });
    this.sites = new Map();
    this.site = S.ALL;
    this.user = '';
    this.error = null;
    this.session = 0;
    this.timer = null;
    this.drawing = new PlanDrawing({ box: $('plan'), onPick: (id) => this.onPick(id) });
    $('site-filter').addEventListener('change', () => this.choose($('site-filter').value));
    onLanguage(() => this.render());
  }

  async open(user) {
    this.user = user;
    this.site = localStorage.getItem(S.storageKey(user)) ?? S.ALL;
    await this.load();
  }

  async load() {
    const mine = this.session;
    const res = await api('GET', '/api/v1/sites');
    if (mine !== this.session) return;
    if (res.status === 200) {
      this.sites = S.fromList(res.data.sites);
      this.error = null;
      $('site-filter').dataset.loaded = 'true';
    } else {
      this.error = failure(res);
    }
    const was = this.site;
    this.site = S.pick(this.site, this.sites);
    this.render();
    if (was !== this.site) this.onFilter(this.site);
  }

  // Many messages in a burst (a camera moved, a plan uploaded): one list.
  reloadSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 150);
  }

  choose(site) {
    this.site = S.pick(site, this.sites);
    if (this.user) localStorage.setItem(S.storageKey(this.user), this.site);
    this.render();
    this.onFilter(this.site);
  }

  // A hub `site` message; true when a camera's site changed (the caller
  // redraws what the filter narrows).
  message(msg) {
    const moved = S.applyMessage(this.cameras(), msg);
    this.reloadSoon();
    return moved;
  }

  shows(cameraId) {
    return S.inSite(this.cameras().get(cameraId), this.site);
  }

  clear() {
    this.session += 1;
    clearTimeout(this.timer);
    this.sites = new Map();
    this.site = S.ALL;
    this.user = '';
    this.error = null;
    delete $('site-filter').dataset.loaded;
    this.render();
  }

  // The plan again: alarms changed.
  alarmsChanged() {
    if (this.sites.has(this.site)) this.paintPlan();
  }

  paintPlan() {
    const site = this.sites.get(this.site);
    const ids = site ? site.cameras.map((c) => c.id) : [];
    this.drawing.show(site || null, S.openByCamera(this.alarms(), ids));
  }

  render() {
    const sel = $('site-filter');
    const opts = [[S.ALL, t('site.all')], ...S.list(this.sites).map((s) => [s.id, s.name]), [S.NONE, t('site.none')]];
    // Rebuilt only when they differ: a list open in the operator's hand is
    // not closed by a message about another site.
    const key = JSON.stringify(opts);
    if (sel.dataset.options !== key) {
      sel.dataset.options = key;
      sel.replaceChildren(...opts.map(([value, text]) => {
        const o = document.createElement('option');
        o.value = value;
        o.textContent = text;
        return o;
      }));
    }
    sel.value = this.site;
    sel.dataset.site = this.site;
    $('site-pick').hidden = !this.user || (this.sites.size === 0 && this.site === S.ALL);
    const site = this.sites.get(this.site);
    $('plan-view').hidden = !site;
    $('plan-title').textContent = site ? t('plan.title', { name: site.name }) : '';
    $('plan-address').textContent = site?.address || '';
    $('plan-error').textContent = this.error ? t('site.load_failed', { err: errorText(this.error) }) : '';
    $('plan-hint').textContent = site && site.cameras.length === 0 ? t('plan.empty') : t('plan.hint');
    this.paintPlan();
  }
}
