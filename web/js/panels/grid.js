// The live grid: 1, 4, 9 or 16 tiles (state/grid.js), each a LiveTile;
// small tiles on the sub stream, an enlarged tile (double-click, Enter or f)
// on the main stream. The layout and the cameras in it are kept per user on
// the server (PATCH /api/v1/me/preferences {grid}: another console finds
// them) and in this browser's localStorage (key zaulek.grid.<user>: shown at
// once, and kept when the server cannot be asked); state/prefs.js. With a
// site filter the grid is that site's (member grid.site.<id>, key
// zaulek.grid.<user>.site.<id>), at first its cameras.
import * as G from '../state/grid.js';
import { pickGrid, PatchSaver, gridMember } from '../state/prefs.js';
import { api } from '../api.js';
import { LiveTile } from '../live/tile.js';
import { t, onLanguage } from '../i18n.js';

const $ = (id) => document.getElementById(id);

export class GridPanel {
  // cameras(): the cameras Map (state/cameras.js); shows(id): within the site filter
  constructor({ cameras, shows = () => true }) {
    this.cameras = cameras;
    this.shows = shows;
    this.user = '';
    this.site = '';  // the site filter: '' none, 'none' or a site id
    this.grid = G.emptyGrid();
    this.tiles = new Map();  // tile index -> {el, key, tile, state, detail}
    this.opened = 0;         // which open() the server's answer belongs to
    this.changed = false;    // the user changed the grid since open()
    this.saver = new PatchSaver(async (patch) => {
      const res = await api('PATCH', '/api/v1/me/preferences', patch);
      $('grid').dataset.prefsSaved = String(this.saver.saved + (res.status === 200 ? 1 : 0));
      return res.status === 200;
    });
    for (const b of document.querySelectorAll('#grid-view button.layout')) {
      b.addEventListener('click', () => this.setLayout(Number(b.dataset.layout)));
    }
    $('grid-restore').addEventListener('click', () => this.update(G.restore(this.grid)));
    onLanguage(() => { for (const tile of this.tiles.values()) this.paint(tile); });
  }

  // After login (and when the site filter changes): the user's stored grid,
  // or the first cameras. listed: the camera list came (else nothing is
  // dropped from a stored grid). This browser's copy shows at once; the
  // server's replaces it when it comes (unless the user changed the grid
  // meanwhile).
  open(user, cameraIds, listed, site = this.site) {
    this.user = user;
    this.site = site;
    this.changed = false;
    const mine = ++this.opened;
    const local = this.localStored(user, site);
    this.grid = local ? G.fromStored(local) : G.withCameras(G.emptyGrid(4), cameraIds);
    if (local && listed) this.grid = G.retain(this.grid, cameraIds);
    $('grid').dataset.prefs = 'loading';
    this.render();
    this.fromServer(mine, local, cameraIds, listed);
  }

  localStored(user, site) {
    try {
      return JSON.parse(localStorage.getItem(G.storageKey(user, site)) || 'null');
    } catch (e) {
      return null;
    }
  }

  async fromServer(mine, local, cameraIds, listed) {
    const res = await api('GET', '/api/v1/me/preferences');
    if (mine !== this.opened || !this.user) return;
    if (res.status !== 200) {
      $('grid').dataset.prefs = 'local';  // kept here only; the next change tries again
      return;
    }
    const member = gridMember(this.site);
    const pick = pickGrid(res.data.preferences, local, member);
    $('grid').dataset.prefs = pick.source;
    if (this.changed) return;
    if (pick.source === 'server') {
      let g = G.fromStored(pick.value);
      if (listed) g = G.retain(g, cameraIds);
      this.update(g, { save: false });
      localStorage.setItem(G.storageKey(this.user, this.site), JSON.stringify(G.toStored(g)));
    } else if (pick.upload) {
      this.saver.push({ [member]: G.toStored(this.grid) });
    }
  }

  close() {
    for (const tile of this.tiles.values()) tile.tile?.stop();
    this.tiles.clear();
    $('grid').replaceChildren();
    this.user = '';
    this.opened += 1;
  }

  update(grid, { save = true } = {}) {
    this.grid = grid;
    const stored = G.toStored(grid);
    const text = JSON.stringify(stored);
    const key = G.storageKey(this.user, this.site);
    // Only a change is saved (a camera list that came again changes nothing).
    if (save && this.user && text !== localStorage.getItem(key)) {
      this.changed = true;
      localStorage.setItem(key, text);
      this.saver.push({ [gridMember(this.site)]: stored });
    }
    this.render();
  }

  setLayout(n) { this.update(G.setLayout(this.grid, n)); }
  move(dx, dy) { this.update(G.moveSelection(this.grid, dx, dy), { save: false }); }
  toggleEnlarge(i) { this.update(G.toggleEnlarge(this.grid, i), { save: false }); }
  escape() { this.update(G.restore(this.grid), { save: false }); }
  clearSelected() { this.update(G.clear(this.grid, this.grid.selected)); }

  // From the cameras panel: into the selected tile.
  placeSelected(camera) {
    const i = this.grid.enlarged ?? this.grid.selected;
    this.update(G.place(this.grid, i, camera));
  }

