// The playback stream's clock without the DOM. The server's fMP4 media time
// runs on without holes from 0 (over gaps and after seeks alike); its text
// messages say which wall time a media time is:
//   {"type":"start","time":T,"keyframe":K,"media_time":m,"speed":s}  T is at m
//   {"type":"gap","from":A,"to":B,"media_time":m}                     B is at m
// Between anchors media time and wall time run together (footage time; the
// server paces it at the speed, the <video> plays it at playbackRate).

import { Backoff } from './live.js';

export const SPEEDS = [1, 2, 4, 8];

export class MediaClock {
  constructor() {
    this.anchors = [];  // [{media (s), wall (ms)}], ascending media time
  }

  reset() {
    this.anchors = [];
  }

  // From a start or gap message; returns the anchor, or null when the
  // message carries none (or a malformed one).
  add(msg) {
    const wall = Date.parse(msg.type === 'gap' ? msg.to : msg.time);
    const media = Number(msg.media_time);
    if (!Number.isFinite(wall) || !Number.isFinite(media) || media < 0) return null;
    // A later anchor replaces those at or after its media time (a seek
    // continues the media time where the stream was).
    while (this.anchors.length && this.anchors[this.anchors.length - 1].media >= media) this.anchors.pop();
    const a = { media, wall };
    this.anchors.push(a);
    if (this.anchors.length > 1000) this.anchors.shift();  // bounded: only the recent past is shown
    return a;
  }

  // The wall time (ms) shown at media time m, or null before any anchor.
  wallAt(m) {
    let a = null;
    for (let i = this.anchors.length - 1; i >= 0; i--) {
      if (this.anchors[i].media <= m) {
        a = this.anchors[i];
        break;
      }
    }
    a ??= this.anchors[0];
    if (!a) return null;
    return Math.round(a.wall + (m - a.media) * 1000);
  }
}

// The message that changes the speed, or null for one not offered.
export const speedMessage = (s) => (SPEEDS.includes(s) ? { type: 'speed', value: s } : null);

// RFC 3339 (UTC, milliseconds) of a time in ms.
export const rfc3339 = (t) => new Date(t).toISOString();

// The playback path for a camera from time t (ms) at speed s.
export const playbackQuery = (t, s = 1) => `?from=${encodeURIComponent(rfc3339(t))}${s !== 1 ? `&speed=${s}` : ''}`;

// How far (s) the playhead may be from where the stream starts or resumes
// before the player moves it there (a seek, a start after a pause).
export const SNAP = 0.25;

// Where the player puts the playhead after an anchor from `start`: at the
// anchor's media time, once it is buffered (else null: wait).
export function startTarget(ranges, media, currentTime) {
  if (Math.abs(currentTime - media) < SNAP) return null;
  return ranges.some(([a, b]) => a - SNAP <= media && media < b) ? media : null;
}

// After the playback socket was lost (a server restart, the network, a page
// that fell behind): where and when to open it again. The stream never ends
// by itself (it waits at the live edge), so every loss is retried, at the
// wall time last shown (or the seek not yet answered), at the same speed,
// paused if it was, after a capped backoff like a live tile's. Only
// MAX_TRIES losses in a row with no `start` between (the footage is gone,
// the camera was removed) give up.
export const MAX_TRIES = 8;

export class Reconnect {
  constructor({ backoff = new Backoff(), maxTries = MAX_TRIES } = {}) {
    Object.assign(this, { backoff, maxTries, tries: 0 });
  }

  // A `start` came: the stream plays again.
  started() {
    this.tries = 0;
    this.backoff.reset();
  }

  // A new playback chosen by the user.
  reset() {
    this.started();
  }

  // The player as it was when the socket closed: {wall, seeking, speed,
  // paused} (times in ms, null when unknown). Returns {from, speed, paused,
  // waitMs}, or null: give up (nothing to resume from, or too many tries).
  lost({ wall, seeking = null, speed = 1, paused = false }) {
    const from = seeking ?? wall;
    if (from === null || from === undefined || !Number.isFinite(from)) return null;
    if (this.tries >= this.maxTries) return null;
    this.tries += 1;
    return { from, speed: SPEEDS.includes(speed) ? speed : 1, paused: !!paused, waitMs: this.backoff.next() };
  }
}
