import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionFor, SHORTCUTS, VIEWS, section } from '../js/state/shortcuts.js';
import { TEXT } from '../js/i18n.js';

const key = (k, extra = {}, view = 'live') => actionFor({ key: k, ctrlKey: false, altKey: false, metaKey: false, editing: false, ...extra }, view);

test('keys to actions', () => {
  assert.deepEqual(key('?'), { action: 'help' });
  assert.deepEqual(key('3'), { action: 'layout9' });
  assert.deepEqual(key('ArrowUp'), { action: 'move', dx: 0, dy: -1 });
  assert.deepEqual(key('F'), { action: 'enlarge' });
  assert.deepEqual(key('Enter'), { action: 'enlarge' });
  assert.equal(key('x'), null);
});

test('the timeline and player keys act in the timeline view only', () => {
  const tl = (k, extra = {}) => key(k, extra, 'timeline');
  assert.deepEqual(tl('3'), { action: 'speed', value: 4 });
  assert.deepEqual(tl('4'), { action: 'speed', value: 8 });
  assert.deepEqual(tl(' '), { action: 'pause' });
  assert.deepEqual(tl('K'), { action: 'pause' });
  assert.deepEqual(tl('ArrowLeft'), { action: 'pan', dx: -1 });
  assert.equal(tl('ArrowUp'), null);
  assert.deepEqual(tl('='), { action: 'zoomIn' });
  assert.deepEqual(tl('-'), { action: 'zoomOut' });
  assert.deepEqual(tl('n'), { action: 'nextEvent' });
  assert.deepEqual(tl('?'), { action: 'help' });
  assert.deepEqual(tl('m'), { action: 'mute' });
  assert.equal(tl('a'), null);  // acknowledging is the live view's
  assert.equal(tl(' ', { onControl: true }), null);  // a focused button's own space
  assert.equal(key('n'), null);
  assert.equal(key(' '), null);
  // the administration view: only what acts everywhere
  assert.deepEqual(key('l', {}, 'admin'), { action: 'lang' });
  assert.equal(key('1', {}, 'admin'), null);
  assert.equal(key('b', {}, 'admin'), null);
});

test('typing in a field and modified keys are not shortcuts, except Escape', () => {
  assert.equal(key('a', { editing: true }), null);
  assert.equal(key('1', { ctrlKey: true }), null);
  assert.deepEqual(key('Escape', { editing: true }), { action: 'escape' });
  assert.equal(key('Enter', { onControl: true }), null);  // a focused button's own Enter
  assert.deepEqual(key('f', { onControl: true }), { action: 'enlarge' });
  assert.equal(key('k', { editing: true }, 'timeline'), null);
});

test('every shortcut is described in both languages, no key twice in a view', () => {
  for (const view of [...VIEWS, 'admin']) {
    const keys = SHORTCUTS.filter((s) => s.views.includes(view)).flatMap((s) => s.keys);
    assert.equal(new Set(keys).size, keys.length, view);
  }
  for (const s of SHORTCUTS) for (const l of ['pl', 'en']) assert.ok(TEXT[l][s.text], `${l} ${s.text}`);
  for (const name of ['any', ...VIEWS]) for (const l of ['pl', 'en']) assert.ok(TEXT[l][`help.section.${name}`]);
});

test('the help lists every shortcut, each key it acts on, in a section of every view it acts in', () => {
  const listed = new Map();
  for (const name of ['any', ...VIEWS]) for (const s of section(name)) listed.set(s, [...(listed.get(s) || []), name]);
  assert.equal(listed.size, SHORTCUTS.length);
  for (const s of SHORTCUTS) {
    assert.ok((s.shown || s.keys).length >= 1);
    // every key listed does what the handler does with it, in every listed view
    for (const view of s.views) for (const k of s.keys) assert.equal(key(k, {}, view)?.action, s.action, `${k} in ${view}`);
  }
});
