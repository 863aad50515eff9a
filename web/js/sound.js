// The alarm sound: a short two-tone beep made with WebAudio (no audio file),
// muted on request, the choice kept in localStorage ('zaulek.mute').
// Browsers start an AudioContext only after a user gesture: unlock() is
// called from the login click and any click or key later.
let ctx = null;
let muted = globalThis.localStorage?.getItem('zaulek.mute') === '1';
let played = 0;

export const isMuted = () => muted;
export const beepsPlayed = () => played;

export function setMuted(m) {
  muted = Boolean(m);
  localStorage.setItem('zaulek.mute', muted ? '1' : '0');
}

export function unlock() {
  const AC = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (!AC) return;
  if (!ctx) ctx = new AC();
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
}

// One beep (two tones, 0.35 s); nothing when muted. Returns whether it played.
export function beep() {
  if (muted) return false;
  unlock();
  if (!ctx) return false;
  const now = ctx.currentTime;
  for (const [i, freq] of [880, 660].entries()) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    const t0 = now + i * 0.18;
    gain.gain.setValueAtTime(0.0001, t0);
    gain.gain.exponentialRampToValueAtTime(0.3, t0 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0);
    osc.stop(t0 + 0.17);
  }
  played += 1;
  return true;
}
