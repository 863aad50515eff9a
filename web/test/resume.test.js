import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResumeState } from '../js/state/resume.js';

test('a first hello lists over REST; later hellos resume after the last seq', () => {
  const r = new ResumeState();
  assert.deepEqual(r.take({ type: 'hello', last_seq: 7 }), { reload: true });
  r.take({ type: 'alarm', seq: 8 });
  r.take({ type: 'event', seq: 9 });
  assert.equal(r.lastSeq, 9);
  assert.deepEqual(r.take({ type: 'hello', last_seq: 12 }), { send: { type: 'resume', after: 9 } });
});

test('live messages during a replay do not move lastSeq past unreplayed ones', () => {
  const r = new ResumeState();
  r.take({ type: 'hello', last_seq: 0 });
  r.take({ type: 'alarm', seq: 5 });
  r.take({ type: 'hello', last_seq: 10 });  // reconnect: replay 6..10
  r.take({ type: 'alarm', seq: 11 });       // live, during the replay
  assert.equal(r.lastSeq, 5);
  r.take({ type: 'alarm', seq: 6 });
  r.take({ type: 'alarm', seq: 7 });
  assert.equal(r.lastSeq, 7);
  // lost here: the next resume asks after 7, not after 11
  assert.deepEqual(r.take({ type: 'hello', last_seq: 12 }), { send: { type: 'resume', after: 7 } });
  for (const seq of [8, 9, 10, 11, 12]) r.take({ type: 'alarm', seq });
  r.take({ type: 'resumed', after: 7, upto: 12 });
  assert.equal(r.lastSeq, 12);
  assert.equal(r.resuming, false);
});

test('resumed takes the live messages seen during the replay', () => {
  const r = new ResumeState();
  r.take({ type: 'hello', last_seq: 0 });
  r.take({ type: 'event', seq: 3 });
  r.take({ type: 'hello', last_seq: 4 });
  r.take({ type: 'event', seq: 5 });  // live
  r.take({ type: 'event', seq: 4 });  // replayed
  r.take({ type: 'resumed' });
  assert.equal(r.lastSeq, 5);
});

test('resume_gap reloads and counts from the new stream', () => {
  const r = new ResumeState();
  r.take({ type: 'hello', last_seq: 0 });
  r.take({ type: 'alarm', seq: 40 });
  r.take({ type: 'hello', last_seq: 3 });  // another stream (cameras changed)
  r.take({ type: 'alarm', seq: 4 });
  assert.deepEqual(r.take({ type: 'resume_gap', after: 40, oldest: 1 }), { reload: true });
  assert.equal(r.lastSeq, 4);
  assert.equal(r.resuming, false);
  r.reset();
  assert.equal(r.lastSeq, 0);
});
