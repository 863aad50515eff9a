import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEXT, format, t, getLang } from '../js/i18n.js';

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('Polish and English have the same keys and the same placeholders', () => {
  assert.deepEqual(Object.keys(TEXT.pl).sort(), Object.keys(TEXT.en).sort());
  for (const k of Object.keys(TEXT.pl)) {
    assert.deepEqual(placeholders(TEXT.pl[k]), placeholders(TEXT.en[k]), k);
    assert.ok(TEXT.pl[k].trim() && TEXT.en[k].trim(), k);
  }
});

test('Polish by default; placeholders filled, unknown keys shown as they are', () => {
  assert.equal(getLang(), 'pl');
  assert.equal(t('alarms.priority_of', { p: 4 }), '4 z 5');
  assert.equal(format('{a} i {b}', { a: 1 }), '1 i ');
  assert.equal(t('no.such.key'), 'no.such.key');
});
