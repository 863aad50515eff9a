// Alarm state without the DOM: which of two copies of an alarm is newer,
// the order of the list, which alarms to keep, the words of a search of
// resolved ones (the server searches).

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

// The server's search (GET /api/v1/alarms?q=) from what the operator typed:
// the words as typed, and a word or phrase that is the translated name of
// an event kind ("ruch", "przekroczenie linii") also as the kind's code, an
// alternative ("ruch|motion": the server takes either). kinds: [[code,
// label], ...] in the console's language. At most `max` words and
// alternatives (the server's bound); '|' typed by the operator is not an alternative.
export function searchQuery(text, kinds = [], max = 16) {
  let words = fold(text).replace(/\|/g, ' ').split(/\s+/).filter(Boolean);
  const out = [];
  const labels = kinds.map(([code, lbl]) => [code, fold(lbl).split(/\s+/).filter(Boolean)])
    .filter(([, w]) => w.length > 0).sort((a, b) => b[1].length - a[1].length);
  while (words.length) {
    const hit = labels.find(([, w]) => w.every((x, i) => words[i] === x));
    if (hit && hit[1].length > 1) {
      out.push(hit[0]);  // a phrase: its code
      words = words.slice(hit[1].length);
    } else {
      out.push(hit && hit[0] !== words[0] ? `${words[0]}|${hit[0]}` : words[0]);
      words = words.slice(1);
    }
  }
  // The bound counts alternatives too.
  const kept = [];
  let terms = 0;
  for (const w of out) {
    terms += w.split('|').length;
    if (terms > max) break;
    kept.push(w);
  }
  return kept.join(' ');
}
