import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as T from '../js/state/timeline.js';

const DAY = 86400e3;
const END = Date.parse('2026-12-07T12:00:00Z');

test('zoom stays between a minute and 90 days, around the pointer, never past now', () => {
  const v = T.windowEnding(END, 3600e3);
  assert.deepEqual(v, { from: END - 3600e3, to: END });
  const inMost = T.zoom(v, 1e-9, END - 1800e3);
  assert.equal(inMost.to - inMost.from, T.MIN_SPAN);
  assert.equal(inMost.from, END - 1800e3 - 30e3);  // the pointer stays mid-screen
  const outMost = T.zoom(v, 1e9, END, END);
  assert.equal(outMost.to - outMost.from, T.MAX_SPAN);
  assert.equal(outMost.to, END);
  assert.deepEqual(T.pan(v, 1, END), v);  // not into the future
  assert.deepEqual(T.pan(v, -0.5, END), { from: END - 5400e3, to: END - 1800e3 });
  assert.deepEqual(T.windowEnding(END, 1), { from: END - T.MIN_SPAN, to: END });
});

test('one minute: every second a pixel apart, a gap of a second drawn', () => {
  const view = { from: END - 60e3, to: END };
  const width = 1200;  // 20 px a second
  const ranges = [{ from: new Date(END - 120e3).toISOString(), to: new Date(END - 30e3).toISOString() },
    { from: END - 29e3, to: END - 10e3 }];
  const bars = T.layoutRanges(ranges, view, width);
  assert.equal(bars.length, 2);
  assert.deepEqual([bars[0].x0, bars[0].x1], [0, 600]);  // clipped to the view
  assert.deepEqual([bars[1].x0, bars[1].x1], [620, 1000]);
  assert.deepEqual(T.layoutGaps(bars, view, width), [{ x0: 600, x1: 620 }, { x0: 1000, x1: 1200 }]);
  // a gap after the present is not missing footage
  assert.deepEqual(T.layoutGaps(bars, view, width, END - 10e3), [{ x0: 600, x1: 620 }]);
  const events = [END - 50e3, END - 49.9e3, END - 49e3].map((t) => ({ time: new Date(t).toISOString(), kind: 'motion' }));
  const marks = T.layoutMarks(events, view, width, (e) => e.kind);
  assert.deepEqual(marks.map((m) => [m.col, m.count]), [[200, 1], [202, 1], [220, 1]]);
  assert.equal(T.timeAt(view, width, 600), END - 30e3);
  assert.equal(T.xAt(view, width, END - 30e3), 600);
});

test('90 days of one-minute segments with gaps fold into a few bars', () => {
  const view = { from: END - 90 * DAY, to: END };
  const width = 1500;  // 86.4 min a pixel
  const ranges = [];
  for (let t = view.from; t < END; t += 60e3) {
    // a 5 s hole every minute (narrower than a pixel) and a 6 h outage on day 45
    if (t >= view.from + 45 * DAY && t < view.from + 45 * DAY + 6 * 3600e3) continue;
    ranges.push({ from: t, to: t + 55e3 });
  }
  assert.equal(ranges.length, 129600 - 360);
  const bars = T.layoutRanges(ranges, view, width);
  assert.equal(bars.length, 2);
  assert.equal(bars[0].x0, 0);
  assert.ok(Math.abs(bars[1].x1 - width) < 1);
  const gaps = T.layoutGaps(bars, view, width);
  assert.equal(gaps.length, 1);
  assert.ok(Math.abs(gaps[0].x0 - 750) < 1.1 && Math.abs(gaps[0].x1 - 754.2) < 1.1, JSON.stringify(gaps));
  // a 10 s recording alone is still a pixel wide
  const lone = T.layoutRanges([{ from: END - DAY, to: END - DAY + 10e3 }], view, width);
  assert.equal(lone.length, 1);
  assert.equal(lone[0].x1 - lone[0].x0, 1);
  // events: 10,000 motion and 100 tamper over 90 days: at most one marker a pixel a kind
  const events = [];
  for (let i = 0; i < 10000; i++) events.push({ time: view.from + i * 777e3, kind: i % 100 ? 'motion' : 'tamper' });
  const marks = T.layoutMarks(events, view, width, (e) => e.kind, (e) => e.time);
  const motion = marks.filter((m) => m.kind === 'motion');
  assert.ok(motion.length <= width, motion.length);
  assert.equal(motion.reduce((n, m) => n + m.count, 0), 9900);
  assert.equal(marks.filter((m) => m.kind === 'tamper').length, 100);
  assert.ok(marks.every((m) => m.items.length <= 5));
});

test('step to the next and the previous event', () => {
  const times = [10, 20, 20, 30];
  assert.equal(T.stepEvent(times, 0, 1), 10);
  assert.equal(T.stepEvent(times, 10, 1), 20);
  assert.equal(T.stepEvent(times, 20, 1), 30);
  assert.equal(T.stepEvent(times, 30, 1), null);
  assert.equal(T.stepEvent(times, 30, -1), 20);
  assert.equal(T.stepEvent(times, 20, -1), 10);
  assert.equal(T.stepEvent(times, 10, -1), null);
  assert.equal(T.stepEvent([], 5, 1), null);
});

test('ticks on round local times, holds and the export range as spans', () => {
  const view = { from: END - 3600e3, to: END };
  const ts = T.ticks(view, 1200, 90);
  assert.equal(ts[0].step, 5 * 60e3);  // 100 px apart
  assert.ok(ts.every((k) => k.time % ts[0].step === 0));
  const cest = T.ticks(view, 1200, 90, 3600e3);
  assert.ok(cest.every((k) => (k.time + 3600e3) % k.step === 0));
  const day = T.ticks({ from: END - 90 * DAY, to: END }, 1500, 90);
  assert.ok(day.length >= 5 && day.length <= 17, day.length);
  assert.deepEqual(T.layoutSpans([{ from: END - 7200e3, to: END - 1800e3 }], view, 1200).map((s) => [s.x0, s.x1]), [[0, 600]]);
  assert.deepEqual(T.rangeOf(5, 2), { from: 2, to: 5 });
  assert.equal(T.rangeOf(5, 5), null);
  assert.ok(T.recordedAt([{ from: 0, to: 10 }], 5));
  assert.ok(!T.recordedAt([{ from: 0, to: 10 }], 10));
});
