// One live tile: a <video> fed through Media Source Extensions from
// GET /api/v1/cameras/{id}/live (WebSocket, session cookie): text `init`
// with the RFC 6381 codec, a binary init segment, binary fragments,
// `stall`/`resumed`. The camera's snapshot shows until the first frame
// plays; a lost connection reconnects with a bounded backoff; the
// SourceBuffer keeps about 30 s (state/live.js says how much and when).
import { Backoff, seekTarget, tileState, trimRange } from '../state/live.js';
import { cameraPath } from '../api.js';

const MAX_PENDING = 250;  // fragments waiting for the SourceBuffer (10 s at 25 fps)

const rangesOf = (sb) => {
  const out = [];
  try {
    for (let i = 0; i < sb.buffered.length; i++) out.push([sb.buffered.start(i), sb.buffered.end(i)]);
  } catch (e) {
    // the SourceBuffer was removed from its MediaSource meanwhile
  }
  return out;
};

export class LiveTile {
  // view: {video, img} elements of the tile; onState(state, detail) tells
  // the grid what to show over it.
  constructor({ camera, stream, video, img, onState }) {
    Object.assign(this, { camera, stream, video, img, onState });
    this.backoff = new Backoff();
    this.ws = null;
    this.ms = null;
    this.sb = null;
    this.url = null;
    this.pending = [];
    this.timer = null;
    this.stopped = false;
    this.playing = false;
    this.stalled = false;
    this.retryAt = 0;
    this.codec = '';
    this.error = '';
    this.cameraStatus = '';
    this.recordingMode = '';
    this.fragments = 0;
    this.connects = 0;  // sockets opened (shown as data-connects: reconnects are visible)
    this.onTime = () => this.timeUpdate();
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.addEventListener('timeupdate', this.onTime);
    // A decode error ends this MediaSource: start again (after the backoff).
    this.onError = () => {
      if (!this.ms) return;
      if (this.ws) this.ws.close();
      else this.lost();
    };
    video.addEventListener('error', this.onError);
  }

  state() {
    if (this.error) return 'error';
    return tileState({
      cameraStatus: this.cameraStatus, recordingMode: this.recordingMode,
      socket: this.ws || this.ms ? 'open' : 'closed', stalled: this.stalled, playing: this.playing,
      retryIn: this.retryAt ? Math.max(1, Math.ceil((this.retryAt - Date.now()) / 1000)) : 0,
    });
  }

  report() {
    const st = this.state();
    this.onState(st, {
      retryIn: this.retryAt ? Math.max(1, Math.ceil((this.retryAt - Date.now()) / 1000)) : 0,
      codec: this.codec, error: this.error, connects: this.connects, firstFrameMs: this.firstFrameMs,
    });
  }

  // The camera's registry status and recording mode (cameras panel); an
  // offline camera shows at once, one back online is tried at once.
  setCamera(status, mode) {
    const wasDown = this.cameraStatus && this.cameraStatus !== 'online';
    this.cameraStatus = status || '';
    this.recordingMode = mode || '';
    if (this.stopped) return;
    if (this.recordingMode === 'off') {
      this.teardown();
      clearTimeout(this.timer);
      this.retryAt = 0;
    } else if (wasDown && status === 'online' && !this.ws) {
      clearTimeout(this.timer);
      this.backoff.reset();
      this.connect();
    } else if (!this.ws && !this.ms && !this.timer && !this.error) {
      this.connect();
    }
    this.report();
  }

  start() {
    this.showSnapshot();
    if (this.recordingMode !== 'off') this.connect();
    this.report();
  }

  showSnapshot() {
    // Until the first frame: the camera's current picture (the server
    // fetches it at most once a second per camera, whoever asks).
    this.img.hidden = false;
    this.img.onerror = () => { this.img.hidden = true; };
    this.img.src = cameraPath(this.camera, `/snapshot.jpg?t=${Date.now()}`);
  }

  connect() {
    if (this.stopped || this.ws || this.ms) return;
    this.timer = null;
    this.retryAt = 0;
    this.error = '';
    this.startedAt = performance.now();
    this.playing = false;
    this.stalled = false;
    this.pending = [];
    this.sb = null;
    this.ms = new MediaSource();
    this.url = URL.createObjectURL(this.ms);
    this.video.src = this.url;
    const ms = this.ms;
    ms.addEventListener('sourceopen', () => {
      if (this.ms !== ms || this.stopped) return;
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const ws = new WebSocket(`${proto}//${location.host}${cameraPath(this.camera, '/live')}?stream=${this.stream}`);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      this.connects += 1;
      ws.onmessage = (m) => { if (this.ws === ws) this.receive(m.data); };
      ws.onclose = () => { if (this.ws === ws) this.lost(); };
      this.report();
    }, { once: true });
    this.report();
  }

