// The cameras as the console knows them: the REST list, kept current by the
// WebSocket's camera messages; the filter of the cameras panel.

export const STATES = ['online', 'connecting', 'offline', 'unauthorized', 'degraded'];

// From GET /api/v1/cameras: id -> {id, name, status, reason, since, mode, site}
// (site: its site id, '' for none).
export function fromList(list) {
  const map = new Map();
  for (const c of list) {
    map.set(c.id, {
      id: c.id, name: c.name || c.id, status: c.status, reason: c.status_reason || '',
      since: c.status_since || '', mode: c.recording?.mode || '',
      site: typeof c.site_id === 'string' ? c.site_id : '',
    });
  }
  return map;
}

// A camera message ({camera_id, status, previous, reason, since}); returns
// what changed: 'removed', 'added' (unknown camera: the caller lists again
// for its name), 'status' or null.
export function applyMessage(map, msg) {
  const id = msg.camera_id;
  if (typeof id !== 'string') return null;
  if (msg.status === 'removed') return map.delete(id) ? 'removed' : null;
  const c = map.get(id);
  if (!c) {
    map.set(id, { id, name: id, status: msg.status, reason: msg.reason || '', since: msg.since || '', mode: '', site: '' });
    return 'added';
  }
  if (c.status === msg.status && c.reason === (msg.reason || '')) return null;
  map.set(id, { ...c, status: msg.status, reason: msg.reason || '', since: msg.since || c.since });
  return 'status';
}

const fold = (s) => String(s ?? '').toLocaleLowerCase('pl').normalize('NFD')
  .replace(/[\u0300-\u036f]/g, '').replace(/ł/g, 'l');

// The cameras matching a name filter (name or id, case and diacritics
// ignored), a state ('' = any) and a site ('' = any, 'none' = in no site,
// else a site id: state/sites.js), by name.
export function filter(map, text = '', state = '', site = '') {
  const q = fold(text.trim());
  return [...map.values()]
    .filter((c) => (!state || c.status === state) && (!q || fold(c.name).includes(q) || fold(c.id).includes(q))
      && (!site || (site === 'none' ? !c.site : c.site === site)))
    .sort((a, b) => a.name.localeCompare(b.name, 'pl') || a.id.localeCompare(b.id));
}
