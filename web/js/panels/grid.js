// The live grid: 1, 4, 9 or 16 tiles (state/grid.js), each a LiveTile;
// small tiles on the sub stream, an enlarged tile (double-click, Enter or f)
// on the main stream. The layout and the cameras in it are kept per user in
// this browser's localStorage (key zaulek.grid.<user>); with a site filter
// the grid is that site's (zaulek.grid.<user>.site.<id>), at first its cameras.
import * as G from '../state/grid.js';
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
    for (const b of document.querySelectorAll('#grid-view button.layout')) {
      b.addEventListener('click', () => this.setLayout(Number(b.dataset.layout)));
    }
    $('grid-restore').addEventListener('click', () => this.update(G.restore(this.grid)));
    onLanguage(() => { for (const tile of this.tiles.values()) this.paint(tile); });
  }

  // After login: the user's stored grid, or the first cameras. listed: the
  // camera list came (else nothing is dropped from a stored grid).
  open(user, cameraIds, listed, site = this.site) {
    this.user = user;
    this.site = site;
    let stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(G.storageKey(user, site)) || 'null');
    } catch (e) {
      stored = null;
    }
    this.grid = stored ? G.fromStored(stored) : G.withCameras(G.emptyGrid(4), cameraIds);
    if (stored && listed) this.grid = G.retain(this.grid, cameraIds);
    this.render();
  }

  close() {
    for (const tile of this.tiles.values()) tile.tile?.stop();
    this.tiles.clear();
    $('grid').replaceChildren();
    this.user = '';
  }

  update(grid, { save = true } = {}) {
    this.grid = grid;
    if (save && this.user) localStorage.setItem(G.storageKey(this.user, this.site), JSON.stringify(G.toStored(grid)));
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
