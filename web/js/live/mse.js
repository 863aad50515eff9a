// Media Source Extensions fed from one of the server's fMP4 WebSockets (live
// view and playback are framed alike): text `init` with the RFC 6381 codec,
// a binary init segment, binary fragments, other text messages. One
// SourceBuffer (`segments` mode), appended one message at a time in order;
// what lies more than 30 s behind the playhead is removed (state/live.js
// trimRange); the fragments waiting are capped. A LiveTile and the Player
// each own one MseFeed per connection and decide what a closed socket means.
import { trimRange } from '../state/live.js';

export const MAX_PENDING = 250;  // fragments waiting for the SourceBuffer (10 s at 25 fps)

export const rangesOf = (sb) => {
  const out = [];
  try {
    for (let i = 0; i < sb.buffered.length; i++) out.push([sb.buffered.start(i), sb.buffered.end(i)]);
  } catch (e) {
    // the SourceBuffer was removed from its MediaSource meanwhile
  }
  return out;
};

export class MseFeed {
  // video: the <video>; url: the WebSocket's path and query (same origin);
  // onOpen(): the socket was made; onText(msg): every text message (after
  // `init` was applied); onClose(): the socket closed (not after close());
  // onUnsupported(codec); afterAppend(ranges): the SourceBuffer is idle (the
  // owner may move the playhead); wantsPlay(): whether to start a paused video.
  constructor({ video, url, onOpen = () => {}, onText = () => {}, onClose = () => {},
    onUnsupported = () => {}, afterAppend = () => {}, wantsPlay = () => true }) {
    Object.assign(this, { video, url, onOpen, onText, onClose, onUnsupported, afterAppend, wantsPlay });
    this.ws = null;
    this.sb = null;
    this.sbCodec = '';
    this.codec = '';
    this.pending = [];
    this.fragments = 0;
    this.closed = false;
    this.ms = new MediaSource();
    this.objectUrl = URL.createObjectURL(this.ms);
    video.src = this.objectUrl;
    const ms = this.ms;
    ms.addEventListener('sourceopen', () => {
      if (this.closed || this.ms !== ms) return;
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      const ws = new WebSocket(`${proto}//${location.host}${url}`);
      ws.binaryType = 'arraybuffer';
      this.ws = ws;
      ws.onmessage = (m) => { if (this.ws === ws) this.receive(m.data); };
      ws.onclose = () => {
        if (this.ws !== ws) return;
        this.close();
        this.onClose();
      };
      this.onOpen();
    }, { once: true });
  }

  get open() { return !this.closed; }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  // Ends the socket (onClose follows, as for any close).
  drop() {
    if (this.ws) this.ws.close();
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
      if (!this.closed) this.onText(msg);
      return;
    }
    if (!this.sb) return;
    if (this.pending.length >= MAX_PENDING) {
      // The page cannot keep up (hidden tab, slow machine): the owner starts
      // again rather than hold ever more.
      this.drop();
      return;
    }
    this.pending.push(data);
    this.pump();
  }

  init(msg) {
    const type = `video/mp4; codecs="${msg.codec}"`;
    this.codec = String(msg.codec);
    if (!MediaSource.isTypeSupported(type)) {
      this.close();
      this.onUnsupported(this.codec);
      return;
    }
    try {
      if (!this.sb) {
        this.sb = this.ms.addSourceBuffer(type);
        this.sb.mode = 'segments';
        this.sb.addEventListener('updateend', () => this.updated());
        this.sb.addEventListener('error', () => this.drop());
      } else if (msg.codec !== this.sbCodec && this.sb.changeType) {
        this.sb.changeType(type);  // a format change at the camera
      }
      this.sbCodec = msg.codec;
    } catch (e) {
      this.drop();  // the MediaSource is gone or refuses: start again
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
        else this.drop();
      } else {
        this.drop();
      }
    }
  }

  updated() {
    const sb = this.sb;
    if (!sb || sb.updating) return;
    const ranges = rangesOf(sb);
    this.afterAppend(ranges);
    if (this.video.paused && this.wantsPlay()) this.video.play().catch(() => {});
    if (this.pending.length) {
      this.pump();
      return;
    }
    const cut = trimRange(ranges, this.video.currentTime);
    try {
      if (cut) sb.remove(cut[0], cut[1]);
    } catch (e) {
      // the SourceBuffer left its MediaSource meanwhile (close)
    }
  }

  buffered() {
    return this.sb ? rangesOf(this.sb) : [];
  }

  // Ends the socket and the MediaSource without onClose; the <video> is
  // emptied. Idempotent.
  close() {
    if (this.closed) return;
    this.closed = true;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.pending = [];
    this.sb = null;
    if (this.ms.readyState === 'open') {
      try {
        this.ms.endOfStream();
      } catch (e) {
        // already ended
      }
    }
    URL.revokeObjectURL(this.objectUrl);
    this.video.removeAttribute('src');
    this.video.load();
  }
}
