import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as A from '../js/state/alarms.js';

const alarm = (id, state = 'new', extra = {}) => ({ id: String(id), state, count: 1, camera_id: 'cam-1', kind: 'motion', ...extra });

test('an alarm only moves forward, whatever order the copies come in', () => {
  const m = new Map();
  assert.equal(A.upsert(m, alarm(1, 'acknowledged')), true);
  assert.equal(A.upsert(m, alarm(1, 'new')), false);  // an older copy (REST answer late)
  assert.equal(m.get('1').state, 'acknowledged');
  A.upsert(m, alarm(1, 'acknowledged', { count: 3 }));
  A.upsert(m, alarm(1, 'acknowledged', { count: 2 }));
  assert.equal(m.get('1').count, 3);
  A.upsert(m, alarm(1, 'acknowledged', { count: 3, assigned_at: '2026-12-07T10:00:00Z' }));
  A.upsert(m, alarm(1, 'acknowledged', { count: 3, assigned_at: null }));
  assert.equal(m.get('1').assigned_at, '2026-12-07T10:00:00Z');
  A.upsert(m, alarm(1, 'resolved', { count: 3 }));
  assert.equal(m.get('1').state, 'resolved');
});

test('newest first by numeric id; resolved ones beyond the kept number go', () => {
  const list = [alarm(9), alarm(10), alarm(2)].sort(A.newestFirst);
  assert.deepEqual(list.map((a) => a.id), ['10', '9', '2']);
  const m = new Map();
  for (let i = 1; i <= 5; i++) A.upsert(m, alarm(i, 'resolved'));
  A.upsert(m, alarm(6));
  assert.deepEqual(A.excessResolved(m, 2), ['3', '2', '1']);
});

test('fresh alarms: new and unknown; a repeat or a state change is not', () => {
  const known = new Map([['1', alarm(1)]]);
  assert.equal(A.isFresh(known, alarm(2)), true);
  assert.equal(A.isFresh(known, alarm(1, 'new', { count: 2 })), false);
  assert.equal(A.isFresh(known, alarm(3, 'acknowledged')), false);
  const m = new Map([['4', alarm(4, 'acknowledged')], ['3', alarm(3)], ['2', alarm(2)]]);
  assert.equal(A.newestNew(m).id, '3');
  assert.equal(A.newestNew(new Map()), null);
});

test('the server search query: words folded, kind names also as codes', async () => {
  const { searchQuery } = await import('../js/state/alarms.js');
  const kinds = [['motion', 'ruch'], ['line_crossing', 'przekroczenie linii'], ['other', 'inne']];
  assert.equal(searchQuery('  Zaułek   brama ', kinds), 'zaulek brama');
  assert.equal(searchQuery('Ruch przy bramie', kinds), 'ruch|motion przy bramie');
  assert.equal(searchQuery('przekroczenie LINII nocą', kinds), 'line_crossing noca');
  assert.equal(searchQuery('motion', [['motion', 'motion']]), 'motion');
  assert.equal(searchQuery('a|b', kinds), 'a b');
  assert.equal(searchQuery('', kinds), '');
  assert.equal(searchQuery(Array(40).fill('x').join(' '), kinds).split(' ').length, 16);
});
