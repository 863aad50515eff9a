import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as S from '../js/state/sites.js';
import * as C from '../js/state/cameras.js';

const sites = [
  {
    id: '2', name: 'Zaułek Piekarzy', address: 'ul. Piekarska 3', open_alarms: 2,
    plan: { url: '/api/v1/sites/2/plan', width: 800, height: 400, sha256: 'ab' },
    cameras: [
      { id: 'cam-1', name: 'Brama', plan_x: 0.25, plan_y: 0.5, open_alarms: 2 },
      { id: 'cam-2', name: 'Podwórze', plan_x: null, plan_y: null, open_alarms: 0 },
    ],
  },
  { id: '1', name: 'Park Miejski', address: '', plan: null, cameras: [], open_alarms: 0 },
];
const cameras = C.fromList([
  { id: 'cam-1', name: 'Brama', status: 'online', site_id: '2' },
  { id: 'cam-2', name: 'Podwórze', status: 'online', site_id: '2' },
  { id: 'cam-3', name: 'Przejście', status: 'offline', site_id: null },
]);

test('the list: fields checked, sorted by name, cameras placed or not', () => {
  const m = S.fromList(sites);
  assert.deepEqual(S.list(m).map((s) => s.id), ['1', '2']);
  const s = m.get('2');
  assert.equal(s.open, 2);
  assert.deepEqual(s.plan, { url: '/api/v1/sites/2/plan', width: 800, height: 400, sha256: 'ab' });
  assert.deepEqual(s.cameras[0], { id: 'cam-1', name: 'Brama', x: 0.25, y: 0.5, open: 2 });
  assert.equal(s.cameras[1].x, null);
  assert.equal(m.get('1').plan, null);
  // What is not a site is dropped, never thrown.
  assert.equal(S.fromList(null).size, 0);
  assert.equal(S.fromList([{ id: 3 }, null, { id: '4', plan: { url: 'x', width: 0, height: 1 }, cameras: [{ id: 'c', plan_x: 7 }] }]).get('4').plan, null);
  assert.equal(S.fromList([{ id: '4', cameras: [{ id: 'c', plan_x: 7, plan_y: 0.1 }] }]).get('4').cameras[0].x, null);
});

test('a remembered choice that no longer exists falls back to every camera', () => {
  const m = S.fromList(sites);
  assert.equal(S.pick('2', m), '2');
  assert.equal(S.pick('none', m), 'none');
  assert.equal(S.pick('9', m), '');
  assert.equal(S.pick(null, m), '');
  assert.equal(S.storageKey('anna'), 'zaulek.site.anna');
});

test('the filter: cameras of a site, of none, or all', () => {
  assert.equal(cameras.get('cam-1').site, '2');
  assert.equal(cameras.get('cam-3').site, '');
  const order = ['cam-1', 'cam-2', 'cam-3'];
  assert.deepEqual(S.cameraIds(cameras, S.ALL, order), order);
  assert.deepEqual(S.cameraIds(cameras, '2', order), ['cam-1', 'cam-2']);
  assert.deepEqual(S.cameraIds(cameras, S.NONE, order), ['cam-3']);
  assert.deepEqual(S.cameraIds(cameras, '1', order), []);
  assert.deepEqual(C.filter(cameras, '', '', '2').map((c) => c.id), ['cam-1', 'cam-2']);
  assert.deepEqual(C.filter(cameras, '', 'offline', S.NONE).map((c) => c.id), ['cam-3']);
});

test('alarms by their camera\'s site; an unknown camera\'s alarm is not hidden', () => {
  assert.equal(S.alarmInSite({ camera_id: 'cam-1' }, cameras, '2'), true);
  assert.equal(S.alarmInSite({ camera_id: 'cam-3' }, cameras, '2'), false);
  assert.equal(S.alarmInSite({ camera_id: 'cam-3' }, cameras, 'none'), true);
  assert.equal(S.alarmInSite({ camera_id: 'cam-9' }, cameras, '2'), true);
  const alarms = new Map([
    ['5', { id: '5', camera_id: 'cam-1', state: 'new' }],
    ['7', { id: '7', camera_id: 'cam-1', state: 'acknowledged' }],
    ['6', { id: '6', camera_id: 'cam-1', state: 'resolved' }],
    ['8', { id: '8', camera_id: 'cam-3', state: 'new' }],
  ]);
  const open = S.openByCamera(alarms, ['cam-1', 'cam-2']);
  assert.deepEqual(open.get('cam-1').map((a) => a.id), ['7', '5']);
  assert.equal(open.has('cam-2'), false);
  assert.equal(open.has('cam-3'), false);
});

