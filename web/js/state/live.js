// Policies of a live tile without the DOM or MediaSource: what to remove
// from the SourceBuffer, when to jump to the live edge, how long to wait
// before reconnecting.

export const KEEP_SECONDS = 30;   // buffered media kept behind the playhead, about
export const TRIM_SLACK = 10;     // remove only when this much more piled up (fewer removes)
export const MAX_LAG = 3;         // behind the live edge by more: jump

// ranges: [[start, end], ...] as SourceBuffer.buffered says. Returns the
// [start, end) to remove (everything older than KEEP_SECONDS behind the
// playhead), or null when there is little enough.
export function trimRange(ranges, currentTime, keep = KEEP_SECONDS, slack = TRIM_SLACK) {
  if (!ranges.length) return null;
  const start = ranges[0][0];
  const end = currentTime - keep;
  if (end - start < slack) return null;
  return [start, end];
}

// Where to put the playhead: at the start of the first range when it is
// before it (a live stream starts where its first fragment is), near the
// live edge when it lags more than MAX_LAG (after a stall or a hidden tab);
// else null (leave it).
export function seekTarget(ranges, currentTime, maxLag = MAX_LAG) {
  if (!ranges.length) return null;
  const last = ranges[ranges.length - 1];
  if (currentTime < ranges[0][0]) return ranges[0][0];
  if (last[1] - currentTime > maxLag) return Math.max(last[0], last[1] - 0.5);
  return null;
}

// Capped exponential backoff with jitter; reset() after a picture played.
// rng is injected (tests pass a fixed one).
export class Backoff {
  constructor({ baseMs = 500, maxMs = 10000, rng = Math.random } = {}) {
    Object.assign(this, { baseMs, maxMs, rng, attempt: 0 });
  }

  next() {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    // Between half and all of the ceiling: viewers of a camera that comes
    // back do not all knock at once.
    return Math.round(ceiling / 2 + (this.rng() * ceiling) / 2);
  }

  reset() {
    this.attempt = 0;
  }
}

// The tile's state from what is known: the camera's status (registry), the
// socket, the stream's messages. Offline wins at once, before any timeout.
export function tileState({ cameraStatus, recordingMode, socket, stalled, playing, retryIn }) {
  if (recordingMode === 'off') return 'not_recorded';
  if (cameraStatus && cameraStatus !== 'online' && cameraStatus !== 'connecting') return 'offline';
  if (socket === 'closed') return retryIn > 0 ? 'reconnecting' : 'offline';
  if (stalled) return 'stalled';
  if (playing) return 'playing';
  return 'connecting';
}
