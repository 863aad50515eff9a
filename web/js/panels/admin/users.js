// Administration, users: the list (GET /api/v1/users), a new account
// (POST), disable / enable and the visible cameras (PATCH
// /api/v1/users/{id}), a password reset (POST .../password), the user's
// sessions (GET .../sessions) and their revocation (DELETE
// /api/v1/sessions/{id}). The passwords typed are emptied after each try.
import * as A from '../../state/admin.js';
import { api, failure, errorText } from '../../api.js';
import { t, label, when } from '../../i18n.js';
import { fields, showErrors, showFailure, el, button, confirmButton, options } from './form.js';

const $ = (id) => document.getElementById(id);
const userPath = (id, rest = '') => `/api/v1/users/${encodeURIComponent(id)}${rest}`;

export class AdminUsers {
  // cameras(): [{id, name}] for the visibility choice
  constructor({ cameras }) {
    this.cameras = cameras;
    this.users = [];
    this.me = '';
    this.error = null;
    this.open_ = { user: null, what: null };  // the row's open form: reset, cameras, sessions
    this.sessions = new Map();
    this.session = 0;
    $('user-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.create();
    });
  }

  async open(me) {
    this.me = me;
    await this.load();
  }

  clear() {
    this.session += 1;
    this.users = [];
    this.sessions.clear();
    this.open_ = { user: null, what: null };
    $('user-form').reset();
    showErrors($('user-form'), {});
    $('user-status').textContent = '';
    $('user-form').querySelector('[data-error="form"]').textContent = '';
  }

  async load() {
    const mine = this.session;
    const res = await api('GET', '/api/v1/users');
    if (mine !== this.session) return;
    if (res.status === 200) {
      this.users = res.data.users;
      this.error = null;
      $('user-table').dataset.loaded = 'true';
    } else this.error = failure(res);
    this.render();
  }

  async create() {
    const form = $('user-form');
    const req = A.newUser(fields(form));
    $('user-status').textContent = '';
    showErrors(form, req.errors);
    form.querySelector('[data-error="form"]').textContent = '';
    form.elements.password.value = '';
    form.elements.password2.value = '';
    if (!req.ok) return;
    const mine = this.session;
    const res = await api('POST', '/api/v1/users', req.body);
    if (mine !== this.session) return;
    if (res.status !== 201) {
      showFailure(form, failure(res));
      return;
    }
    form.reset();
    $('user-status').textContent = t('adm.user.created', { name: res.data.name });
    await this.load();
  }

  async act(tr, method, path, body) {
    const mine = this.session;
    const res = await api(method, path, body);
    if (mine !== this.session) return null;
    const p = tr.querySelector('.row-error');
    if (res.status !== 200) {
      p.textContent = errorText(failure(res), 'adm.e.');
      p.dataset.status = String(res.status);
      return null;
    }
    return res;
  }

  toggle(user, what) {
    const same = this.open_.user === user.id && this.open_.what === what;
    this.open_ = same ? { user: null, what: null } : { user: user.id, what };
    if (!same && what === 'sessions') this.loadSessions(user);
    this.render();
  }

  async loadSessions(user) {
    const mine = this.session;
    const res = await api('GET', userPath(user.id, '/sessions'));
    if (mine !== this.session) return;
    this.sessions.set(user.id, res.status === 200 ? res.data.sessions : { error: failure(res) });
    this.render();
  }

  render() {
    const users = [...this.users].sort((a, b) => a.name.localeCompare(b.name, 'pl'));
    $('users-count').textContent = users.length ? `(${users.length})` : '';
    $('users-error').textContent = this.error ? t('adm.users.failed', { err: errorText(this.error, 'adm.e.') }) : '';
    options($('user-form').elements.role, A.ROLES.map((r) => [r, label('role.', r)]));
    $('user-rows').replaceChildren(...users.flatMap((u) => this.rows(u, users)));
  }

  rows(u, users) {
    const can = A.userActions(this.me, u, users);
    const tr = el('tr', { data: { user: u.name, userId: u.id, disabled: String(u.disabled) } });
    const seen = u.cameras === null || u.cameras === undefined
      ? t('adm.user.all_cameras') : (u.cameras.length ? u.cameras.join(', ') : t('adm.user.no_cameras'));
    tr.append(
      el('td', {}, el('div', { text: u.name }), el('div', { class: 'sub', text: t('adm.user.since', { time: when(u.created) }) })),
      el('td', {}, can.role ? this.roleSelect(tr, u) : el('span', { text: label('role.', u.role) })),
      el('td', { class: 'user-state', text: u.disabled ? t('adm.user.disabled') : t('adm.user.active') }),
      el('td', { class: 'sub', text: seen }),
      el('td', { class: 'actions' },
        can.disable ? confirmButton('adm.user.disable', 'disable', async () => {
          if (await this.act(tr, 'PATCH', userPath(u.id), { disabled: true })) this.load();
        }) : null,
        can.enable ? button('adm.user.enable', 'enable', async () => {
          if (await this.act(tr, 'PATCH', userPath(u.id), { disabled: false })) this.load();
        }) : null,
        button('adm.user.reset', 'reset', () => this.toggle(u, 'reset')),
        can.visibility ? button('adm.user.visibility', 'visibility', () => this.toggle(u, 'cameras')) : null,
        button('adm.user.sessions', 'sessions', () => this.toggle(u, 'sessions')),
        el('p', { class: 'error row-error', role: 'alert' })));
    const out = [tr];
    if (this.open_.user === u.id) {
      const form = this.open_.what === 'reset' ? this.resetForm(u)
        : this.open_.what === 'cameras' ? this.camerasForm(u) : this.sessionList(u);
      out.push(el('tr', { class: 'editing', data: { user: u.name, form: this.open_.what } }, el('td', { colspan: 5 }, form)));
    }
    return out;
  }

  // The role, changed at once (the server closes the user's consoles so that
  // they come back with the new role).
  roleSelect(tr, u) {
    const select = el('select', { class: 'user-role', 'aria-label': t('adm.user.role') });
    options(select, A.ROLES.map((r) => [r, label('role.', r)]), u.role);
    select.addEventListener('change', async () => {
      if (await this.act(tr, 'PATCH', userPath(u.id), { role: select.value })) this.load();
      else select.value = u.role;
    });
    return select;
  }

  resetForm(u) {
    const form = el('form', { class: 'adm-form inline reset-form', novalidate: true, autocomplete: 'off' },
      el('label', {}, el('span', { text: t('adm.user.new_password', { name: u.name }) }),
        el('input', { name: 'password', type: 'password', maxlength: 1024, autocomplete: 'new-password' })),
      el('p', { class: 'error', data: { error: 'password' } }),
      el('label', {}, el('span', { text: t('adm.user.password2') }),
        el('input', { name: 'password2', type: 'password', maxlength: 1024, autocomplete: 'new-password' })),
      el('p', { class: 'error', data: { error: 'password2' } }),
      el('button', { type: 'submit', text: t('adm.user.reset') }),
      el('p', { class: 'status', role: 'status' }),
      el('p', { class: 'error', role: 'alert', data: { error: 'form' } }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const req = A.passwordReset(fields(form));
      form.elements.password.value = '';
      form.elements.password2.value = '';
      showErrors(form, req.errors);
      form.querySelector('[data-error="form"]').textContent = '';
      if (!req.ok) return;
      const mine = this.session;
      const res = await api('POST', userPath(u.id, '/password'), req.body);
      if (mine !== this.session) return;
      if (res.status !== 200) {
        showFailure(form, failure(res));
        return;
      }
      form.querySelector('.status').textContent = t('adm.user.reset_done', { n: res.data.sessions_ended });
      form.dataset.done = 'true';
    });
    return form;
  }

  camerasForm(u) {
    const all = u.cameras === null || u.cameras === undefined;
    const chosen = new Set(u.cameras || []);
    const list = el('select', { name: 'cameras', multiple: true, size: 6, disabled: all });
    list.append(...this.cameras().map((c) => el('option', { value: c.id, text: c.name === c.id ? c.id : `${c.name} (${c.id})`, selected: chosen.has(c.id) })));
    const every = el('input', { type: 'checkbox', name: 'all', checked: all });
    every.addEventListener('change', () => { list.disabled = every.checked; });
    const form = el('form', { class: 'adm-form inline', novalidate: true },
      el('label', { class: 'check' }, every, el('span', { text: t('adm.user.all_cameras') })),
      el('label', {}, el('span', { text: t('adm.user.only_these') }), list),
      el('button', { type: 'submit', text: t('adm.save') }),
      el('p', { class: 'error', role: 'alert', data: { error: 'form' } }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const req = A.visibility(u, { all: every.checked, cameras: [...list.selectedOptions].map((o) => o.value) });
      showErrors(form, req.errors);
      if (!req.ok) return;
      const mine = this.session;
      const res = await api('PATCH', userPath(u.id), req.body);
      if (mine !== this.session) return;
      if (res.status !== 200) {
        showFailure(form, failure(res));
        return;
      }
      this.open_ = { user: null, what: null };
      this.load();
    });
    return form;
  }

  sessionList(u) {
    const got = this.sessions.get(u.id);
    if (!got) return el('p', { text: t('adm.loading') });
    if (got.error) return el('p', { class: 'error', text: errorText(got.error, 'adm.e.') });
    if (!got.length) return el('p', { class: 'sessions-empty', text: t('adm.sess.none') });
    return el('ul', { class: 'sessions' }, ...got.map((s) => {
      const li = el('li', { data: { sessionId: s.id } },
        el('span', { text: t('adm.sess.line', { created: when(s.created), expires: when(s.expires), remote: s.remote || '?' }) }),
        s.current ? el('span', { class: 'sub', text: ' ' + t('adm.sess.current') }) : null, ' ');
      li.append(confirmButton('adm.sess.revoke', 'revoke', async () => {
        const res = await this.act(li, 'DELETE', `/api/v1/sessions/${encodeURIComponent(s.id)}`);
        if (res) this.loadSessions(u);
      }), el('p', { class: 'error row-error', role: 'alert' }));
      return li;
    }));
  }
}
