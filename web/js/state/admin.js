// The administration view's pure logic: who sees it, the forms' checks
// (each error an i18n key, per field) and the request bodies they make, the
// discovery results beside the catalogue. The server decides everything
// again; these checks only spare a round trip and say what is wrong in the
// console's words.

export const ROLES = ['operator', 'investigator', 'administrator'];
export const MODES = ['continuous', 'events', 'off'];
export const KINDS = ['motion', 'line_crossing', 'intrusion', 'tamper', 'video_loss', 'io_input', 'health', 'other'];
export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
export const TABS = ['cameras', 'users', 'holds', 'rules', 'sites'];

const ID_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
const USER_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const IPV4_PORT_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?::(\d{1,5}))?$/;
const HOURS_RE = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/;
export const MIN_PASSWORD = 8;

// The views a role may switch to: the live console and the timeline for
// every role, the administration only for administrators (the server
// answers 403 to anyone else anyway).
export const views = (role) => (role === 'administrator' ? ['live', 'timeline', 'admin'] : ['live', 'timeline']);
export const pickView = (role, wanted) => (views(role).includes(wanted) ? wanted : 'live');

const str = (v) => String(v ?? '').trim();
const result = (errors, body) => ({ ok: Object.keys(errors).length === 0, errors, body });

// IPv4 address[:port] as POST /api/v1/discovery/scan takes it.
export function validTarget(s) {
  const m = IPV4_PORT_RE.exec(s);
  if (!m) return false;
  if ([1, 2, 3, 4].some((i) => Number(m[i]) > 255)) return false;
  return m[5] === undefined || (Number(m[5]) >= 1 && Number(m[5]) <= 65535);
}

// The scan form: seconds to wait (0.1..30) and addresses asked directly.
export function scanRequest({ timeout_s = '', targets = '' }) {
  const errors = {};
  const body = {};
  const secs = str(timeout_s).replace(',', '.');
  if (secs) {
    const n = Number(secs);
    if (!Number.isFinite(n) || n < 0.1 || n > 30) errors.timeout_s = 'adm.err.timeout';
    else body.timeout_ms = Math.round(n * 1000);
  }
  const list = str(targets).split(/[\s,;]+/).filter(Boolean);
  if (list.length > 256) errors.targets = 'adm.err.targets_many';
  else if (list.some((x) => !validTarget(x))) errors.targets = 'adm.err.target';
  else if (list.length) body.targets = [...new Set(list)];
  return result(errors, body);
}

// How far a scan is (0..1) while its answer has not come: the server waits
// timeout_ms, so the bar follows the clock and stops short of the end.
export function scanProgress(startedMs, nowMs, timeoutMs) {
  if (!(timeoutMs > 0)) return 0;
  return Math.max(0, Math.min(0.99, (nowMs - startedMs) / timeoutMs));
}

// What an administrator types as the camera's address: a device URL as it
// is, a host or host:port (IPv4, [IPv6], name) becomes the ONVIF device
// service URL on it.
export function onvifUrl(address) {
  const a = str(address);
  if (!a) return '';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) return a;  // a URL: checked as it is
  let host = a.replace(/\/+$/, '');
  if (host.includes(':') && !host.startsWith('[') && host.indexOf(':') !== host.lastIndexOf(':')) host = `[${host}]`;
  return `http://${host}/onvif/device_service`;
}

