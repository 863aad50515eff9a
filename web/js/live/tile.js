// One live tile: a <video> fed through Media Source Extensions from
// GET /api/v1/cameras/{id}/live (WebSocket, session cookie): text `init`
// with the RFC 6381 codec, a binary init segment, binary fragments,
// `stall`/`resumed`. The camera's snapshot shows until the first frame
// plays; a lost connection reconnects with a bounded backoff. The
// MediaSource part (append, trim to about 30 s, caps) is live/mse.js,
// shared with the playback player.
import { Backoff, seekTarget, tileState } from '../state/live.js';
import { MseFeed } from './mse.js';
import { cameraPath } from '../api.js';

export class LiveTile {
  // view: {video, img} elements of the tile; onState(state, detail) tells
  // the grid what to show over it.
  constructor({ camera, stream, video, img, onState }) {
    Object.assign(this, { camera, stream, video, img, onState });
    this.backoff = new Backoff();
    this.feed = null;  // the MseFeed of the current connection
    this.timer = null;
    this.stopped = false;
    this.playing = false;
    this.stalled = false;
    this.retryAt = 0;
    this.codec = '';
    this.error = '';
    this.cameraStatus = '';
    this.recordingMode = '';
    this.connects = 0;  // sockets opened (shown as data-connects: reconnects are visible)
    this.onTime = () => this.timeUpdate();
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.addEventListener('timeupdate', this.onTime);
    // A decode error ends this MediaSource: start again (after the backoff).
    this.onError = () => {
      if (!this.feed) return;
      if (this.feed.ws) this.feed.drop();
      else this.lost();
    };
    video.addEventListener('error', this.onError);
  }

  state() {
    if (this.error) return 'error';
    return tileState({
      cameraStatus: this.cameraStatus, recordingMode: this.recordingMode,
      socket: this.feed ? 'open' : 'closed', stalled: this.stalled, playing: this.playing,
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
    } else if (wasDown && status === 'online' && !this.feed?.ws) {
      clearTimeout(this.timer);
      this.backoff.reset();
      this.connect();
    } else if (!this.feed && !this.timer && !this.error) {
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
    if (this.stopped || this.feed) return;
    this.timer = null;
    this.retryAt = 0;
    this.error = '';
    this.startedAt = performance.now();
    this.playing = false;
    this.stalled = false;
    const feed = new MseFeed({
      video: this.video,
      url: `${cameraPath(this.camera, '/live')}?stream=${this.stream}`,
      onOpen: () => {
        this.connects += 1;
        this.report();
      },
      onText: (msg) => {
        if (msg.type === 'init') this.codec = String(msg.codec);
        if (msg.type === 'stall') this.stalled = true;
        if (msg.type === 'resumed') this.stalled = false;
        this.report();
      },
      onClose: () => { if (this.feed === feed) this.lost(); },
      onUnsupported: (codec) => {
        this.codec = codec;
        this.error = 'unsupported';  // stays until the tile is rebuilt: retrying cannot help
        this.teardown();
        this.report();
      },
      // A live stream starts where its first fragment is, and keeps near
      // the live edge (state/live.js seekTarget).
      afterAppend: (ranges) => {
        const to = seekTarget(ranges, this.video.currentTime);
        if (to !== null) this.video.currentTime = to;
      },
    });
    this.feed = feed;
    this.report();
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
    const feed = this.feed;
    this.feed = null;
    feed?.close();
    this.playing = false;
    this.stalled = false;
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
