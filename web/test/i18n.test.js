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

test('every text the page and the modules name is in both languages', async () => {
  const { readFile, readdir } = await import('node:fs/promises');
  const here = new URL('..', import.meta.url);
  const html = await readFile(new URL('index.html', here), 'utf8');
  const keys = new Set([...html.matchAll(/data-i18n(?:-placeholder)?="([^"]+)"/g)].map((m) => m[1]));
  const files = (await readdir(new URL('js', here), { recursive: true })).filter((f) => f.endsWith('.js'));
  for (const f of files) {
    const src = await readFile(new URL(`js/${f}`, here), 'utf8');
    for (const m of src.matchAll(/\b(?:t|setText\([^,]+,)\s*\(?\s*'([a-z_]+\.[a-z0-9_.]+)'/g)) keys.add(m[1]);
  }
  assert.ok(keys.size > 60, `only ${keys.size} keys found`);
  for (const k of keys) for (const l of ['pl', 'en']) assert.ok(k in TEXT[l], `${l}: ${k}`);
});
