import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as C from '../js/state/cameras.js';

const list = [
  { id: 'cam-1', name: 'Zaułek Piekarzy', status: 'online', status_reason: '', recording: { mode: 'continuous' } },
  { id: 'cam-2', name: 'Przejście podziemne', status: 'offline', status_reason: 'no answer', recording: { mode: 'off' } },
  { id: 'cam-3', name: 'Park', status: 'online', status_reason: '' },
];

test('the list, then camera messages: status, added, removed', () => {
  const m = C.fromList(list);
  assert.equal(m.get('cam-2').mode, 'off');
  assert.equal(C.applyMessage(m, { camera_id: 'cam-1', status: 'offline', reason: 'timeout' }), 'status');
  assert.equal(m.get('cam-1').status, 'offline');
  assert.equal(m.get('cam-1').name, 'Zaułek Piekarzy');
  assert.equal(C.applyMessage(m, { camera_id: 'cam-1', status: 'offline', reason: 'timeout' }), null);
  assert.equal(C.applyMessage(m, { camera_id: 'cam-9', status: 'connecting', previous: 'added' }), 'added');
  assert.equal(C.applyMessage(m, { camera_id: 'cam-9', status: 'removed' }), 'removed');
  assert.equal(m.has('cam-9'), false);
  assert.equal(C.applyMessage(m, { camera_id: 'cam-9', status: 'removed' }), null);
  assert.equal(C.applyMessage(m, { status: 'online' }), null);
});

test('filter by name or id and by state, sorted by name', () => {
  const m = C.fromList(list);
  assert.deepEqual(C.filter(m).map((c) => c.id), ['cam-3', 'cam-2', 'cam-1']);
  assert.deepEqual(C.filter(m, 'zaulek').map((c) => c.id), ['cam-1']);
  assert.deepEqual(C.filter(m, 'CAM-2').map((c) => c.id), ['cam-2']);
  assert.deepEqual(C.filter(m, '', 'online').map((c) => c.id), ['cam-3', 'cam-1']);
  assert.deepEqual(C.filter(m, 'park', 'offline'), []);
});
