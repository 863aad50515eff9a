import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as A from '../js/state/admin.js';

test('only administrators get the administration view', () => {
  assert.deepEqual(A.views('administrator'), ['live', 'timeline', 'admin']);
  for (const r of ['operator', 'investigator', '', undefined]) assert.deepEqual(A.views(r), ['live', 'timeline']);
  assert.equal(A.pickView('operator', 'timeline'), 'timeline');
  assert.equal(A.pickView('operator', 'admin'), 'live');
  assert.equal(A.pickView('administrator', 'admin'), 'admin');
  assert.equal(A.pickView('administrator', 'nonsense'), 'live');
});

test('scan request: seconds and IPv4[:port] targets', () => {
  assert.deepEqual(A.scanRequest({}).body, {});
  const r = A.scanRequest({ timeout_s: '1,5', targets: '127.0.0.1  10.0.0.7:3702,127.0.0.1' });
  assert.ok(r.ok);
  assert.deepEqual(r.body, { timeout_ms: 1500, targets: ['127.0.0.1', '10.0.0.7:3702'] });
  assert.equal(A.scanRequest({ timeout_s: '0.01' }).errors.timeout_s, 'adm.err.timeout');
  assert.equal(A.scanRequest({ timeout_s: '31' }).errors.timeout_s, 'adm.err.timeout');
  assert.equal(A.scanRequest({ timeout_s: 'abc' }).errors.timeout_s, 'adm.err.timeout');
  for (const bad of ['camera.example', '256.1.1.1', '10.0.0.1:0', '10.0.0.1:70000', '::1']) {
    assert.equal(A.scanRequest({ targets: bad }).errors.targets, 'adm.err.target', bad);
  }
  const many = Array.from({ length: 257 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(' ');
  assert.equal(A.scanRequest({ targets: many }).errors.targets, 'adm.err.targets_many');
});

test('scan progress follows the clock and never reaches the end by itself', () => {
  assert.equal(A.scanProgress(1000, 1000, 2000), 0);
  assert.equal(A.scanProgress(1000, 2000, 2000), 0.5);
  assert.equal(A.scanProgress(1000, 9000, 2000), 0.99);
  assert.equal(A.scanProgress(1000, 500, 2000), 0);
  assert.equal(A.scanProgress(1000, 2000, 0), 0);
});

test('a camera address becomes its ONVIF device URL', () => {
  assert.equal(A.onvifUrl('10.0.0.5'), 'http://10.0.0.5/onvif/device_service');
  assert.equal(A.onvifUrl(' 10.0.0.5:8080 '), 'http://10.0.0.5:8080/onvif/device_service');
  assert.equal(A.onvifUrl('fd00::5'), 'http://[fd00::5]/onvif/device_service');
  assert.equal(A.onvifUrl('http://127.0.0.1:18000/onvif/device_service'),
    'http://127.0.0.1:18000/onvif/device_service');
  assert.equal(A.onvifUrl(''), '');
});

test('new camera: body, defaults and errors', () => {
  const r = A.newCamera({
    name: ' Zaułek Piekarzy ', address: '127.0.0.1:18000', username: 'admin', password: 's3cret',
    mode: 'continuous', retention_days: '30', endpoint: 'urn:uuid:1',
  });
  assert.ok(r.ok, JSON.stringify(r.errors));
  assert.deepEqual(r.body, {
    name: 'Zaułek Piekarzy', onvif_url: 'http://127.0.0.1:18000/onvif/device_service', username: 'admin',
    password: 's3cret', endpoint: 'urn:uuid:1', recording: { mode: 'continuous', retention_days: 30 },
    allow_basic_auth: false,
  });
  const bad = A.newCamera({ address: '', mode: 'always', retention_days: '0', name: 'x'.repeat(129) });
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.errors, {
    name: 'adm.err.name_long', address: 'adm.err.address_missing', mode: 'adm.err.mode',
    retention_days: 'adm.err.retention',
  });
  assert.equal(A.newCamera({ address: 'ftp://x/', mode: 'off', retention_days: '1' }).errors.address,
    'adm.err.address');
  assert.equal(A.newCamera({ address: '1.2.3.4', mode: 'off', retention_days: '2.5' }).errors.retention_days,
    'adm.err.retention');
});

test('camera edit sends only what changed', () => {
  const cam = { name: 'Park', recording: { mode: 'continuous', retention_days: 30 }, allow_basic_auth: false };
  const same = A.cameraPatch(cam, { name: 'Park', mode: 'continuous', retention_days: '30' });
  assert.deepEqual(same.errors, { form: 'adm.err.unchanged' });
  assert.deepEqual(A.cameraPatch(cam, { name: 'Park 2', mode: 'continuous', retention_days: '30' }).body,
    { name: 'Park 2' });
  assert.deepEqual(A.cameraPatch(cam, { name: 'Park', mode: 'events', retention_days: '7', allow_basic_auth: true }).body,
    { recording: { mode: 'events', retention_days: 7 }, allow_basic_auth: true });
  assert.equal(A.cameraPatch(cam, { name: ' ', mode: 'off', retention_days: '1' }).errors.name, 'adm.err.name_missing');
});

test('users: the new-user form, the password reset, visibility', () => {
  const ok = A.newUser({ name: 'jan.k', role: 'operator', password: 'Haslo-123', password2: 'Haslo-123' });
  assert.ok(ok.ok);
  assert.deepEqual(ok.body, { name: 'jan.k', role: 'operator', password: 'Haslo-123' });
  const bad = A.newUser({ name: '.jan', role: 'root', password: 'short', password2: 'short' });
  assert.deepEqual(bad.errors, { name: 'adm.err.user_name', role: 'adm.err.role', password: 'adm.err.password_short' });
  assert.equal(A.newUser({ name: 'a', role: 'operator', password: 'Haslo-123', password2: 'Haslo-124' })
    .errors.password2, 'adm.err.password_mismatch');
  assert.deepEqual(A.passwordReset({ password: 'Nowe-Haslo-9', password2: 'Nowe-Haslo-9' }),
    { ok: true, errors: {}, body: { password: 'Nowe-Haslo-9' } });
  assert.equal(A.passwordReset({ password: 'x'.repeat(1025), password2: '' }).errors.password, 'adm.err.password_long');

  const op = { name: 'olga', role: 'operator' };
  assert.deepEqual(A.visibility(op, { all: true, cameras: ['cam-1'] }).body, { cameras: null });
  assert.deepEqual(A.visibility(op, { all: false, cameras: ['cam-2', 'cam-1', 'cam-2'] }).body,
    { cameras: ['cam-1', 'cam-2'] });
  assert.equal(A.visibility(op, { all: false, cameras: ['bad id'] }).errors.form, 'adm.err.camera_id');
  assert.equal(A.visibility({ role: 'administrator' }, { all: false, cameras: [] }).errors.form,
    'adm.err.admin_sees_all');
});

test('what the users table offers: not one\'s own account, not the last administrator', () => {
  const users = [
    { name: 'adam', role: 'administrator', disabled: false },
    { name: 'olga', role: 'operator', disabled: false },
    { name: 'stary', role: 'operator', disabled: true },
  ];
  assert.deepEqual(A.userActions('adam', users[0], users), { disable: false, enable: false, visibility: false, role: false });
  assert.deepEqual(A.userActions('adam', users[1], users), { disable: true, enable: false, visibility: true, role: true });
  assert.deepEqual(A.userActions('adam', users[2], users), { disable: false, enable: true, visibility: true, role: true });
  const two = [...users, { name: 'ewa', role: 'administrator', disabled: false }];
  assert.equal(A.userActions('ewa', two[0], two).disable, true);
  assert.equal(A.userActions('adam', two[0], two).disable, false);
  assert.equal(A.userActions('ewa', two[0], two).role, true);
  assert.equal(A.userActions('adam', two[0], two).role, false);
});

test('holds: local times to UTC, the order of from and to, a reason', () => {
  const from = '2026-12-07T10:00';
  assert.equal(A.localToIso(from), new Date(from).toISOString().replace('.000Z', 'Z'));
  assert.equal(A.localToIso('yesterday'), '');
  const d = new Date(2026, 11, 7, 9, 5, 42);
  assert.equal(A.isoToLocal(d), '2026-12-07T09:05');
  assert.equal(Date.parse(A.localToIso(A.isoToLocal(d))), new Date(2026, 11, 7, 9, 5).getTime());
  assert.equal(A.localToIso('2026-13-45T99:99'), '');
  const ok = A.newHold({ camera_id: 'cam-1', from, to: '2026-12-07T11:30', reason: ' zgłoszenie policji ' });
  assert.ok(ok.ok);
  assert.equal(ok.body.reason, 'zgłoszenie policji');
  assert.equal(Date.parse(ok.body.to) - Date.parse(ok.body.from), 90 * 60 * 1000);
  assert.deepEqual(A.newHold({ camera_id: '', from, to: from, reason: '' }).errors,
    { camera_id: 'adm.err.camera_missing', to: 'adm.err.to_before_from', reason: 'adm.err.reason_missing' });
  assert.deepEqual(A.newHold({ camera_id: 'c', from: '', to: 'x', reason: 'r' }).errors,
    { from: 'adm.err.time', to: 'adm.err.time' });
});

test('rules: the keys of [[rules]], defaults and errors', () => {
  const r = A.newRule({
    id: 'noc-ruch', cameras: ['cam-2', 'cam-1'], kinds: ['motion', 'nonsense'], days: ['sun', 'mon'],
    hours: '22:00-06:00', priority: '5', debounce_ms: '', record: true, record_seconds: '30',
  });
  assert.ok(r.ok, JSON.stringify(r.errors));
  assert.deepEqual(r.body, {
    id: 'noc-ruch', cameras: ['cam-1', 'cam-2'], kinds: ['motion'], days: ['mon', 'sun'], hours: '22:00-06:00',
    priority: 5, debounce_ms: 0, enabled: true, record: true, record_seconds: 30, bookmark: false,
  });
  assert.equal(A.newRule({ id: 'x' }).body.priority, 3);
  assert.equal(A.newRule({ id: 'x' }).body.hours, null);
  const bad = A.newRule({ id: 'bad id', hours: '25:00-06:00', priority: '9', debounce_ms: '-1', record_seconds: '3601' });
  assert.deepEqual(Object.keys(bad.errors).sort(), ['debounce_ms', 'hours', 'id', 'priority', 'record_seconds']);
  assert.equal(A.newRule({ id: 'x', hours: '10:00-10:00' }).errors.hours, 'adm.err.hours');
  assert.equal(A.ruleDeletable({ origin: 'api' }), true);
  assert.equal(A.ruleDeletable({ origin: 'config' }), false);
  assert.equal(A.ruleDeletable({ origin: 'builtin' }), false);
});

test('discovered devices beside the catalogue; a scan merged into what was heard', () => {
  const cams = [{ id: 'cam-1', onvif_url: 'http://127.0.0.1:18001/onvif/device_service', endpoint: '' }];
  const devs = [
    { endpoint: 'urn:a', xaddrs: ['http://127.0.0.1:18001/onvif/device_service'], name: 'B', known: false, camera_id: null },
    { endpoint: 'urn:b', xaddrs: ['http://127.0.0.1:18002/onvif/device_service'], name: 'Z', known: false, camera_id: null },
    { endpoint: 'urn:c', xaddrs: [], name: 'A', known: true, camera_id: 'cam-7' },
  ];
  const rows = A.deviceRows(devs, cams);
  assert.deepEqual(rows.map((r) => [r.endpoint, r.known, r.camera_id]),
    [['urn:b', false, null], ['urn:c', true, 'cam-7'], ['urn:a', true, 'cam-1']]);
  assert.deepEqual(A.fromDevice(rows[0]),
    { name: 'Z', address: 'http://127.0.0.1:18002/onvif/device_service', endpoint: 'urn:b' });
  const merged = A.mergeDevices(devs, [{ endpoint: 'urn:b', name: 'Z2' }, { endpoint: 'urn:d', name: 'D' }], 3);
  assert.deepEqual(merged.map((d) => [d.endpoint, d.name]), [['urn:b', 'Z2'], ['urn:c', 'A'], ['urn:d', 'D']]);
  assert.deepEqual(A.sighted([{ id: 'a', sighting: null }, { id: 'b', sighting: { onvif_url: 'http://x/' } }])
    .map((c) => c.id), ['b']);
});

test('every key the administration names (buttons and labels too) is in both languages', async () => {
  const { readFile, readdir } = await import('node:fs/promises');
  const { TEXT } = await import('../js/i18n.js');
  const dir = new URL('../js/', import.meta.url);
  const files = ['panels/admin.js', 'state/admin.js',
    ...(await readdir(new URL('panels/admin/', dir))).map((f) => `panels/admin/${f}`)];
  const keys = new Set();
  for (const f of files) {
    const src = await readFile(new URL(f, dir), 'utf8');
    for (const m of src.matchAll(/'((?:adm|view)\.[a-z0-9_]+(?:\.[a-z0-9_]+)+)'/g)) keys.add(m[1]);
  }
  // The prefixes label() completes with a server value.
  for (const v of A.MODES) keys.add(`mode.${v}`);
  for (const v of A.DAYS) keys.add(`day.${v}`);
  for (const v of ['probe', 'hello']) keys.add(`via.${v}`);
  for (const v of ['config', 'api', 'builtin']) keys.add(`origin.${v}`);
  for (const v of A.ROLES) keys.add(`role.${v}`);
  assert.ok(keys.size > 80, `only ${keys.size} keys found`);
  for (const k of keys) for (const l of ['pl', 'en']) assert.ok(k in TEXT[l], `${l}: ${k}`);
});

test('a camera\'s stream choice: listed video profiles only', () => {
  const profiles = [
    { token: 'main', name: 'mainStream', encoding: 'H264', width: 1920, height: 1080 },
    { token: 'sub', name: 'sub', encoding: 'H264', width: 640, height: 360 },
    { token: 'meta', name: 'meta', encoding: '', width: 0, height: 0 },
  ];
  assert.equal(A.profileLabel(profiles[0]), 'main (mainStream): H264 1920×1080');
  assert.equal(A.profileLabel(profiles[1]), 'sub: H264 640×360');
  assert.equal(A.profileLabel(profiles[2]), 'meta: —');
  assert.deepEqual(A.streamsChoice({ main_profile: 'sub', sub_profile: 'sub' }, profiles),
    { ok: true, errors: {}, body: { main_profile: 'sub', sub_profile: 'sub' } });
  const bad = A.streamsChoice({ main_profile: 'meta', sub_profile: 'gone' }, profiles);
  assert.equal(bad.ok, false);
  assert.deepEqual(Object.keys(bad.errors).sort(), ['main_profile', 'sub_profile']);
});
