// Administration, cameras: the discovery scan (POST /api/v1/discovery/scan,
// with a progress bar that follows the scan's wait) beside the devices heard
// before (GET /api/v1/discovery/devices); add a camera from a result or by
// address (POST /api/v1/cameras: the password goes to the server and the
// field is emptied whatever the answer); edit (PATCH), remove (DELETE), and
// confirm a move the server only proposes (a camera's `sighting`:
// POST /api/v1/cameras/{id}/move); choose the profiles of a camera's main
// and sub stream (GET .../profiles asks the camera, PUT .../streams).
import * as A from '../../state/admin.js';
import { api, failure, errorText, cameraPath } from '../../api.js';
import { t, label, when } from '../../i18n.js';
import { fields, showErrors, showFailure, el, button, confirmButton, options } from './form.js';

const $ = (id) => document.getElementById(id);

export class AdminCameras {
  // onCatalogue(): the catalogue changed here (the console's lists follow)
  constructor({ onCatalogue }) {
    this.onCatalogue = onCatalogue;
    this.cameras = [];
    this.devices = [];
    this.scan = null;  // {multicast, warnings, count} of the last scan
    this.error = null;
    this.editing = null;
    this.streams = null;  // {id, profiles, main, sub, error, saved} of the open stream choice
    this.session = 0;
    this.reloadTimer = null;
    $('scan-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.runScan();
    });
    $('camera-add-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.add();
    });
  }

  async open() {
    await Promise.all([this.load(), this.loadDevices()]);
  }

  clear() {
    this.session += 1;
    clearTimeout(this.reloadTimer);
    this.cameras = [];
    this.devices = [];
    this.scan = null;
    this.editing = null;
    this.streams = null;
    $('scan-form').reset();
    $('camera-add-form').reset();
    for (const f of [$('scan-form'), $('camera-add-form')]) showErrors(f, {});
    $('scan-status').textContent = '';
    $('camera-add-status').textContent = '';
    for (const p of document.querySelectorAll('#adm-cameras [data-error="form"]')) p.textContent = '';
  }

  async load() {
    const mine = this.session;
    const res = await api('GET', '/api/v1/cameras');
    if (mine !== this.session) return;
    if (res.status === 200) {
      this.cameras = res.data.cameras;
      this.error = null;
      $('adm-camera-table').dataset.loaded = 'true';
    } else this.error = failure(res);
    this.render();
  }

  async loadDevices() {
    const mine = this.session;
    const res = await api('GET', '/api/v1/discovery/devices');
    if (mine !== this.session || res.status !== 200) return;
    this.devices = A.mergeDevices(res.data.devices, this.devices);
    this.render();
  }

  // A camera message: a sighting, an added, moved or removed camera. The
  // list again, at most once a second.
  message(msg) {
    const known = this.cameras.find((c) => c.id === msg.camera_id);
    const sightingChanged = JSON.stringify(msg.sighting ?? null) !== JSON.stringify(known?.sighting ?? null);
    if (known && !sightingChanged && msg.previous !== 'added' && msg.status !== 'removed') {
      Object.assign(known, { status: msg.status, status_reason: msg.reason || '' });
      this.render();
      return;
    }
    if (this.reloadTimer) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = null;
      this.load();
    }, 1000);
  }

  async runScan() {
    const form = $('scan-form');
    const req = A.scanRequest(fields(form));
    showErrors(form, req.errors);
    form.querySelector('[data-error="form"]').textContent = '';
    if (!req.ok) return;
    const mine = this.session;
    const timeout = req.body.timeout_ms ?? 2000;
    const bar = $('scan-progress');
    const started = Date.now();
    bar.hidden = false;
    bar.value = 0;
    form.dataset.busy = 'true';
    form.querySelector('button[type=submit]').disabled = true;
    $('scan-status').textContent = t('adm.scan.running');
    const tick = setInterval(() => {
      bar.value = A.scanProgress(started, Date.now(), timeout);
      $('scan-status').textContent = t('adm.scan.running_s', {
        s: ((Date.now() - started) / 1000).toFixed(1), of: (timeout / 1000).toFixed(1),
      });
    }, 100);
    const res = await api('POST', '/api/v1/discovery/scan', req.body);
    clearInterval(tick);
    if (mine !== this.session) return;
    form.querySelector('button[type=submit]').disabled = false;
    delete form.dataset.busy;
    bar.hidden = true;
    if (res.status !== 200) {
      $('scan-status').textContent = '';
      showFailure(form, failure(res));
      return;
    }
    this.devices = A.mergeDevices(this.devices, res.data.devices);
    this.scan = { count: res.data.devices.length, multicast: res.data.multicast, warnings: res.data.warnings || [] };
    form.dataset.scans = String(Number(form.dataset.scans || 0) + 1);
    this.render();
  }

  // A result's "Add": its address, name and endpoint into the add form.
  fillFrom(row) {
    const form = $('camera-add-form');
    const f = A.fromDevice(row);
    form.elements.name.value = f.name;
    form.elements.address.value = f.address;
    form.elements.endpoint.value = f.endpoint;
    form.elements.username.focus();
  }

  async add() {
    const form = $('camera-add-form');
    const req = A.newCamera(fields(form));
    showErrors(form, req.errors);
    form.querySelector('[data-error="form"]').textContent = '';
    if (!req.ok) return;
    const mine = this.session;
    form.dataset.busy = 'true';
    $('camera-add-status').textContent = t('adm.add.running');
    const res = await api('POST', '/api/v1/cameras', req.body);
    form.elements.password.value = '';  // never kept in the page
    if (mine !== this.session) return;
    delete form.dataset.busy;
    if (res.status !== 201) {
      $('camera-add-status').textContent = '';
      showFailure(form, failure(res));
      return;
    }
    form.reset();
    $('camera-add-status').textContent = t('adm.add.done', { id: res.data.id, name: res.data.name });
    form.dataset.added = res.data.id;
    await this.load();
    this.devices = this.devices.map((d) => (d.endpoint === req.body.endpoint ? { ...d, known: true, camera_id: res.data.id } : d));
    this.render();
    this.onCatalogue();
  }

  async change(cam, method, path, body, okStatus, row) {
    const mine = this.session;
    const res = await api(method, path, body);
    if (mine !== this.session) return false;
    if (res.status !== okStatus) {
      const p = row.querySelector('.row-error');
      p.textContent = errorText(failure(res), 'adm.e.');
      p.dataset.status = String(res.status);
      return false;
    }
    await this.load();
    this.onCatalogue();
    return true;
  }

  render() {
    this.renderDevices();
    this.renderCameras();
  }

  renderDevices() {
    const rows = A.deviceRows(this.devices, this.cameras);
    $('devices').hidden = rows.length === 0;
    if (this.scan) {
      $('scan-status').textContent = t('adm.scan.done', { n: this.scan.count })
        + (this.scan.multicast ? ' ' + t('adm.scan.multicast') : '')
        + this.scan.warnings.map((w) => ` ${w}`).join(';');
    }
    $('device-rows').replaceChildren(...rows.map((r) => el('tr', { data: { endpoint: r.endpoint, known: String(r.known) } },
      el('td', {}, el('div', { text: r.name || t('adm.dev.unnamed') }), el('div', { class: 'sub', text: r.hardware })),
      el('td', { class: 'mono', text: r.url }),
      el('td', { text: r.known ? (r.camera_id ? t('adm.dev.known_as', { id: r.camera_id }) : t('adm.dev.known')) : t('adm.dev.new') }),
      el('td', {}, r.known || !r.url ? null : button('adm.dev.add', 'add', () => this.fillFrom(r))))));
  }

  renderCameras() {
    const cams = [...this.cameras].sort((a, b) => a.name.localeCompare(b.name, 'pl') || a.id.localeCompare(b.id));
    $('adm-cameras-count').textContent = this.cameras.length ? `(${this.cameras.length})` : '';
    $('adm-cameras-error').textContent = this.error ? t('alarms.cameras_failed', { err: errorText(this.error, 'adm.e.') }) : '';
    $('adm-camera-rows').replaceChildren(...cams.flatMap((c) => this.cameraRows(c)));
  }

  cameraRows(c) {
    const tr = el('tr', { data: { cameraId: c.id, status: c.status } });
    const streams = (c.streams || []).map((s) => `${s.kind}: ${s.codec} ${s.width}×${s.height}`).join(', ');
    const actions = el('td', { class: 'actions' },
      button('adm.edit', 'edit', () => {
        this.editing = this.editing === c.id ? null : c.id;
        this.renderCameras();
      }),
      button('adm.cam.choose_streams', 'streams', () => this.openStreams(c)),
      confirmButton('adm.cam.remove', 'remove', () => this.change(c, 'DELETE', cameraPath(c.id), undefined, 200, tr)),
      el('p', { class: 'error row-error', role: 'alert' }));
    tr.append(
      el('td', {}, el('div', { text: c.name }), el('div', { class: 'sub mono', text: c.id })),
      el('td', { class: 'mono', text: c.onvif_url }),
      el('td', { title: [c.status_reason, c.status_since ? when(c.status_since) : ''].filter(Boolean).join(' · ') },
        el('span', { class: 'camera-status', text: label('camstate.', c.status) })),
      el('td', { text: t('adm.cam.mode_days', { mode: label('mode.', c.recording?.mode), n: c.recording?.retention_days }) }),
      el('td', { class: 'sub', text: streams || '—' }),
      actions);
    const out = [tr];
    if (c.sighting?.onvif_url) {
      const s = c.sighting;
      const row = el('tr', { class: 'sighting', data: { cameraId: c.id } });
      row.append(el('td', { colspan: 6 },
        el('span', { text: t('adm.cam.sighted', { url: s.onvif_url, via: label('via.', s.via), time: when(s.last_seen) }) }),
        ' ',
        confirmButton('adm.cam.move', 'move', () => this.change(c, 'POST', cameraPath(c.id, '/move'),
          { onvif_url: s.onvif_url }, 200, row)),
        el('p', { class: 'error row-error', role: 'alert' })));
      out.push(row);
    }
    if (this.editing === c.id) out.push(this.editRow(c));
    if (this.streams?.id === c.id) out.push(this.streamsRow(c));
    return out;
  }

  // The stream choice: the camera is asked for its profiles (an ONVIF round
  // trip, seconds at worst); a second click closes it.
  async openStreams(c) {
    if (this.streams?.id === c.id) {
      this.streams = null;
      this.renderCameras();
      return;
    }
    const st = { id: c.id, profiles: null, main: '', sub: '', error: null, saved: false };
    this.streams = st;
    this.renderCameras();
    const mine = this.session;
    const res = await api('GET', cameraPath(c.id, '/profiles'));
    if (mine !== this.session || this.streams !== st) return;
    if (res.status === 200) {
      st.profiles = res.data.profiles;
      st.main = res.data.main_profile;
      st.sub = res.data.sub_profile;
    } else {
      st.error = failure(res);
    }
    this.renderCameras();
  }

  streamsRow(c) {
    const st = this.streams;
    const cell = el('td', { colspan: 6 });
    const row = el('tr', { class: 'streams', data: { cameraId: c.id, state: st.profiles ? 'ready' : st.error ? 'error' : 'loading' } }, cell);
    if (!st.profiles) {
      cell.append(st.error
        ? el('p', { class: 'error', role: 'alert', text: t('adm.cam.profiles_failed', { err: errorText(st.error, 'adm.e.') }) })
        : el('p', { class: 'hint', text: t('adm.cam.profiles_loading') }));
      return row;
    }
    const form = el('form', { class: 'adm-form inline', novalidate: true },
      el('label', {}, el('span', { text: t('adm.cam.main_profile') }), el('select', { name: 'main_profile' })),
      el('p', { class: 'error', data: { error: 'main_profile' } }),
      el('label', {}, el('span', { text: t('adm.cam.sub_profile') }), el('select', { name: 'sub_profile' })),
      el('p', { class: 'error', data: { error: 'sub_profile' } }),
      el('button', { type: 'submit', text: t('adm.save') }),
      el('p', { class: 'hint', role: 'status', text: st.saved ? t('adm.cam.streams_saved') : '' }),
      el('p', { class: 'error', role: 'alert', data: { error: 'form' } }));
    const list = st.profiles.map((p) => [p.token, A.profileLabel(p)]);
    options(form.elements.main_profile, list, st.main);
    options(form.elements.sub_profile, list, st.sub);
    // A camera's status message redraws the table: the choice being made stays.
    form.addEventListener('change', () => {
      st.main = form.elements.main_profile.value;
      st.sub = form.elements.sub_profile.value;
      st.saved = false;
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const req = A.streamsChoice(fields(form), st.profiles);
      showErrors(form, req.errors);
      if (!req.ok) return;
      const mine = this.session;
      const res = await api('PUT', cameraPath(c.id, '/streams'), req.body);
      if (mine !== this.session || this.streams !== st) return;
      if (res.status !== 200) {
        showFailure(form, failure(res));
        return;
      }
      st.saved = true;
      await this.load();
      this.onCatalogue();
    });
    cell.append(form);
    return row;
  }

  editRow(c) {
    const form = el('form', { class: 'adm-form inline', novalidate: true },
      el('label', {}, el('span', { text: t('adm.cam.name') }), el('input', { name: 'name', maxlength: 128, value: c.name })),
      el('p', { class: 'error', data: { error: 'name' } }),
      el('label', {}, el('span', { text: t('adm.cam.mode') }), el('select', { name: 'mode' })),
      el('label', {}, el('span', { text: t('adm.cam.retention') }),
        el('input', { name: 'retention_days', inputmode: 'numeric', maxlength: 6, value: String(c.recording?.retention_days ?? '') })),
      el('p', { class: 'error', data: { error: 'retention_days' } }),
      el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'allow_basic_auth', checked: c.allow_basic_auth }),
        el('span', { text: t('adm.cam.basic') })),
      el('button', { type: 'submit', text: t('adm.save') }),
      el('p', { class: 'error', role: 'alert', data: { error: 'form' } }));
    options(form.elements.mode, A.MODES.map((m) => [m, label('mode.', m)]), c.recording?.mode);
    const row = el('tr', { class: 'editing', data: { cameraId: c.id } }, el('td', { colspan: 6 }, form));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const req = A.cameraPatch(c, fields(form));
      showErrors(form, req.errors);
      if (!req.ok) return;
      const mine = this.session;
      const res = await api('PATCH', cameraPath(c.id), req.body);
      if (mine !== this.session) return;
      if (res.status !== 200) {
        showFailure(form, failure(res));
        return;
      }
      this.editing = null;
      await this.load();
      this.onCatalogue();
    });
    return row;
  }

  // The add form's selects in the current language.
  renderForm() {
    options($('camera-add-form').elements.mode, A.MODES.map((m) => [m, label('mode.', m)]));
  }
}
