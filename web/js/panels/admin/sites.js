// Administration, sites (GET/POST/PATCH/DELETE /api/v1/sites, PUT/DELETE
// /api/v1/sites/{id}/plan): list, create, rename or re-address, delete
// (the server refuses while cameras are in it), upload or remove the plan;
// the chosen site's plan with its cameras, dragged to their places
// (PATCH /api/v1/cameras/{id} {plan_x, plan_y}); cameras join or leave the
// site (PATCH {site_id}).
import * as S from '../../state/sites.js';
import { api, failure, errorText, cameraPath } from '../../api.js';
import { t } from '../../i18n.js';
import { fields, showErrors, showFailure, el, button, confirmButton, options } from './form.js';
import { PlanDrawing } from '../plan.js';

const $ = (id) => document.getElementById(id);

export class AdminSites {
  // cameras(): [{id, name}] of the administration's camera list;
  // onChange(): sites or memberships changed here (the console's lists again).
  constructor({ cameras, onChange }) {
    Object.assign(this, { cameras, onChange });
    this.sites = new Map();
    this.chosen = '';
    this.error = null;
    this.session = 0;
    this.drawing = new PlanDrawing({
      box: $('plan-edit'), tray: $('plan-tray'), editable: true,
      onMove: (id, x, y) => this.place(id, x, y),
    });
    $('site-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.save(ev.target);
    });
    $('site-cancel').addEventListener('click', () => this.edit(''));
    $('plan-upload').addEventListener('click', () => this.upload());
    $('plan-remove').addEventListener('click', () => this.removePlan());
    $('site-camera-add').addEventListener('change', (ev) => {
      if (ev.target.value) this.join(ev.target.value, this.chosen);
    });
  }

  async load() {
    const mine = this.session;
    const res = await api('GET', '/api/v1/sites');
    if (mine !== this.session) return;
    if (res.status === 200) {
      this.sites = S.fromList(res.data.sites);
      this.error = null;
      $('site-table').dataset.loaded = 'true';
    } else this.error = failure(res);
    if (this.chosen && !this.sites.has(this.chosen)) this.chosen = '';
    this.render();
  }

  clear() {
    this.session += 1;
    this.sites = new Map();
    this.chosen = '';
    this.error = null;
    $('site-form').reset();
    showErrors($('site-form'), {});
    $('site-status').textContent = '';
    $('plan-status').textContent = '';
    delete $('site-table').dataset.loaded;
  }

  // A hub `site` message, or a camera added or removed: the list again.
  message() {
    if ($('site-table').dataset.loaded) this.load();
  }

  // The form edits site `id` ('' = a new one).
  edit(id) {
    const s = this.sites.get(id);
    const f = $('site-form');
    f.reset();
    showErrors(f, {});
    f.elements.id.value = s ? s.id : '';
    f.elements.name.value = s ? s.name : '';
    f.elements.address.value = s ? s.address : '';
    f.elements.latitude.value = s ? S.coordText(s.latitude) : '';
    f.elements.longitude.value = s ? S.coordText(s.longitude) : '';
    this.render();
  }

  async save(form) {
    const req = S.siteForm(fields(form));
    showErrors(form, req.errors);
    form.querySelector('[data-error="form"]').textContent = '';
    $('site-status').textContent = '';
    if (!req.ok) return;
    const id = form.elements.id.value;
    // A new site without a position leaves it out; an edit clears it (null).
    if (!id && req.body.latitude === null) {
      delete req.body.latitude;
      delete req.body.longitude;
    }
    const mine = this.session;
    const res = id
      ? await api('PATCH', `/api/v1/sites/${encodeURIComponent(id)}`, req.body)
      : await api('POST', '/api/v1/sites', req.body);
    if (mine !== this.session) return;
    if (res.status !== 200 && res.status !== 201) {
      showFailure(form, failure(res));
      return;
    }
    $('site-status').textContent = t(id ? 'site.saved' : 'site.created', { name: res.data.name });
    form.reset();
    form.elements.id.value = '';  // a hidden input's value is its default: reset() keeps it
    this.chosen = res.data.id;
    await this.load();
    this.onChange();
  }

  async remove(id, tr) {
    const mine = this.session;
    const res = await api('DELETE', `/api/v1/sites/${encodeURIComponent(id)}`);
    if (mine !== this.session) return;
    if (res.status !== 200) {
      const p = tr.querySelector('.row-error');
      p.textContent = errorText(failure(res), 'site.e.');
      p.dataset.status = String(res.status);
      return;
    }
    await this.load();
    this.onChange();
  }

  say(key, vars, error = false) {
    $('plan-status').textContent = error ? '' : t(key, vars);
    $('plan-edit-error').textContent = error ? key : '';
    $('plan-edit-error').dataset.status = error ? String(vars ?? '') : '';
  }

  async upload() {
    const file = $('plan-file').files?.[0];
    const wrong = S.planFileError(file);
    if (wrong) {
      this.say(t(wrong), 'client', true);
      return;
    }
    const mine = this.session;
    const id = this.chosen;
    this.say('site.plan_sending');
    let res;
    try {
      res = await fetch(`/api/v1/sites/${encodeURIComponent(id)}/plan`, {
        method: 'PUT', credentials: 'same-origin', body: file,
        headers: { 'Content-Type': file.type, 'X-CSRF-Token': sessionStorage.getItem('zaulek.csrf') || '' },
      });
    } catch (e) {
      res = null;
    }
    if (mine !== this.session) return;
    const data = res ? await res.json().catch(() => ({})) : {};
    if (!res || (res.status !== 200 && res.status !== 201)) {
      this.say(errorText(failure({ status: res?.status ?? 0, data }), 'site.e.'), res?.status ?? 0, true);
      return;
    }
    $('plan-file').value = '';
    this.say('site.plan_done', { w: data.plan.width, h: data.plan.height });
    await this.load();
    this.onChange();
  }

  async removePlan() {
    const mine = this.session;
    const res = await api('DELETE', `/api/v1/sites/${encodeURIComponent(this.chosen)}/plan`);
    if (mine !== this.session) return;
    if (res.status !== 200) {
      this.say(errorText(failure(res), 'site.e.'), res.status, true);
      return;
    }
    this.say('site.plan_removed');
    await this.load();
    this.onChange();
  }

  // A camera into a site ('' = out of any site).
  async join(cameraId, siteId) {
    const mine = this.session;
    const res = await api('PATCH', cameraPath(cameraId), { site_id: siteId || null });
    if (mine !== this.session) return;
    if (res.status !== 200) {
      this.say(errorText(failure(res), 'site.e.'), res.status, true);
      return;
    }
    this.say(siteId ? 'site.joined' : 'site.left', { name: res.data.name });
    await this.load();
    this.onChange();
  }

  // A marker dropped on the plan: saved, then drawn where the server says.
  async place(cameraId, x, y) {
    const site = this.sites.get(this.chosen);
    if (!site) return;
    this.sites.set(site.id, S.moveCamera(site, cameraId, x, y));
    this.paintPlan();
    const mine = this.session;
    const res = await api('PATCH', cameraPath(cameraId), { plan_x: x, plan_y: y });
    if (mine !== this.session) return;
    if (res.status !== 200) this.say(errorText(failure(res), 'site.e.'), res.status, true);
    else this.say('site.placed', { name: res.data.name });
    $('plan-edit').dataset.saved = String(Number($('plan-edit').dataset.saved || 0) + 1);
    await this.load();
  }

  paintPlan() {
    this.drawing.show(this.sites.get(this.chosen) || null);
    $('plan-tray-title').hidden = $('plan-tray').dataset.unplaced === '0';
  }

  render() {
    $('sites-error').textContent = this.error ? t('site.load_failed', { err: errorText(this.error, 'site.e.') }) : '';
    const list = S.list(this.sites);
    $('sites-count').textContent = $('site-table').dataset.loaded ? `(${list.length})` : '';
    $('sites-empty').hidden = !$('site-table').dataset.loaded || list.length > 0;
    $('site-rows').replaceChildren(...list.map((s) => {
      const tr = el('tr', { data: { siteId: s.id }, class: s.id === this.chosen ? 'chosen' : undefined });
      tr.append(
        el('td', {}, el('div', { text: s.name }), el('div', { class: 'sub mono', text: s.id })),
        el('td', {}, el('div', { text: s.address }),
          s.latitude !== null ? el('div', { class: 'sub', text: `${s.latitude}, ${s.longitude}` }) : null),
        el('td', { text: String(s.cameras.length) }),
        el('td', { text: s.plan ? `${s.plan.width}×${s.plan.height}` : t('site.no_plan') }),
        el('td', { class: 'actions' },
          button('site.open', 'open', () => { this.chosen = s.id; this.render(); }),
          button('site.edit', 'edit', () => this.edit(s.id)),
          confirmButton('adm.delete', 'delete', () => this.remove(s.id, tr)),
          el('p', { class: 'error row-error', role: 'alert' })));
      return tr;
    }));
    const editing = $('site-form').elements.id.value;
    $('site-form-title').textContent = editing ? t('site.edit_title', { name: this.sites.get(editing)?.name ?? editing }) : t('site.new');
    $('site-submit').textContent = editing ? t('site.save') : t('site.create');
    $('site-cancel').hidden = !editing;

    const site = this.sites.get(this.chosen);
    $('site-editor').hidden = !site;
    if (!site) {
      this.drawing.show(null);
      return;
    }
    $('site-editor').dataset.siteId = site.id;
    $('site-editor-title').textContent = t('site.editor', { name: site.name });
    $('plan-remove').hidden = !site.plan;
    const members = new Set(site.cameras.map((c) => c.id));
    options($('site-camera-add'), [['', t('adm.choose')],
      ...this.cameras().filter((c) => !members.has(c.id)).map((c) => [c.id, c.name === c.id ? c.id : `${c.name} (${c.id})`])], '');
    $('site-members').replaceChildren(...site.cameras.map((c) => el('li', { data: { cameraId: c.id } },
      el('span', { text: c.name === c.id ? c.id : `${c.name} (${c.id})` }), ' ',
      button('site.leave', 'leave', () => this.join(c.id, '')))));
    this.paintPlan();
  }
}