test('a site message moves a camera between sites', () => {
  const m = new Map(cameras);
  assert.equal(S.applyMessage(m, { type: 'site', change: 'camera', camera_id: 'cam-3', site_id: '1' }), true);
  assert.equal(m.get('cam-3').site, '1');
  assert.equal(S.applyMessage(m, { type: 'site', change: 'camera', camera_id: 'cam-3', site_id: '1' }), false);
  assert.equal(S.applyMessage(m, { type: 'site', change: 'camera', camera_id: 'cam-3', site_id: null }), true);
  assert.equal(m.get('cam-3').site, '');
  assert.equal(S.applyMessage(m, { type: 'site', change: 'updated', site_id: '1' }), false);
  assert.equal(S.applyMessage(m, { type: 'site', change: 'camera', camera_id: 'cam-9', site_id: '1' }), false);
  assert.equal(cameras.get('cam-3').site, '', 'the original map is untouched');
});

test('the plan fitted into a box keeps its aspect, centred', () => {
  const wide = { width: 800, height: 400 };
  assert.deepEqual(S.fit(wide, 1000, 1000), { width: 1000, height: 500, left: 0, top: 250, scale: 1.25 });
  assert.deepEqual(S.fit(wide, 400, 100), { width: 200, height: 100, left: 100, top: 0, scale: 0.25 });
  // No image: the plain drawing's shape.
  const plain = S.fit(null, 800, 800);
  assert.equal(plain.width, 800);
  assert.equal(plain.height, 500);
  assert.deepEqual(S.fit(wide, 0, 0), { width: 0, height: 0, left: 0, top: 0, scale: 0 });
  assert.deepEqual(S.fit(wide, -5, 10).width, 0);
});

test('markers in pixels of the fitted plan, and a pointer back to 0..1', () => {
  const site = S.fromList(sites).get('2');
  const f = S.fit(site.plan, 1000, 1000);
  const { placed, unplaced } = S.markers(site, f);
  assert.deepEqual(placed, [{ id: 'cam-1', name: 'Brama', open: 2, left: 250, top: 250 }]);
  assert.deepEqual(unplaced, ['cam-2']);
  assert.deepEqual(S.toPlan(250, 250, f), { x: 0.25, y: 0.5 });
  assert.deepEqual(S.toPlan(-40, 9000, f), { x: 0, y: 1 });
  assert.deepEqual(S.toPlan(333, 1, f), { x: 0.333, y: 0.002 });
  assert.deepEqual(S.toPlan(5, 5, { width: 0, height: 0 }), { x: 0, y: 0 });
  // Round trip at another size: the same place on the plan.
  const small = S.fit(site.plan, 300, 300);
  const back = S.markers(site, small).placed[0];
  assert.deepEqual(S.toPlan(back.left, back.top, small), { x: 0.25, y: 0.5 });
  const moved = S.moveCamera(site, 'cam-2', 0.9, 0.1);
  assert.deepEqual(S.markers(moved, f).unplaced, []);
  assert.equal(site.cameras[1].x, null, 'the site is not changed in place');
});

test('the site form and a plan file checked before they are sent', () => {
  assert.deepEqual(S.siteForm({ name: ' Park ', address: ' ul. Leśna 1 ' }),
    { ok: true, errors: {}, body: { name: 'Park', address: 'ul. Leśna 1', latitude: null, longitude: null } });
  assert.deepEqual(S.siteForm({ name: 'Park', latitude: '50,0614', longitude: ' 19.9165' }).body,
    { name: 'Park', address: '', latitude: 50.0614, longitude: 19.9165 });
  assert.deepEqual(S.siteForm({ name: 'Park', latitude: '50' }).errors, { longitude: 'site.err.position_pair' });
  assert.deepEqual(S.siteForm({ name: 'Park', latitude: '91', longitude: '-181' }).errors,
    { latitude: 'site.err.latitude', longitude: 'site.err.longitude' });
  assert.deepEqual(S.siteForm({ name: 'Park', latitude: '1e3', longitude: 'x' }).errors,
    { latitude: 'site.err.latitude', longitude: 'site.err.longitude' });
  assert.equal(S.coordText(50.5), '50.5');
  assert.equal(S.coordText(null), '');
  assert.deepEqual(S.siteForm({ name: '  ' }).errors, { name: 'site.err.name' });
  assert.deepEqual(S.siteForm({ name: 'ł'.repeat(65) }).errors, { name: 'site.err.name_long' });
  assert.deepEqual(S.siteForm({ name: 'a', address: 'x'.repeat(513) }).errors, { address: 'site.err.address_long' });
  assert.equal(S.planFileError({ type: 'image/png', size: 100 }), '');
  assert.equal(S.planFileError({ type: 'image/jpeg', size: S.MAX_PLAN_BYTES }), '');
  assert.equal(S.planFileError({ type: 'image/gif', size: 100 }), 'site.err.plan_type');
  assert.equal(S.planFileError({ type: 'image/png', size: S.MAX_PLAN_BYTES + 1 }), 'site.err.plan_large');
  assert.equal(S.planFileError(null), 'site.err.plan_missing');
  assert.equal(S.planFileError({ type: 'image/png', size: 0 }), 'site.err.plan_missing');
});
