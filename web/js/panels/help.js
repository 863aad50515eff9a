// The list of keyboard shortcuts, shown on '?' (a <dialog>), in the
// console's language.
import { SHORTCUTS } from '../state/shortcuts.js';
import { t, onLanguage } from '../i18n.js';

const $ = (id) => document.getElementById(id);

export function fillHelp() {
  $('help-keys').tBodies[0].replaceChildren(...SHORTCUTS.map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.action = s.action;
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
  }));
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
