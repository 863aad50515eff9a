// The administration view (administrators only: the page offers it to no
// other role, and the server answers 403 to them anyway): tabs for cameras
// (discovery, add, edit, remove, confirm a move), users, evidence holds,
// alarm rules and sites with their plans, each in panels/admin/. Opened when the view is first shown,
// so an administrator watching the live grid pays nothing for it.
import { TABS } from '../state/admin.js';
import { onLanguage } from '../i18n.js';
import { AdminCameras } from './admin/cameras.js';
import { AdminUsers } from './admin/users.js';
import { AdminHolds, AdminRules } from './admin/evidence.js';
import { AdminSites } from './admin/sites.js';

const $ = (id) => document.getElementById(id);

export class AdminPanel {
  // onCatalogue(): cameras added, changed or removed here (or moved between sites)
  constructor({ onCatalogue }) {
    const cameras = () => [...this.cameras.cameras].sort((a, b) => a.name.localeCompare(b.name, 'pl'));
    this.cameras = new AdminCameras({ onCatalogue });
    this.users = new AdminUsers({ cameras });
    this.holds = new AdminHolds({ cameras });
    this.rules = new AdminRules({ cameras });
    this.sites = new AdminSites({ cameras, onChange: onCatalogue });
    this.parts = { cameras: this.cameras, users: this.users, holds: this.holds, rules: this.rules, sites: this.sites };
    this.user = null;
    this.loaded = new Set();
    this.tab = 'cameras';
    for (const b of document.querySelectorAll('#admin-view button.tab')) {
      b.addEventListener('click', () => this.show(b.dataset.tab));
    }
    onLanguage(() => this.render());
  }

  // After login (me: /auth/me); nothing is asked of the server until shown.
  open(me) {
    this.user = me;
  }

  async shown() {
    if (!this.user) return;
    await this.show(this.tab);
  }

  async show(tab) {
    if (!TABS.includes(tab)) return;
    this.tab = tab;
    for (const b of document.querySelectorAll('#admin-view button.tab')) {
      b.setAttribute('aria-selected', String(b.dataset.tab === tab));
    }
    for (const s of document.querySelectorAll('#admin-view [data-tab-panel]')) s.hidden = s.dataset.tabPanel !== tab;
    $('admin-view').dataset.tab = tab;
    this.render();
    // The cameras first: the other tabs choose from them.
    if (!this.loaded.has('cameras')) {
      this.loaded.add('cameras');
      await this.cameras.open();
    }
    if (!this.loaded.has(tab)) {
      this.loaded.add(tab);
      await (tab === 'users' ? this.users.open(this.user.name) : this.parts[tab].load());
    } else if (tab !== 'cameras') {
      await this.parts[tab].load();
    }
  }

  // Camera messages were lost (resume_gap): the cameras again, if listed.
  resync() {
    if (this.loaded.has('cameras')) this.cameras.load();
  }

  message(msg) {
    if (msg.type === 'camera' && this.loaded.has('cameras')) this.cameras.message(msg);
    if ((msg.type === 'site' || (msg.type === 'camera' && ['added', 'removed'].includes(msg.previous ?? msg.status)))
      && this.loaded.has('sites')) this.sites.message();
  }

  clear() {
    this.user = null;
    this.loaded.clear();
    for (const p of Object.values(this.parts)) p.clear();
    for (const id of ['adm-camera-table', 'user-table', 'hold-table', 'rule-table', 'site-table']) delete $(id).dataset.loaded;
    this.render();
  }

  render() {
    this.cameras.renderForm();
    for (const p of Object.values(this.parts)) p.render();
  }
}
