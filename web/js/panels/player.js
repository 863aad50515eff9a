// The player: a camera's recorded footage from a time on, over the playback
// WebSocket GET /api/v1/cameras/{id}/playback?from=T[&speed=S] (framed like
// live view; the MediaSource part is live/mse.js, shared with the live
// tiles). The stream's start and gap messages map its media time to the
// wall clock (state/playback.js); the wall time under the playhead is the
// timeline's cursor. Speeds 1/2/4/8 (the server paces, the <video> plays at
// the same rate), pause/play, a seek is a message on the same socket; gaps
// and the live edge are shown; a bookmark marks the moment on the screen. A
// lost socket is opened again at the time last shown (state/playback.js
// Reconnect), as the live tiles do.
import { MediaClock, SPEEDS, speedMessage, playbackQuery, rfc3339, startTarget, Reconnect } from '../state/playback.js';
import { MseFeed } from '../live/mse.js';
import { api, failure, errorText, cameraPath } from '../api.js';
import { t, onLanguage, locale } from '../i18n.js';

const $ = (id) => document.getElementById(id);

export class PlayerPanel {
  // cameraName(id); onTime(ms|null): the wall time shown; onBookmark(): one was added.
  constructor({ cameraName, onTime, onBookmark }) {
    Object.assign(this, { cameraName, onTime, onBookmark });
    this.video = $('player-video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.clock = new MediaClock();
    this.feed = null;
    this.camera = '';
    this.speed = 1;
    this.paused = false;
    this.state = 'idle';  // idle, connecting, playing, paused, live, reconnecting, ended, error
    this.note = '';       // the last gap, the server's error, why it ended
    this.target = null;   // the media time to put the playhead at, once buffered
    this.wall = null;
    this.gap = null;
    this.session = 0;
    this.reconnect = new Reconnect();
    this.retry = null;    // the timer of the next try after a lost socket
    this.retryAt = 0;
    this.reconnects = 0;  // sockets opened again after a loss (data-reconnects)
    this.video.addEventListener('timeupdate', () => this.tick());
    this.video.addEventListener('error', () => {
      if (this.feed) this.end('player.decode');
    });
    $('player-toggle').addEventListener('click', () => this.togglePause());
    for (const s of SPEEDS) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'speed';
      b.dataset.speed = String(s);
      b.textContent = `${s}×`;
      b.addEventListener('click', () => this.setSpeed(s));
      $('player-speeds').append(b);
    }
    $('bookmark-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.bookmark();
    });
    onLanguage(() => this.render());
    this.render();
  }

  // Plays the camera from time `ms`: on the open socket a seek, else a new one.
  play(camera, ms) {
    this.reconnect.reset();
    if (this.feed && camera === this.camera && this.state !== 'ended' && this.state !== 'error') {
      this.feed.send({ type: 'seek', time: rfc3339(ms) });
      this.seeking = ms;
      this.note = '';
      this.gap = null;
      this.wall = ms;
      this.onTime(ms);
      this.render();
      return;
    }
    this.open(camera, ms);
  }

  // A new socket for the camera from time `ms` (a play, or a try after a loss).
  open(camera, ms) {
    this.stop();
    this.camera = camera;
    this.state = 'connecting';
    this.note = '';
    this.gap = null;
    this.wall = ms;
    this.seeking = ms;
    this.clock.reset();
    this.target = null;
    this.video.playbackRate = this.speed;
    const feed = new MseFeed({
      video: this.video,
      url: cameraPath(camera, '/playback') + playbackQuery(ms, this.speed),
      onText: (msg) => this.message(msg),
      onClose: () => { if (this.feed === feed) this.lost(); },
      onUnsupported: (codec) => {
        this.feed = null;
        this.state = 'error';
        this.note = t('tile.unsupported', { codec });
        this.render();
      },
      afterAppend: (ranges) => {
        if (this.target === null) return;
        const to = startTarget(ranges, this.target, this.video.currentTime);
        if (to !== null) this.video.currentTime = to;
        if (to !== null || Math.abs(this.video.currentTime - this.target) < 0.25) this.target = null;
      },
      wantsPlay: () => !this.paused,
    });
    this.feed = feed;
    this.onTime(ms);
    this.render();
  }

  message(msg) {
    switch (msg.type) {
      case 'init':
        this.codec = String(msg.codec);
        break;
      case 'start':
        // T is at media_time: the frames from the keyframe before it are skipped.
        if (this.clock.add(msg)) this.target = Number(msg.media_time);
        this.seeking = null;
        this.reconnect.started();
        // Opened again after a loss while paused: paused it stays.
        if (this.paused) this.feed?.send({ type: 'pause' });
        this.video.playbackRate = this.speed;
        if (this.state === 'connecting' || this.state === 'live') this.state = this.paused ? 'paused' : 'playing';
        break;
      case 'gap':
        this.clock.add(msg);
        this.gap = { from: Date.parse(msg.from), to: Date.parse(msg.to) };
        break;
      case 'live':
        // Frames come as they are recorded: faster than 1x would only stutter.
        this.state = 'live';
        this.video.playbackRate = 1;
        break;
      case 'paused':
      case 'playing':
      case 'speed':
        break;  // acknowledgements of ours
      case 'error':
        // A seek to where there is nothing: playback goes on where it was.
        this.note = String(msg.message || '');
        this.seeking = null;
        break;
      default:
        break;
    }
    this.render();
  }

  tick() {
    if (!this.feed) return;
    const wall = this.clock.wallAt(this.video.currentTime);
    if (wall === null || this.seeking != null || this.target !== null) return;
    this.wall = wall;
    if (this.state === 'connecting') this.state = this.paused ? 'paused' : 'playing';
    this.onTime(wall);
    this.renderTime();
  }

  setSpeed(s) {
    const msg = speedMessage(s);
    if (!msg) return;
    this.speed = s;
    if (this.state !== 'live') this.video.playbackRate = s;
    this.feed?.send(msg);
    this.render();
  }

  togglePause() {
    if (!this.feed) {
      // ended, or waiting to reconnect: start again where it stopped, now
      if (this.camera && this.wall !== null) this.play(this.camera, this.wall);
      return;
    }
    this.paused = !this.paused;
    this.feed.send({ type: this.paused ? 'pause' : 'play' });
    if (this.paused) this.video.pause();
    else this.video.play().catch(() => {});
    if (this.state !== 'connecting') this.state = this.paused ? 'paused' : 'playing';
    this.render();
  }

  // The socket closed by itself: open it again at the time last shown,
  // after the backoff; give up (ended) only after Reconnect's tries.
  lost() {
    const feed = this.feed;
    this.feed = null;
    feed?.close();
    const plan = this.reconnect.lost({
      wall: this.wall, seeking: this.seeking, speed: this.speed, paused: this.paused,
    });
    if (!plan) {
      this.end(this.note ? '' : 'player.closed');
      return;
    }
    const camera = this.camera;
    const session = this.session;
    this.state = 'reconnecting';
    this.retryAt = Date.now() + plan.waitMs;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (session !== this.session || camera !== this.camera) return;
      this.reconnects += 1;
      const note = this.note;
      this.open(camera, plan.from);
      this.note = note;  // the last gap or error stays said until the stream answers
      this.render();
    }, plan.waitMs);
    this.render();
  }

  end(noteKey) {
    const feed = this.feed;
    this.feed = null;
    feed?.close();
    this.state = this.note && !noteKey ? 'error' : 'ended';
    if (noteKey) this.note = t(noteKey);
    this.render();
  }

  stop() {
    this.session += 1;
    clearTimeout(this.retry);
    this.retry = null;
    this.retryAt = 0;
    const feed = this.feed;
    this.feed = null;
    feed?.close();
    this.state = 'idle';
    this.target = null;
    this.seeking = null;
  }

  clear() {
    this.stop();
    this.camera = '';
    this.wall = null;
    this.note = '';
    this.gap = null;
    this.paused = false;
    $('bookmark-note').value = '';
    $('bookmark-status').textContent = '';
    this.onTime(null);
    this.render();
  }

  async bookmark() {
    if (!this.camera || this.wall === null) return;
    const status = $('bookmark-status');
    const mine = this.session;
    const res = await api('POST', '/api/v1/bookmarks', {
      camera_id: this.camera, time: rfc3339(this.wall), note: $('bookmark-note').value,
    });
    if (mine !== this.session && res.status !== 201) return;
    status.classList.toggle('error', res.status !== 201);
    if (res.status === 201) {
      status.textContent = t('player.bookmarked', { time: new Date(Date.parse(res.data.time)).toLocaleString(locale()) });
      $('bookmark-note').value = '';
      this.onBookmark();
    } else {
      status.textContent = t('player.bookmark_failed', { err: errorText(failure(res), 'err.footage.') });
    }
  }

  renderTime() {
    const el = $('player-time');
    el.textContent = this.wall === null ? '' : new Date(this.wall).toLocaleString(locale());
    $('player').dataset.wall = this.wall === null ? '' : String(this.wall);
  }

  render() {
    const p = $('player');
    p.dataset.state = this.state;
    p.dataset.speed = String(this.speed);
    p.dataset.camera = this.camera;
    const name = this.camera ? this.cameraName(this.camera) : '';
    $('player-camera').textContent = this.camera ? (name ? `${name} (${this.camera})` : this.camera) : t('player.none');
    p.dataset.reconnects = String(this.reconnects);
    const lines = [this.state === 'reconnecting'
      ? t('player.state.reconnecting', { s: Math.max(1, Math.ceil((this.retryAt - Date.now()) / 1000)) })
      : t(`player.state.${this.state}`)];
    if (this.state === 'connecting' && this.seeking != null) {
      lines[0] = t('player.from', { time: new Date(this.seeking).toLocaleString(locale()) });
    }
    if (this.gap) {
      lines.push(t('player.gap', {
        from: new Date(this.gap.from).toLocaleString(locale()), to: new Date(this.gap.to).toLocaleTimeString(locale()),
      }));
    }
    if (this.note) lines.push(this.note);
    $('player-state').textContent = lines.join(' · ');
    $('player-toggle').textContent = t(this.paused ? 'player.play' : 'player.pause');
    $('player-toggle').disabled = !this.camera;
    for (const b of document.querySelectorAll('#player-speeds button.speed')) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.speed) === this.speed));
      b.title = t('player.speed', { n: b.dataset.speed });
    }
    $('bookmark-add').disabled = !this.camera;
    this.renderTime();
  }
}
