// The live grid's layout without the DOM: 1, 4, 9 or 16 tiles, which camera
// is in which tile, the selected and the enlarged tile, and what an alarm
// does to it. Every function returns a new grid; the caller keeps it (and
// stores it per user: storageKey).

export const LAYOUTS = [1, 4, 9, 16];
export const MAX_TILES = 16;

export const columns = (layout) => Math.round(Math.sqrt(layout));
// A site filter (state/sites.js) has its own grid: the site's cameras.
export const storageKey = (user, site = '') => `zaulek.grid.${user}` + (site ? `.site.${site}` : '');

// {layout, cells: 16 camera ids or null, selected, enlarged (index|null), cursor}
export function emptyGrid(layout = 4) {
  return { layout, cells: Array(MAX_TILES).fill(null), selected: 0, enlarged: null, cursor: 0 };
}

// A grid from what was stored (any JSON, possibly hand-edited or from an
// older console): what does not fit is dropped, never thrown.
export function fromStored(value) {
  const g = emptyGrid();
  if (!value || typeof value !== 'object') return g;
  if (LAYOUTS.includes(value.layout)) g.layout = value.layout;
  if (Array.isArray(value.cells)) {
    const seen = new Set();
    value.cells.slice(0, MAX_TILES).forEach((c, i) => {
      if (typeof c === 'string' && c.length > 0 && c.length <= 128 && !seen.has(c)) {
        g.cells[i] = c;
        seen.add(c);
      }
    });
  }
  return g;
}

export const toStored = (g) => ({ layout: g.layout, cells: g.cells });

// The first cameras in order, for a user with nothing stored.
export function withCameras(g, ids) {
  const cells = Array(MAX_TILES).fill(null);
  ids.slice(0, MAX_TILES).forEach((id, i) => { cells[i] = id; });
  return { ...g, cells };
}

export function setLayout(g, layout) {
  if (!LAYOUTS.includes(layout)) return g;
  return { ...g, layout, enlarged: null, selected: Math.min(g.selected, layout - 1) };
}

// The tiles on screen: [{index, camera, stream}]. Small tiles take the sub
// stream; the enlarged tile and a grid of one take the main stream.
export function visible(g) {
  if (g.enlarged !== null) {
    return [{ index: g.enlarged, camera: g.cells[g.enlarged], stream: 'main' }];
  }
  const out = [];
  for (let i = 0; i < g.layout; i++) {
    out.push({ index: i, camera: g.cells[i], stream: g.layout === 1 ? 'main' : 'sub' });
  }
  return out;
}

// Puts a camera in tile `index`; if it was in another tile, the two swap.
export function place(g, index, camera) {
  if (index < 0 || index >= MAX_TILES) return g;
  const cells = [...g.cells];
  const was = cells.indexOf(camera);
  if (was >= 0 && camera !== null) cells[was] = cells[index];
  cells[index] = camera;
  return { ...g, cells };
}

export const clear = (g, index) => place(g, index, null);

// Only these cameras stay (the user's visible cameras, after the list came):
// a stored grid may name cameras that were removed or are no longer visible
// to this user; their tiles empty instead of knocking at a 404 forever.
export function retain(g, ids) {
  const keep = new Set(ids);
  const cells = g.cells.map((c) => (c !== null && keep.has(c) ? c : null));
  const enlarged = g.enlarged !== null && cells[g.enlarged] === null ? null : g.enlarged;
  return { ...g, cells, enlarged };
}

// A camera that no longer exists leaves its tile.
export function removeCamera(g, camera) {
  const i = g.cells.indexOf(camera);
  return i < 0 ? g : clear(g, i);
}

export function toggleEnlarge(g, index = g.selected) {
  if (g.enlarged !== null) return { ...g, enlarged: null, selected: g.enlarged };
  if (index < 0 || index >= g.layout || g.cells[index] === null) return g;
  return { ...g, enlarged: index, selected: index };
}

export const restore = (g) => (g.enlarged === null ? g : { ...g, enlarged: null });

// Arrow keys: dx, dy in tiles, clamped to the layout.
export function moveSelection(g, dx, dy) {
  const n = columns(g.layout);
  const x = Math.min(n - 1, Math.max(0, (g.selected % n) + dx));
  const y = Math.min(n - 1, Math.max(0, Math.floor(g.selected / n) + dy));
  return { ...g, selected: y * n + x };
}

// An alarm brings its camera into view: the tile it is in if that is on
// screen; otherwise the first empty tile on screen; otherwise the tiles on
// screen in turn from the last one (cursor), so a burst of alarms from
// several cameras does not keep replacing the same tile. An enlarged tile
// showing another camera goes back to the grid. Returns {grid, index}.
export function bringIntoView(g, camera) {
  let grid = g;
  const at = grid.cells.indexOf(camera);
  if (grid.enlarged !== null && grid.enlarged !== at) grid = restore(grid);
  if (at >= 0 && (at < grid.layout || grid.enlarged === at)) return { grid, index: at };
  const free = grid.cells.slice(0, grid.layout).indexOf(null);
  let index = free;
  let cursor = grid.cursor;
  if (index < 0) {
    index = grid.layout - 1 - (cursor % grid.layout);
    cursor += 1;
  }
  grid = { ...place(grid, index, camera), cursor };
  return { grid, index };
}