  // An alarm: its camera into view, the tile flashes.
  bringIntoView(camera) {
    const { grid, index } = G.bringIntoView(this.grid, camera);
    this.update(grid);
    const tile = this.tiles.get(index);
    if (tile) {
      tile.el.classList.remove('alarmed');
      void tile.el.offsetWidth;  // restart the animation
      tile.el.classList.add('alarmed');
    }
    return index;
  }

  // A camera's status or mode changed, or the list came: tiles follow; a
  // removed camera leaves its tile.
  camerasChanged(removed = null, listed = false) {
    if (!this.user) return;
    if (removed !== null) {
      this.update(G.removeCamera(this.grid, removed));
    } else if (listed) {
      this.update(G.retain(this.grid, [...this.cameras().keys()].filter((id) => this.shows(id))));
    } else {
      this.render();
    }
  }

  render() {
    const el = $('grid');
    const g = this.grid;
    const shown = G.visible(g);
    el.dataset.layout = String(g.enlarged !== null ? 1 : g.layout);
    el.dataset.enlarged = g.enlarged === null ? '' : String(g.enlarged);
    el.style.setProperty('--cols', String(g.enlarged !== null ? 1 : G.columns(g.layout)));
    $('grid-restore').hidden = g.enlarged === null;
    for (const b of document.querySelectorAll('#grid-view button.layout')) {
      b.setAttribute('aria-pressed', String(Number(b.dataset.layout) === g.layout));
    }
    const keep = new Set();
    shown.forEach((v, pos) => {
      const key = `${v.camera}|${v.stream}`;
      let tile = this.tiles.get(v.index);
      if (tile && tile.key !== key) {
        tile.tile?.stop();
        tile.el.remove();
        tile = null;
      }
      if (!tile) {
        tile = this.makeTile(v, key);
        this.tiles.set(v.index, tile);
      }
      keep.add(v.index);
      tile.el.classList.toggle('selected', g.selected === v.index);
      if (el.children[pos] !== tile.el) el.insertBefore(tile.el, el.children[pos] || null);
      if (tile.tile) {
        const cam = this.cameras().get(v.camera);
        tile.tile.setCamera(cam?.status, cam?.mode);
      }
      this.paint(tile);
    });
    for (const [i, tile] of this.tiles) {
      if (!keep.has(i)) {
        tile.tile?.stop();
        tile.el.remove();
        this.tiles.delete(i);
      }
    }
  }

  makeTile(v, key) {
    const el = document.createElement('div');
    el.className = 'tile';
    el.dataset.index = String(v.index);
    el.tabIndex = -1;
    const tile = { el, key, tile: null, state: 'empty', detail: {}, camera: v.camera };
    el.addEventListener('click', () => this.update({ ...this.grid, selected: v.index }, { save: false }));
    el.addEventListener('dblclick', () => this.toggleEnlarge(v.index));
    if (v.camera === null) {
      el.dataset.state = 'empty';
      const p = document.createElement('p');
      p.className = 'tile-empty';
      el.append(p);
      tile.empty = p;
      return tile;
    }
    el.dataset.camera = v.camera;
    el.dataset.stream = v.stream;
    const img = document.createElement('img');
    img.className = 'snapshot';
    img.alt = '';
    const video = document.createElement('video');
    video.className = 'live';
    const name = document.createElement('div');
    name.className = 'tile-name';
    const overlay = document.createElement('div');
    overlay.className = 'tile-state';
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'tile-clear';
    close.textContent = '×';
    close.addEventListener('click', (ev) => {
      ev.stopPropagation();
      this.update(G.clear(this.grid, v.index));
    });
    el.append(img, video, name, overlay, close);
    Object.assign(tile, { name, overlay, close });
    tile.tile = new LiveTile({
      camera: v.camera, stream: v.stream, video, img,
      onState: (state, detail) => {
        tile.state = state;
        tile.detail = detail;
        this.paint(tile);
      },
    });
    const cam = this.cameras().get(v.camera);
    tile.tile.cameraStatus = cam?.status || '';
    tile.tile.recordingMode = cam?.mode || '';
    tile.tile.start();
    return tile;
  }

  paint(tile) {
    if (tile.empty) {
      tile.empty.textContent = t('grid.empty');
      return;
    }
    const cam = this.cameras().get(tile.camera);
    tile.name.textContent = cam && cam.name !== cam.id ? `${cam.name} (${cam.id})` : tile.camera;
    tile.el.dataset.state = tile.state;
    tile.el.dataset.connects = String(tile.detail.connects ?? 0);
    if (tile.detail.firstFrameMs !== undefined) tile.el.dataset.firstFrameMs = String(tile.detail.firstFrameMs);
    tile.close.title = t('grid.clear');
    const d = tile.detail;
    const text = {
      connecting: t('tile.connecting'), playing: t('tile.playing'), stalled: t('tile.stalled'),
      offline: t('tile.offline'), reconnecting: t('tile.reconnecting', { s: d.retryIn }),
      not_recorded: t('tile.not_recorded'),
      error: d.error === 'unsupported' ? t('tile.unsupported', { codec: d.codec }) : t('tile.error', { err: d.error }),
    }[tile.state] || '';
    tile.overlay.textContent = text;
  }
}
