// Operators' keyboard shortcuts (listed on '?'): key -> action. Pure: the
// caller passes what it knows of the key event.

export const SHORTCUTS = [
  { keys: ['?'], action: 'help', text: 'key.help' },
  { keys: ['1'], action: 'layout1', text: 'key.layout1' },
  { keys: ['2'], action: 'layout4', text: 'key.layout4' },
  { keys: ['3'], action: 'layout9', text: 'key.layout9' },
  { keys: ['4'], action: 'layout16', text: 'key.layout16' },
  { keys: ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown'], shown: ['←', '→', '↑', '↓'], action: 'move', text: 'key.move' },
  { keys: ['Enter', 'f'], action: 'enlarge', text: 'key.enlarge' },
  { keys: ['Escape'], shown: ['Esc'], action: 'escape', text: 'key.escape' },
  { keys: ['Delete'], shown: ['Del'], action: 'clear', text: 'key.clear' },
  { keys: ['a'], action: 'ack', text: 'key.ack' },
  { keys: ['j'], action: 'jump', text: 'key.jump' },
  { keys: ['m'], action: 'mute', text: 'key.mute' },
  { keys: ['/'], action: 'filter', text: 'key.filter' },
  { keys: ['l'], action: 'lang', text: 'key.lang' },
];

const MOVES = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

// {key, ctrlKey, altKey, metaKey, editing, onControl} -> {action, dx?, dy?}
// or null. editing: the focus is in a text field (there keys type, except
// Escape); onControl: on a button or link, whose own Enter and space stay
// theirs (Enter on a focused Acknowledge acknowledges, it does not enlarge).
export function actionFor(ev) {
  if (ev.ctrlKey || ev.altKey || ev.metaKey) return null;
  if (ev.editing && ev.key !== 'Escape') return null;
  if (ev.onControl && (ev.key === 'Enter' || ev.key === ' ')) return null;
  const key = ev.key.length === 1 ? ev.key.toLowerCase() : ev.key;
  const s = SHORTCUTS.find((x) => x.keys.includes(key));
  if (!s) return null;
  if (s.action === 'move') return { action: 'move', dx: MOVES[key][0], dy: MOVES[key][1] };
  return { action: s.action };
}
