// The console's keyboard shortcuts: key -> action, per view. One table: the
// key handler (main.js) asks actionFor, the help on '?' (panels/help.js)
// lists the same entries, so the two cannot drift apart. Pure: the caller
// passes what it knows of the key event and the view shown.

// The views a shortcut acts in (state/admin.js views); the help's sections
// in this order. In the administration view keys type into its forms: only
// the shortcuts for every view act there.
export const VIEWS = ['live', 'timeline'];
const ALL = ['live', 'timeline', 'admin'];

export const SHORTCUTS = [
  { keys: ['?'], action: 'help', text: 'key.help', views: ALL },
  { keys: ['Escape'], shown: ['Esc'], action: 'escape', text: 'key.escape', views: ALL },
  { keys: ['l'], action: 'lang', text: 'key.lang', views: ALL },
  { keys: ['m'], action: 'mute', text: 'key.mute', views: ['live', 'timeline'] },
  { keys: ['1'], action: 'layout1', text: 'key.layout1', views: ['live'] },
  { keys: ['2'], action: 'layout4', text: 'key.layout4', views: ['live'] },
  { keys: ['3'], action: 'layout9', text: 'key.layout9', views: ['live'] },
  { keys: ['4'], action: 'layout16', text: 'key.layout16', views: ['live'] },
  { keys: ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'], shown: ['←', '→', '↑', '↓'], action: 'move', text: 'key.move', views: ['live'] },
  { keys: ['Enter', 'f'], action: 'enlarge', text: 'key.enlarge', views: ['live'] },
  { keys: ['Delete'], shown: ['Del'], action: 'clear', text: 'key.clear', views: ['live'] },
  { keys: ['a'], action: 'ack', text: 'key.ack', views: ['live'] },
  { keys: ['j'], action: 'jump', text: 'key.jump', views: ['live'] },
  { keys: ['/'], action: 'filter', text: 'key.filter', views: ['live'] },
  // The timeline and its player.
  { keys: [' ', 'k'], shown: ['Space', 'k'], action: 'pause', text: 'key.pause', views: ['timeline'] },
  { keys: ['1', '2', '3', '4'], shown: ['1', '2', '3', '4'], action: 'speed', text: 'key.speed', views: ['timeline'] },
  { keys: ['ArrowLeft', 'ArrowRight'], shown: ['←', '→'], action: 'pan', text: 'key.pan', views: ['timeline'] },
  { keys: ['+', '='], shown: ['+'], action: 'zoomIn', text: 'key.zoom_in', views: ['timeline'] },
  { keys: ['-'], action: 'zoomOut', text: 'key.zoom_out', views: ['timeline'] },
  { keys: ['p'], action: 'prevEvent', text: 'key.prev_event', views: ['timeline'] },
  { keys: ['n'], action: 'nextEvent', text: 'key.next_event', views: ['timeline'] },
  { keys: ['End'], action: 'now', text: 'key.now', views: ['timeline'] },
  { keys: ['b'], action: 'bookmark', text: 'key.bookmark', views: ['timeline'] },
  { keys: ['e'], action: 'export', text: 'key.export', views: ['timeline'] },
  { keys: ['c'], action: 'camera', text: 'key.camera', views: ['timeline'] },
];

const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const SPEED_KEYS = { 1: 1, 2: 2, 3: 4, 4: 8 };

// The entries of one help section: those acting in every view ('any'), or
// those of one view that do not act everywhere.
export function section(name) {
  return SHORTCUTS.filter((s) => (name === 'any' ? s.views.length === ALL.length
    : s.views.includes(name) && s.views.length !== ALL.length));
}

// {key, ctrlKey, altKey, metaKey, editing, onControl}, view -> {action,
// dx?, dy?, value?} or null. editing: the focus is in a text field (there
// keys type, except Escape); onControl: on a button or link, whose own Enter
// and space stay theirs (Enter on a focused Acknowledge acknowledges, it
// does not enlarge).
export function actionFor(ev, view = 'live') {
  if (ev.ctrlKey || ev.altKey || ev.metaKey) return null;
  if (ev.editing && ev.key !== 'Escape') return null;
  if (ev.onControl && (ev.key === 'Enter' || ev.key === ' ')) return null;
  const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
  const s = SHORTCUTS.find((x) => x.views.includes(view) && x.keys.includes(key));
  if (!s) return null;
  if (s.action === 'move') return { action: 'move', dx: MOVES[key][0], dy: MOVES[key][1] };
  if (s.action === 'pan') return { action: 'pan', dx: MOVES[key][0] };
  if (s.action === 'speed') return { action: 'speed', value: SPEED_KEYS[key] };
  return { action: s.action };
}