function checkUrl(url) {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

function recording(fields, errors) {
  const mode = str(fields.mode);
  if (!MODES.includes(mode)) errors.mode = 'adm.err.mode';
  const days = str(fields.retention_days);
  const n = Number(days);
  if (!days || !Number.isInteger(n) || n < 1 || n > 36500) errors.retention_days = 'adm.err.retention';
  return { mode, retention_days: n };
}

// The add-camera form -> POST /api/v1/cameras. The password goes to the
// server only; the caller empties the field whatever the answer.
export function newCamera(fields) {
  const errors = {};
  const body = {};
  const name = str(fields.name);
  if (name.length > 128) errors.name = 'adm.err.name_long';
  else if (name) body.name = name;
  body.onvif_url = onvifUrl(fields.address);
  if (!body.onvif_url) errors.address = 'adm.err.address_missing';
  else if (body.onvif_url.length > 2048 || !checkUrl(body.onvif_url)) errors.address = 'adm.err.address';
  body.username = str(fields.username);
  if (body.username.length > 128) errors.username = 'adm.err.username_long';
  body.password = String(fields.password ?? '');
  if (body.password.length > 256) errors.password = 'adm.err.password_long';
  const endpoint = str(fields.endpoint);
  if (endpoint) body.endpoint = endpoint.slice(0, 256);
  body.recording = recording(fields, errors);
  body.allow_basic_auth = Boolean(fields.allow_basic_auth);
  return result(errors, body);
}

// The edit form -> PATCH /api/v1/cameras/{id}: only what changed.
export function cameraPatch(camera, fields) {
  const errors = {};
  const body = {};
  const name = str(fields.name);
  if (!name) errors.name = 'adm.err.name_missing';
  else if (name.length > 128) errors.name = 'adm.err.name_long';
  else if (name !== camera.name) body.name = name;
  const rec = recording(fields, errors);
  if (rec.mode !== camera.recording?.mode || rec.retention_days !== camera.recording?.retention_days) {
    body.recording = rec;
  }
  const basic = Boolean(fields.allow_basic_auth);
  if (basic !== Boolean(camera.allow_basic_auth)) body.allow_basic_auth = basic;
  if (!Object.keys(errors).length && !Object.keys(body).length) errors.form = 'adm.err.unchanged';
  return result(errors, body);
}

function password(fields, errors) {
  const p = String(fields.password ?? '');
  if (p.length < MIN_PASSWORD) errors.password = 'adm.err.password_short';
  else if (p.length > 1024) errors.password = 'adm.err.password_long';
  else if (p !== String(fields.password2 ?? '')) errors.password2 = 'adm.err.password_mismatch';
  return p;
}

// The new-user form -> POST /api/v1/users.
export function newUser(fields) {
  const errors = {};
  const name = str(fields.name);
  if (!USER_RE.test(name)) errors.name = 'adm.err.user_name';
  const role = str(fields.role);
  if (!ROLES.includes(role)) errors.role = 'adm.err.role';
  const p = password(fields, errors);
  return result(errors, { name, role, password: p });
}

// The reset form -> POST /api/v1/users/{id}/password.
export function passwordReset(fields) {
  const errors = {};
  const p = password(fields, errors);
  return result(errors, { password: p });
}

// Camera visibility -> PATCH /api/v1/users/{id} {cameras}: every camera
// (null), or the chosen ones; administrators always see every camera.
export function visibility(user, { all, cameras = [] }) {
  const errors = {};
  if (user.role === 'administrator') errors.form = 'adm.err.admin_sees_all';
  const ids = [...new Set(cameras)].sort();
  if (!all && ids.some((id) => !ID_RE.test(id))) errors.form = 'adm.err.camera_id';
  if (!all && ids.length > 1024) errors.form = 'adm.err.cameras_many';
  return result(errors, { cameras: all ? null : ids });
}

// What the users table offers for a user: one's own account and the last
// enabled administrator cannot be disabled, nor their role changed (the
// server answers 409).
export function userActions(me, user, users) {
  const own = user.name === me;
  const admins = users.filter((u) => u.role === 'administrator' && !u.disabled).length;
  const lastAdmin = user.role === 'administrator' && !user.disabled && admins <= 1;
  return {
    disable: !user.disabled && !own && !lastAdmin,
    enable: user.disabled,
    visibility: user.role !== 'administrator',
    role: !own && !lastAdmin,
  };
}

// A <input type="datetime-local"> value (the browser's local time) as
// RFC 3339 UTC, or '' when it is not a time.
export function localToIso(s) {
  const v = str(s);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(v)) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.000Z$/, 'Z');
}

