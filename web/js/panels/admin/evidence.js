// Administration, evidence holds (GET/POST/DELETE /api/v1/holds) and alarm
// rules (GET/POST /api/v1/rules, DELETE for the API's own rules): list,
// create, delete.
import * as A from '../../state/admin.js';
import { api, failure, errorText } from '../../api.js';
import { t, label, when } from '../../i18n.js';
import { fields, showErrors, showFailure, el, confirmButton, options } from './form.js';

const $ = (id) => document.getElementById(id);

class Listed {
  constructor({ path, key, table, errorId, failedKey }) {
    Object.assign(this, { path, key, table, errorId, failedKey });
    this.items = [];
    this.error = null;
    this.session = 0;
  }

  async load() {
    const mine = this.session;
    const res = await api('GET', this.path);
    if (mine !== this.session) return;
    if (res.status === 200) {
      this.items = res.data[this.key];
      this.error = null;
      $(this.table).dataset.loaded = 'true';
    } else this.error = failure(res);
    this.render();
  }

  clear() {
    this.session += 1;
    this.items = [];
    this.error = null;
  }

  async create(form, req, statusId, doneKey) {
    showErrors(form, req.errors);
    form.querySelector('[data-error="form"]').textContent = '';
    $(statusId).textContent = '';
    if (!req.ok) return;
    const mine = this.session;
    const res = await api('POST', this.path, req.body);
    if (mine !== this.session) return;
    if (res.status !== 201) {
      showFailure(form, failure(res));
      return;
    }
    $(statusId).textContent = t(doneKey, { id: res.data.id });
    this.afterCreate(form);
    await this.load();
  }

  remover(id, tr) {
    return confirmButton('adm.delete', 'delete', async () => {
      const mine = this.session;
      const res = await api('DELETE', `${this.path}/${encodeURIComponent(id)}`);
      if (mine !== this.session) return;
      if (res.status !== 200) {
        const p = tr.querySelector('.row-error');
        p.textContent = errorText(failure(res), 'adm.e.');
        p.dataset.status = String(res.status);
        return;
      }
      this.load();
    });
  }

  renderError() {
    $(this.errorId).textContent = this.error ? t(this.failedKey, { err: errorText(this.error, 'adm.e.') }) : '';
  }
}

export class AdminHolds extends Listed {
  // cameras(): [{id, name}]
  constructor({ cameras }) {
    super({ path: '/api/v1/holds', key: 'holds', table: 'hold-table', errorId: 'holds-error', failedKey: 'adm.holds.failed' });
    this.cameras = cameras;
    $('hold-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.create(ev.target, A.newHold(fields(ev.target)), 'hold-status', 'adm.hold.done');
    });
  }

  afterCreate(form) {
    form.elements.reason.value = '';
  }

  clear() {
    super.clear();
    $('hold-form').reset();
    showErrors($('hold-form'), {});
    $('hold-status').textContent = '';
  }

  render() {
    this.renderError();
    // The last hour by default: what is usually held is what just happened.
    const f = $('hold-form').elements;
    if (!f.from.value && !f.to.value) {
      const now = Date.now();
      f.from.value = A.isoToLocal(new Date(now - 3600e3));
      f.to.value = A.isoToLocal(new Date(now));
    }
    options($('hold-form').elements.camera_id, [['', t('adm.choose')],
      ...this.cameras().map((c) => [c.id, c.name === c.id ? c.id : `${c.name} (${c.id})`])]);
    $('holds-empty').hidden = !$('hold-table').dataset.loaded || this.items.length > 0;
    $('hold-rows').replaceChildren(...this.items.map((h) => {
      const tr = el('tr', { data: { holdId: h.id, cameraId: h.camera_id } });
      const cam = this.cameras().find((c) => c.id === h.camera_id);
      tr.append(el('td', {}, el('div', { text: cam?.name ?? h.camera_id }), el('div', { class: 'sub mono', text: h.camera_id })),
        el('td', { text: when(h.from) }),
        el('td', { text: when(h.to) }), el('td', { text: h.reason }),
        el('td', {}, el('div', { text: h.created_by }), el('div', { class: 'sub', text: when(h.created) })),
        el('td', { class: 'actions' }, this.remover(h.id, tr), el('p', { class: 'error row-error', role: 'alert' })));
      return tr;
    }));
  }
}

export class AdminRules extends Listed {
  constructor({ cameras }) {
    super({ path: '/api/v1/rules', key: 'rules', table: 'rule-table', errorId: 'rules-error', failedKey: 'adm.rules.failed' });
    this.cameras = cameras;
    $('rule-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.create(ev.target, A.newRule(fields(ev.target)), 'rule-status', 'adm.rule.done');
    });
  }

  afterCreate(form) {
    form.reset();
  }

  clear() {
    super.clear();
    $('rule-form').reset();
    showErrors($('rule-form'), {});
    $('rule-status').textContent = '';
  }

  checks(id, name, values, prefix) {
    const box = $(id);
    const on = new Set([...box.querySelectorAll('input:checked')].map((i) => i.value));
    box.replaceChildren(...values.map((v) => el('label', { class: 'check' },
      el('input', { type: 'checkbox', name, value: v, checked: on.has(v) }), el('span', { text: label(prefix, v) }))));
  }

  describe(r) {
    const parts = [];
    parts.push(r.cameras?.length ? r.cameras.join(', ') : t('adm.rule.all_cameras'));
    parts.push(r.kinds?.length ? r.kinds.map((k) => label('kind.', k)).join(', ') : t('adm.rule.all_kinds'));
    if (r.days?.length) parts.push(r.days.map((d) => label('day.', d)).join(' '));
    if (r.hours) parts.push(r.hours);
    if (r.record) parts.push(t('adm.rule.records'));
    if (!r.enabled) parts.push(t('adm.rule.off'));
    return parts.join(' · ');
  }

  render() {
    this.renderError();
    const form = $('rule-form');
    const chosen = new Set([...form.elements.cameras.selectedOptions].map((o) => o.value));
    form.elements.cameras.replaceChildren(...this.cameras().map((c) => el('option',
      { value: c.id, text: c.name === c.id ? c.id : `${c.name} (${c.id})`, selected: chosen.has(c.id) })));
    this.checks('rule-kinds', 'kinds', A.KINDS, 'kind.');
    this.checks('rule-days', 'days', A.DAYS, 'day.');
    $('rule-rows').replaceChildren(...this.items.map((r) => {
      const tr = el('tr', { data: { ruleId: r.id, origin: r.origin } });
      tr.append(el('td', { class: 'mono', text: r.id }), el('td', { text: this.describe(r) }),
        el('td', { text: String(r.priority) }),
        el('td', { text: label('origin.', r.origin) + (r.created_by ? ` (${r.created_by})` : '') }),
        el('td', { class: 'actions' }, A.ruleDeletable(r) ? this.remover(r.id, tr) : null,
          el('p', { class: 'error row-error', role: 'alert' })));
      return tr;
    }));
  }
}
