// The console's WebSocket (/api/v1/ws?batch=1): one connection per login,
// messages handed out one by one (array frames unpacked), resumed after a
// lost connection by sequence number (state/resume.js); reconnects every
// 2 s while the console is shown, and asks beforeReconnect() first (which
// may decide the session is gone).
import { ResumeState } from './state/resume.js';

export class ConsoleSocket {
  // handlers: {message(msg), reload(why: 'hello'|'resume_gap'), state('open'|'closed'), beforeReconnect() -> Promise<bool>}
  constructor(handlers) {
    this.h = handlers;
    this.ws = null;
    this.resume = new ResumeState();
    this.active = false;
    this.timer = null;
  }

  start() {
    this.active = true;
    this.connect();
  }

  connect() {
    if (this.ws || !this.active) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/ws?batch=1`);
    this.ws = ws;
    ws.onopen = () => this.h.state('open');
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;  // a socket left behind by a logout
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      for (const msg of Array.isArray(frame) ? frame : [frame]) {
        const todo = this.resume.take(msg);
        if (todo?.send) ws.send(JSON.stringify(todo.send));
        if (todo?.reload) this.h.reload(msg.type);
        this.h.message(msg);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.h.state('closed');
      if (this.active) this.timer = setTimeout(() => this.reconnect(), 2000);
    };
  }

  async reconnect() {
    this.timer = null;
    if (!this.active || this.ws) return;
    if (await this.h.beforeReconnect()) this.connect();
  }

  // Logout: close, and no resume across logins (the next user's stream is
  // not this one's).
  stop() {
    this.active = false;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.resume.reset();
  }
}