// A Date as a <input type="datetime-local"> value in the browser's local
// time, to the minute.
export function isoToLocal(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// The hold form -> POST /api/v1/holds.
export function newHold(fields) {
  const errors = {};
  const camera_id = str(fields.camera_id);
  if (!camera_id) errors.camera_id = 'adm.err.camera_missing';
  const from = localToIso(fields.from);
  const to = localToIso(fields.to);
  if (!from) errors.from = 'adm.err.time';
  if (!to) errors.to = 'adm.err.time';
  if (from && to && Date.parse(to) <= Date.parse(from)) errors.to = 'adm.err.to_before_from';
  const reason = str(fields.reason);
  if (!reason) errors.reason = 'adm.err.reason_missing';
  else if (reason.length > 1024) errors.reason = 'adm.err.reason_long';
  return result(errors, { camera_id, from, to, reason });
}

function hoursOk(h) {
  const m = HOURS_RE.exec(h);
  if (!m) return false;
  const [a, b, c, d] = m.slice(1).map(Number);
  return a < 24 && b < 60 && c < 24 && d < 60 && (a !== c || b !== d);
}

function intIn(s, lo, hi, dflt) {
  const v = str(s);
  if (!v) return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= lo && n <= hi ? n : null;
}

// The rule form -> POST /api/v1/rules (the keys of [[rules]]).
export function newRule(fields) {
  const errors = {};
  const id = str(fields.id);
  if (!ID_RE.test(id)) errors.id = 'adm.err.rule_id';
  const hours = str(fields.hours);
  if (hours && !hoursOk(hours)) errors.hours = 'adm.err.hours';
  const priority = intIn(fields.priority, 1, 5, 3);
  if (priority === null) errors.priority = 'adm.err.priority';
  const debounce = intIn(fields.debounce_ms, 0, 86400000, 0);
  if (debounce === null) errors.debounce_ms = 'adm.err.debounce';
  const recordSeconds = intIn(fields.record_seconds, 0, 3600, 0);
  if (recordSeconds === null) errors.record_seconds = 'adm.err.record_seconds';
  const kinds = (fields.kinds || []).filter((k) => KINDS.includes(k));
  const days = DAYS.filter((d) => (fields.days || []).includes(d));
  const body = {
    id, cameras: [...new Set(fields.cameras || [])].sort(), kinds, days, hours: hours || null,
    priority, debounce_ms: debounce, enabled: fields.enabled !== false,
    record: Boolean(fields.record), record_seconds: recordSeconds, bookmark: Boolean(fields.bookmark),
  };
  return result(errors, body);
}

// Config-file rules and the built-in default are not the API's to delete.
export const ruleDeletable = (rule) => rule.origin === 'api';

// Discovered devices beside the catalogue: new ones first, then by name;
// each with the address to add it by and the camera it already is.
export function deviceRows(devices, cameras = []) {
  const byUrl = new Map(cameras.map((c) => [c.onvif_url, c.id]));
  const byEndpoint = new Map(cameras.filter((c) => c.endpoint).map((c) => [c.endpoint, c.id]));
  return (devices || []).map((d) => {
    const url = (d.xaddrs || [])[0] || '';
    const camera = d.camera_id || byEndpoint.get(d.endpoint) || byUrl.get(url) || null;
    return {
      endpoint: d.endpoint, name: d.name || '', hardware: d.hardware || '', url,
      known: Boolean(d.known || camera), camera_id: camera, via: d.via || 'probe',
    };
  }).sort((a, b) => Number(a.known) - Number(b.known) || a.name.localeCompare(b.name, 'pl')
    || a.url.localeCompare(b.url));
}

// Merge a scan's answer into the devices listed before (by endpoint), the
// newest answer winning; bounded like the server's list.
export function mergeDevices(before, found, max = 4096) {
  const m = new Map((before || []).map((d) => [d.endpoint, d]));
  for (const d of found || []) m.set(d.endpoint, { ...m.get(d.endpoint), ...d });
  return [...m.values()].slice(-max);
}

// The add form filled from a discovered device.
export const fromDevice = (row) => ({ name: row.name, address: row.url, endpoint: row.endpoint });

// Cameras waiting for an administrator to confirm a move.
export const sighted = (cameras) => cameras.filter((c) => c.sighting && c.sighting.onvif_url);

// Choosing a camera's streams (GET /api/v1/cameras/{id}/profiles, PUT
// /api/v1/cameras/{id}/streams): a profile as the choice lists it.
export function profileLabel(p) {
  const size = p.width && p.height ? ` ${p.width}×${p.height}` : '';
  const name = p.name && p.name !== p.token ? ` (${p.name})` : '';
  return `${p.token}${name}: ${p.encoding || '—'}${size}`;
}

// The body of the choice from the form's fields; errors by field when a
// choice is not one of the listed profiles (or no video profile).
export function streamsChoice({ main_profile = '', sub_profile = '' }, profiles = []) {
  const video = new Set(profiles.filter((p) => p.encoding).map((p) => p.token));
  const errors = {};
  if (!video.has(main_profile)) errors.main_profile = 'adm.cam.pick_profile';
  if (!video.has(sub_profile)) errors.sub_profile = 'adm.cam.pick_profile';
  const ok = Object.keys(errors).length === 0;
  return { ok, errors, body: ok ? { main_profile, sub_profile } : null };
}