  receive(data) {
    if (typeof data === 'string') {
      let msg;
      try {
        msg = JSON.parse(data);
      } catch (e) {
        return;
      }
      if (msg.type === 'init') this.init(msg);
      if (msg.type === 'stall') this.stalled = true;
      if (msg.type === 'resumed') this.stalled = false;
      this.report();
      return;
    }
    if (!this.sb) return;
    if (this.pending.length >= MAX_PENDING) {
      // The page cannot keep up (hidden tab, slow machine): start again at
      // the server's kept GOP rather than hold ever more.
      this.ws.close();
      return;
    }
    this.pending.push(data);
    this.pump();
  }

  init(msg) {
    const type = `video/mp4; codecs="${msg.codec}"`;
    this.codec = String(msg.codec);
    if (!MediaSource.isTypeSupported(type)) {
      this.error = 'unsupported';  // stays until the tile is rebuilt: retrying cannot help
      this.teardown();
      return;
    }
    try {
      if (!this.sb) {
        this.sb = this.ms.addSourceBuffer(type);
        this.sb.mode = 'segments';
        this.sb.addEventListener('updateend', () => this.updated());
        this.sb.addEventListener('error', () => this.ws?.close());
      } else if (msg.codec !== this.sbCodec && this.sb.changeType) {
        this.sb.changeType(type);  // a format change at the camera
      }
      this.sbCodec = msg.codec;
    } catch (e) {
      this.ws?.close();  // the MediaSource is gone or refuses: start again
    }
  }

  pump() {
    const sb = this.sb;
    if (!sb || sb.updating || this.pending.length === 0) return;
    try {
      sb.appendBuffer(this.pending[0]);
      this.pending.shift();
      this.fragments += 1;
    } catch (e) {
      if (e.name === 'QuotaExceededError') {
        // Full: drop all but the last few seconds, try again after.
        const r = rangesOf(sb);
        if (r.length && this.video.currentTime - 2 > r[0][0]) sb.remove(r[0][0], this.video.currentTime - 2);
        else this.ws?.close();
      } else {
        this.ws?.close();
      }
    }
  }

  updated() {
    const sb = this.sb;
    if (!sb || sb.updating) return;
    const ranges = rangesOf(sb);
    const to = seekTarget(ranges, this.video.currentTime);
    if (to !== null) this.video.currentTime = to;
    if (this.video.paused) this.video.play().catch(() => {});
    if (this.pending.length) {
      this.pump();
      return;
    }
    const cut = trimRange(ranges, this.video.currentTime);
    try {
      if (cut) sb.remove(cut[0], cut[1]);
    } catch (e) {
      // the SourceBuffer left its MediaSource meanwhile (teardown)
    }
  }

  timeUpdate() {
    if (!this.playing && this.video.currentTime > 0 && this.video.readyState >= 2) {
      this.playing = true;
      // From this connection's start to a moving picture (shown as
      // data-first-frame-ms: the figure an operator feels).
      this.firstFrameMs = Math.round(performance.now() - this.startedAt);
      this.img.hidden = true;
      this.backoff.reset();
      this.report();
    }
  }

  // The socket closed (camera gone, server restart, network, too slow):
  // try again after the backoff; the tile shows why meanwhile.
  lost() {
    this.teardown();
    if (this.stopped) return;
    this.showSnapshot();
    const wait = this.backoff.next();
    this.retryAt = Date.now() + wait;
    this.timer = setTimeout(() => this.connect(), wait);
    this.report();
  }

  teardown() {
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.pending = [];
    this.sb = null;
    this.playing = false;
    this.stalled = false;
    if (this.ms && this.ms.readyState === 'open') {
      try {
        this.ms.endOfStream();
      } catch (e) {
        // already ended
      }
    }
    this.ms = null;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = null;
    this.video.removeAttribute('src');
    this.video.load();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.video.removeEventListener('timeupdate', this.onTime);
    this.video.removeEventListener('error', this.onError);
    this.teardown();
    this.img.removeAttribute('src');
  }
}
