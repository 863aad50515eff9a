import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pickGrid, PatchSaver, gridMember } from '../js/state/prefs.js';

test('the server\'s grid wins, else this browser\'s, which is then uploaded', () => {
  const server = { layout: 9, cells: ['cam-1'] };
  const local = { layout: 4, cells: ['cam-2'] };
  assert.deepEqual(pickGrid({ grid: server, lang: 'en' }, local), { source: 'server', value: server, upload: false });
  assert.deepEqual(pickGrid({ lang: 'en' }, local), { source: 'local', value: local, upload: true });
  assert.deepEqual(pickGrid(null, local), { source: 'local', value: local, upload: true });
  assert.deepEqual(pickGrid({}, null), { source: 'none', value: null, upload: false });
  assert.deepEqual(pickGrid({ grid: 'junk' }, null), { source: 'none', value: null, upload: false });
  // a site filter's own grid
  assert.equal(gridMember(''), 'grid');
  assert.equal(gridMember('3'), 'grid.site.3');
  assert.deepEqual(pickGrid({ grid: server, 'grid.site.3': local }, null, gridMember('3')).value, local);
  assert.equal(pickGrid({ grid: server }, null, gridMember('none')).source, 'none');
});

test('one request at a time, what came meanwhile merged into the next, in order', async () => {
  const sent = [];
  const waiting = [];
  const s = new PatchSaver((v) => new Promise((resolve) => {
    sent.push(v);
    waiting.push(resolve);
  }));
  s.push({ grid: 1 });
  s.push({ grid: 2 });
  s.push({ 'grid.site.3': 5 });
  s.push({ grid: 3 });
  assert.deepEqual(sent, [{ grid: 1 }]);
  waiting.shift()(true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent, [{ grid: 1 }, { grid: 3, 'grid.site.3': 5 }]);  // 2 was replaced before it went
  waiting.shift()(false);
  await new Promise((r) => setImmediate(r));
  assert.equal(s.busy, false);
  assert.equal(s.saved, 1);
  assert.equal(s.failed, 1);
  s.push({ grid: 4 });
  s.push({ grid: 5 });
  s.drop();
  waiting.shift()(true);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(sent.slice(2), [{ grid: 4 }]);
  assert.equal(s.busy, false);
});

test('a send that throws counts as failed and the saver goes on', async () => {
  let n = 0;
  const s = new PatchSaver(async () => {
    n += 1;
    if (n === 1) throw new Error('network');
    return true;
  });
  s.push({ a: 1 });
  await new Promise((r) => setImmediate(r));
  s.push({ b: 1 });
  await new Promise((r) => setImmediate(r));
  assert.equal(s.failed, 1);
  assert.equal(s.saved, 1);
});
