import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MediaClock, speedMessage, playbackQuery, startTarget } from '../js/state/playback.js';

test('media time maps to wall time across a gap and a seek', () => {
  const c = new MediaClock();
  assert.equal(c.wallAt(3), null);
  c.add({ type: 'start', time: '2026-12-07T10:00:00Z', keyframe: '2026-12-07T09:59:58.5Z', media_time: 1.5 });
  assert.equal(c.wallAt(1.5), Date.parse('2026-12-07T10:00:00Z'));
  assert.equal(c.wallAt(0), Date.parse('2026-12-07T09:59:58.5Z'));
  c.add({ type: 'gap', from: '2026-12-07T10:00:10Z', to: '2026-12-07T10:05:00Z', media_time: 11.5 });
  assert.equal(c.wallAt(11), Date.parse('2026-12-07T10:00:09.5Z'));
  assert.equal(c.wallAt(12.5), Date.parse('2026-12-07T10:05:01Z'));
  // a seek back: the media time goes on, the wall time jumps
  c.add({ type: 'start', time: '2026-12-07T08:00:00Z', media_time: 20 });
  assert.equal(c.wallAt(21), Date.parse('2026-12-07T08:00:01Z'));
  assert.equal(c.wallAt(12.5), Date.parse('2026-12-07T10:05:01Z'));
  // a seek whose start comes at a media time already anchored replaces it
  c.add({ type: 'start', time: '2026-12-07T07:00:00Z', media_time: 20 });
  assert.equal(c.wallAt(21), Date.parse('2026-12-07T07:00:01Z'));
  assert.equal(c.add({ type: 'gap', to: 'junk', media_time: 3 }), null);
  assert.equal(c.add({ type: 'start', time: '2026-12-07T07:00:00Z' }), null);
});

test('the anchors stay bounded', () => {
  const c = new MediaClock();
  for (let i = 0; i < 5000; i++) c.add({ type: 'gap', to: new Date(i * 1000).toISOString(), media_time: i });
  assert.equal(c.anchors.length, 1000);
});

test('speeds, the query, and where the playhead goes at a start', () => {
  assert.deepEqual(speedMessage(4), { type: 'speed', value: 4 });
  assert.equal(speedMessage(3), null);
  assert.equal(playbackQuery(Date.parse('2026-12-07T10:00:00Z')), '?from=2026-12-07T10%3A00%3A00.000Z');
  assert.equal(playbackQuery(0, 8), '?from=1970-01-01T00%3A00%3A00.000Z&speed=8');
  assert.equal(startTarget([], 2, 0), null);            // not yet buffered
  assert.equal(startTarget([[0, 3]], 2, 0), 2);         // skip the frames before T
  assert.equal(startTarget([[0, 3]], 2, 2.1), null);    // already there
});

test('a lost playback resumes at the last shown time, with a backoff, then gives up', async () => {
  const { Reconnect, MAX_TRIES } = await import('../js/state/playback.js');
  const { Backoff } = await import('../js/state/live.js');
  const r = new Reconnect({ backoff: new Backoff({ baseMs: 500, maxMs: 10000, rng: () => 1 }) });
  const t = Date.parse('2026-12-07T10:00:05Z');
  assert.deepEqual(r.lost({ wall: t, speed: 4, paused: false }), { from: t, speed: 4, paused: false, waitMs: 500 });
  assert.deepEqual(r.lost({ wall: t, speed: 4, paused: true }), { from: t, speed: 4, paused: true, waitMs: 1000 });
  // a seek not yet answered wins over the time shown before it
  assert.equal(r.lost({ wall: t, seeking: t - 60000 }).from, t - 60000);
  // a start in between: the next loss waits the shortest again
  r.started();
  assert.equal(r.lost({ wall: t }).waitMs, 500);
  // nothing shown yet and no seek: nowhere to resume
  assert.equal(r.lost({ wall: null }), null);
  assert.equal(r.lost({ wall: t, speed: 3 }).speed, 1);
  // losses in a row without a start: capped, then null
  const r2 = new Reconnect({ backoff: new Backoff({ rng: () => 0 }) });
  const waits = [];
  for (let i = 0; i < MAX_TRIES + 3; i++) waits.push(r2.lost({ wall: t })?.waitMs ?? null);
  assert.equal(waits.filter((w) => w !== null).length, MAX_TRIES);
  assert.ok(waits.slice(0, MAX_TRIES).every((w) => w <= 10000));
  assert.equal(waits[MAX_TRIES], null);
  r2.reset();
  assert.notEqual(r2.lost({ wall: t }), null);
});
