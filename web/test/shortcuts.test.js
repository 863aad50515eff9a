import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionFor, SHORTCUTS } from '../js/state/shortcuts.js';
import { TEXT } from '../js/i18n.js';

const key = (k, extra = {}) => actionFor({ key: k, ctrlKey: false, altKey: false, metaKey: false, editing: false, ...extra });

test('keys to actions', () => {
  assert.deepEqual(key('?'), { action: 'help' });
  assert.deepEqual(key('3'), { action: 'layout9' });
  assert.deepEqual(key('ArrowUp'), { action: 'move', dx: 0, dy: -1 });
  assert.deepEqual(key('F'), { action: 'enlarge' });
  assert.deepEqual(key('Enter'), { action: 'enlarge' });
  assert.equal(key('x'), null);
});

test('typing in a field and modified keys are not shortcuts, except Escape', () => {
  assert.equal(key('a', { editing: true }), null);
  assert.equal(key('1', { ctrlKey: true }), null);
  assert.deepEqual(key('Escape', { editing: true }), { action: 'escape' });
  assert.equal(key('Enter', { onControl: true }), null);  // a focused button's own Enter
  assert.deepEqual(key('f', { onControl: true }), { action: 'enlarge' });
});

test('every shortcut is described in both languages, no key twice', () => {
  const keys = SHORTCUTS.flatMap((s) => s.keys);
  assert.equal(new Set(keys).size, keys.length);
  for (const s of SHORTCUTS) for (const l of ['pl', 'en']) assert.ok(TEXT[l][s.text], `${l} ${s.text}`);
});
