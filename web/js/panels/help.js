// The list of keyboard shortcuts, shown on '?' (a <dialog>), in the
// console's language: the same table the key handler uses
// (state/shortcuts.js), in sections: every view, the live view, the
// timeline and its player.
import { SHORTCUTS, VIEWS, section } from '../state/shortcuts.js';
import { t, onLanguage } from '../i18n.js';

const $ = (id) => document.getElementById(id);

function row(s, view) {
  const tr = document.createElement('tr');
  tr.dataset.action = s.action;
  tr.dataset.view = view;
  const keys = document.createElement('td');
  for (const k of s.shown || s.keys) {
    const kbd = document.createElement('kbd');
    kbd.textContent = k;
    keys.append(kbd, ' ');
  }
  const what = document.createElement('td');
  what.textContent = t(s.text);
  tr.append(keys, what);
  return tr;
}

export function fillHelp() {
  const rows = [];
  for (const name of ['any', ...VIEWS]) {
    const head = document.createElement('tr');
    head.className = 'help-section';
    const th = document.createElement('th');
    th.colSpan = 2;
    th.textContent = t(`help.section.${name}`);
    head.append(th);
    rows.push(head, ...section(name).map((s) => row(s, name)));
  }
  $('help-keys').tBodies[0].replaceChildren(...rows);
  $('help-keys').dataset.shortcuts = String(SHORTCUTS.length);
}

export function toggleHelp(show = !$('help').open) {
  const d = $('help');
  if (show && !d.open) {
    fillHelp();
    d.showModal();
  } else if (!show && d.open) {
    d.close();
  }
}

onLanguage(fillHelp);
