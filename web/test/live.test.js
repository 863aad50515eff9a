import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, trimRange, seekTarget, tileState } from '../js/state/live.js';

test('the SourceBuffer keeps about 30 s behind the playhead', () => {
  assert.equal(trimRange([], 100), null);
  assert.equal(trimRange([[0, 35]], 34), null);  // little enough
  assert.deepEqual(trimRange([[0, 60]], 59.5), [0, 29.5]);
  assert.deepEqual(trimRange([[10, 20], [22, 80]], 79), [10, 49]);
});

test('the playhead goes to the first fragment, and to the live edge when it lags', () => {
  assert.equal(seekTarget([], 0), null);
  assert.equal(seekTarget([[4.2, 5]], 0), 4.2);
  assert.equal(seekTarget([[0, 10]], 9), null);
  assert.equal(seekTarget([[0, 20]], 9), 19.5);
  assert.equal(seekTarget([[0, 5], [30, 30.2]], 4.9), 30);
});

test('backoff grows, is capped and bounded, and resets', () => {
  const b = new Backoff({ baseMs: 500, maxMs: 10000, rng: () => 1 });
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map(() => b.next()), [500, 1000, 2000, 4000, 8000, 10000, 10000]);
  for (let i = 0; i < 100; i++) assert.ok(b.next() <= 10000);
  b.reset();
  assert.equal(b.next(), 500);
  const low = new Backoff({ rng: () => 0 });
  assert.equal(low.next(), 250);  // half the ceiling at the least
});

test('a tile shows offline at once from the camera status', () => {
  assert.equal(tileState({ cameraStatus: 'offline', socket: 'open', playing: true }), 'offline');
  assert.equal(tileState({ cameraStatus: 'unauthorized', socket: 'open' }), 'offline');
  assert.equal(tileState({ recordingMode: 'off', cameraStatus: 'online' }), 'not_recorded');
  assert.equal(tileState({ cameraStatus: 'online', socket: 'closed', retryIn: 2 }), 'reconnecting');
  assert.equal(tileState({ cameraStatus: 'online', socket: 'open', stalled: true, playing: true }), 'stalled');
  assert.equal(tileState({ cameraStatus: 'online', socket: 'open', playing: true }), 'playing');
  assert.equal(tileState({ cameraStatus: 'online', socket: 'open' }), 'connecting');
});
