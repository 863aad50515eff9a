import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportView, mergeJob, localInput, fromLocalInput } from '../js/state/exports.js';

test('a job view: state, progress within 0..1, done is whole', () => {
  assert.deepEqual(exportView(null), { state: 'none', progress: 0, bytes: 0, running: false });
  assert.deepEqual(exportView({ state: 'running', progress: 0.4, bytes: 10 }),
    { state: 'running', progress: 0.4, bytes: 10, running: true });
  assert.equal(exportView({ state: 'done', progress: 0.99 }).progress, 1);
  assert.equal(exportView({ state: 'running', progress: 7 }).progress, 1);
  assert.equal(exportView({ state: 'odd' }).state, 'queued');
  assert.equal(exportView({ state: 'failed', error: 'x' }).running, false);
});

test('a job only moves forward, whichever of message and poll comes last', () => {
  const q = { id: 'exp-1', state: 'queued', progress: 0 };
  const r = mergeJob(q, { id: 'exp-1', state: 'running', progress: 0.5 });
  assert.equal(r.state, 'running');
  assert.equal(mergeJob(r, { id: 'exp-1', state: 'running', progress: 0.2 }).progress, 0.5);
  assert.equal(mergeJob(r, { id: 'exp-1', state: 'queued', progress: 0 }).state, 'running');
  const d = mergeJob(r, { id: 'exp-1', state: 'done', progress: 1, bytes: 9 });
  assert.equal(d.state, 'done');
  assert.equal(mergeJob(d, { id: 'exp-1', state: 'running', progress: 0.9 }).state, 'done');
  assert.equal(mergeJob(d, { id: 'exp-2', state: 'failed' }), d);
});

test('datetime-local fields both ways, junk refused', () => {
  const t = new Date(2026, 11, 7, 9, 5, 3).getTime();
  assert.equal(localInput(t), '2026-12-07T09:05:03');
  assert.equal(fromLocalInput('2026-12-07T09:05:03'), t);
  assert.equal(fromLocalInput('2026-12-07T09:05'), t - 3000);
  assert.equal(fromLocalInput('2026-02-31T09:05'), null);
  assert.equal(fromLocalInput(''), null);
  assert.equal(fromLocalInput('yesterday'), null);
});

test('the texts named by state (player and export) are in both languages', async () => {
  const { TEXT } = await import('../js/i18n.js');
  const keys = ['queued', 'running', 'done', 'failed'].map((s) => `export.state.${s}`)
    .concat(['idle', 'connecting', 'playing', 'paused', 'live', 'ended', 'error'].map((s) => `player.state.${s}`))
    .concat(['404', '409', '503'].map((s) => `err.footage.${s}`));
  for (const k of keys) for (const l of ['pl', 'en']) assert.ok(TEXT[l][k], `${l}: ${k}`);
});
