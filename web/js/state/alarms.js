// Alarm state without the DOM: which of two copies of an alarm is newer,
// the order of the list, which alarms to keep, the search of resolved ones.

export const RANK = { new: 0, acknowledged: 1, resolved: 2 };

// Whether `a` is at least as recent as `b` (the same alarm). An alarm only
// moves forward: new -> acknowledged -> resolved; count and assignment only
// grow within a state. So a REST answer and the WebSocket's messages can
// arrive in any order and the newest state wins.
export function notOlder(a, b) {
  if (!b) return true;
  if (RANK[a.state] !== RANK[b.state]) return RANK[a.state] > RANK[b.state];
  if (a.count !== b.count) return a.count > b.count;
  return (a.assigned_at || '') >= (b.assigned_at || '');
}

// Puts `a` in the map unless the map holds a newer copy; true if it did.
export function upsert(map, a) {
  if (!notOlder(a, map.get(a.id))) return false;
  map.set(a.id, a);
  return true;
}

// Newest first by id (numeric ids numerically).
export function newestFirst(a, b) {
  const x = Number(a.id);
  const y = Number(b.id);
  return Number.isNaN(x) || Number.isNaN(y) ? String(b.id).localeCompare(String(a.id)) : y - x;
}

// The ids of resolved alarms beyond the `keep` most recent (to drop).
export function excessResolved(map, keep) {
  const resolved = [...map.values()].filter((a) => a.state === 'resolved').sort(newestFirst);
  return resolved.slice(keep).map((a) => a.id);
}

// An alarm message that should sound and bring its camera into view: an
// alarm not known before that is new (a repeat folded into a known alarm,
// an acknowledgement or a resolve is not).
export const isFresh = (known, a) => a.state === 'new' && !known.has(a.id);

// The newest alarm in state new, or null.
export function newestNew(map) {
  const list = [...map.values()].filter((a) => a.state === 'new').sort(newestFirst);
  return list[0] || null;
}

const fold = (s) => String(s ?? '').toLocaleLowerCase('pl').normalize('NFD')
  .replace(/[\u0300-\u036f]/g, '').replace(/ł/g, 'l');

// Whether an alarm matches a search: every word of `text` appears in its
// note, camera (id or name), kind (code or translated label), or the people
// who acknowledged, took or resolved it. Case and Polish diacritics do not
// matter ("zaulek" finds "Zaułek").
export function matches(a, text, { cameraName = '', kindLabel = '' } = {}) {
  const words = fold(text).split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = fold([a.note, a.camera_id, cameraName, a.kind, kindLabel, a.acknowledged_by,
    a.assigned_to, a.resolved_by].join(' '));
  return words.every((w) => hay.includes(w));
}
