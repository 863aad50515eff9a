// A camera's timeline without the DOM: the shown window of time, zoom and
// pan (a minute to 90 days), and the layout of what the server said in
// pixels: recorded ranges (gaps are what lies between them), event markers
// by kind, bookmarks, evidence holds. Times are milliseconds since the
// epoch; x is in CSS pixels from the left edge. What is closer than a pixel
// is merged, so the drawing costs at most a few items per pixel whatever
// the zoom (90 days of one-minute segments are 129,600 of them).

export const MIN_SPAN = 60 * 1000;              // a minute
export const MAX_SPAN = 90 * 24 * 3600 * 1000;  // 90 days
// The zoom buttons' spans.
export const SPANS = [MIN_SPAN, 10 * 60e3, 3600e3, 6 * 3600e3, 24 * 3600e3, 7 * 24 * 3600e3,
  30 * 24 * 3600e3, MAX_SPAN];
// The event kinds drawn, one lane each (docs/events.md), in this order.
export const KINDS = ['motion', 'line_crossing', 'intrusion', 'tamper', 'video_loss', 'io_input',
  'health', 'other'];

const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
const ms = (s) => (typeof s === 'number' ? s : Date.parse(s));

// The window [from, to) ending at `end` (now, by default) and `span` long.
export function windowEnding(end, span = 3600e3) {
  const s = clamp(span, MIN_SPAN, MAX_SPAN);
  return { from: end - s, to: end };
}

// Zoomed by factor (< 1: in) around time `at`, which stays where it is on
// the screen; the span stays within a minute and 90 days, the window does
// not reach past `now` (nothing is recorded in the future).
export function zoom(view, factor, at = (view.from + view.to) / 2, now = Infinity) {
  const span = view.to - view.from;
  const next = clamp(span * factor, MIN_SPAN, MAX_SPAN);
  const frac = span > 0 ? clamp((at - view.from) / span, 0, 1) : 0.5;
  const from = at - frac * next;
  return limit({ from, to: from + next }, now);
}

// The same span, shown from `fraction` of a span later (negative: earlier).
export function pan(view, fraction, now = Infinity) {
  const d = (view.to - view.from) * fraction;
  return limit({ from: view.from + d, to: view.to + d }, now);
}

// The window with the same span around time t (t at its middle).
export function centre(view, t, now = Infinity) {
  const half = (view.to - view.from) / 2;
  return limit({ from: t - half, to: t + half }, now);
}

function limit(view, now) {
  if (view.to <= now) return { from: Math.round(view.from), to: Math.round(view.to) };
  const span = view.to - view.from;
  return { from: Math.round(now - span), to: Math.round(now) };
}

export const xAt = (view, width, t) => ((t - view.from) * width) / (view.to - view.from);
export const timeAt = (view, width, x) => Math.round(view.from + (x * (view.to - view.from)) / width);

// Recorded ranges [{from, to}] (RFC 3339 or ms) as bars [{x0, x1, from, to}]
// within [0, width]: clipped to the view, and a bar that starts less than
// a pixel after the previous ends joins it (a gap narrower than a pixel is
// not drawn); every bar is at least a pixel wide, so a short recording
// stays visible at 90 days.
export function layoutRanges(ranges, view, width) {
  const out = [];
  for (const r of ranges) {
    const from = Math.max(ms(r.from), view.from);
    const to = Math.min(ms(r.to), view.to);
    if (!(to > from)) continue;
    const x0 = xAt(view, width, from);
    const x1 = Math.max(xAt(view, width, to), x0 + 1);
    const last = out[out.length - 1];
    if (last && x0 - last.x1 < 1) {
      last.x1 = Math.max(last.x1, x1);
      last.to = Math.max(last.to, to);
    } else {
      out.push({ x0, x1, from, to });
    }
  }
  return out;
}

// The gaps drawn: between the bars, and before the first and after the
// last within the window up to `end` (the present: after it nothing is
// missing yet).
export function layoutGaps(bars, view, width, end = view.to) {
  const right = Math.min(width, xAt(view, width, Math.min(end, view.to)));
  const out = [];
  let x = 0;
  for (const b of bars) {
    if (b.x0 - x >= 1) out.push({ x0: x, x1: b.x0 });
    x = Math.max(x, b.x1);
  }
  if (right - x >= 1) out.push({ x0: x, x1: right });
  return out;
}

// Point items (events, bookmarks) in the view as markers [{x, time, count,
// kind, items}], one per pixel column and lane: `laneOf(item)` says the lane
// (an event's kind); items must come ordered by time. `items` keeps the
// first few (a tooltip names them), count says how many there are.
export function layoutMarks(items, view, width, laneOf = () => '', timeOf = (i) => ms(i.time)) {
  const lanes = new Map();
  const out = [];
  for (const it of items) {
    const time = timeOf(it);
    if (!(time >= view.from && time < view.to)) continue;
    const kind = laneOf(it);
    const col = Math.floor(xAt(view, width, time));
    const last = lanes.get(kind);
    if (last && col === last.col) {
      last.count += 1;
      if (last.items.length < 5) last.items.push(it);
      continue;
    }
    const m = { x: col + 0.5, col, time, kind, count: 1, items: [it] };
    lanes.set(kind, m);
    out.push(m);
  }
  return out;
}

// Spans (holds, the chosen export range) as [{x0, x1, item}] clipped to
// the view, at least a pixel wide.
export function layoutSpans(spans, view, width) {
  const out = [];
  for (const s of spans) {
    const from = Math.max(ms(s.from), view.from);
    const to = Math.min(ms(s.to), view.to);
    if (!(to > from)) continue;
    const x0 = xAt(view, width, from);
    out.push({ x0, x1: Math.max(xAt(view, width, to), x0 + 1), item: s });
  }
  return out;
}

// The time of the next event strictly after t (dir > 0) or the previous
// strictly before it (dir < 0), or null. times: ascending ms.
export function stepEvent(times, t, dir) {
  let lo = 0;
  let hi = times.length;
  // first index with times[i] > t (dir > 0) or >= t (dir < 0)
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (dir > 0 ? times[mid] <= t : times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  if (dir > 0) return lo < times.length ? times[lo] : null;
  return lo > 0 ? times[lo - 1] : null;
}

// Whether time t is recorded (in one of the ranges).
export function recordedAt(ranges, t) {
  return ranges.some((r) => ms(r.from) <= t && t < ms(r.to));
}

const STEPS = [1e3, 5e3, 10e3, 30e3, 60e3, 5 * 60e3, 10 * 60e3, 30 * 60e3, 3600e3, 3 * 3600e3,
  6 * 3600e3, 12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3, 14 * 86400e3, 30 * 86400e3];

// Tick marks at least minPx apart, on round times (local time: offsetMs is
// the time zone's offset, minutes east of UTC times 60000, so midnight is a
// tick where the operator is). [{x, time, step}].
export function ticks(view, width, minPx = 90, offsetMs = 0) {
  const perPx = (view.to - view.from) / width;
  const step = STEPS.find((s) => s / perPx >= minPx) ?? STEPS[STEPS.length - 1];
  const out = [];
  let t = Math.ceil((view.from + offsetMs) / step) * step - offsetMs;
  for (let i = 0; t < view.to && i < 1000; i++, t += step) out.push({ x: xAt(view, width, t), time: t, step });
  return out;
}

// The chosen range for an export from two clicked times, in order, or null
// when they are the same.
export function rangeOf(a, b) {
  if (a === null || b === null || a === b) return null;
  return { from: Math.min(a, b), to: Math.max(a, b) };
}
