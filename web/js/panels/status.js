// System status: who is signed in, the role, the server's health, the live
// connection's state; the sign-out button (onLogout).
import { setText } from '../i18n.js';

const $ = (id) => document.getElementById(id);

export class StatusPanel {
  constructor({ onLogout }) {
    $('logout').addEventListener('click', onLogout);
  }

  open(me) {
    $('status-user').textContent = me.name;
    setText($('status-role'), 'role.' + me.role);
    $('status-role').dataset.role = me.role;
  }

  async health() {
    const ok = await fetch('/healthz').then((r) => r.ok).catch(() => false);
    setText($('status-health'), ok ? 'health.ok' : 'health.down');
  }

  socket(state) {
    setText($('status-ws'), 'ws.' + state);
    $('status-ws').dataset.state = state;
  }
}
