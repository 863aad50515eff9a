// The export dialog's logic without the DOM: what a job's status says, how
// a status from a message and one from a poll combine (a job only moves
// forward: queued -> running -> done | failed, progress only grows), and
// the local time of a datetime-local field.

const ORDER = { queued: 0, running: 1, done: 2, failed: 2 };

// {state, progress 0..1, bytes, running} of a job status (null: none yet).
export function exportView(job) {
  if (!job) return { state: 'none', progress: 0, bytes: 0, running: false };
  const state = job.state in ORDER ? job.state : 'queued';
  const p = Number(job.progress);
  const progress = state === 'done' ? 1 : Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 0;
  return { state, progress, bytes: Number(job.bytes) || 0, running: ORDER[state] < 2 };
}

// The newer of two views of one job: a late message or poll never moves it back.
export function mergeJob(old, update) {
  if (!old) return { ...update };
  if (!update || update.id !== old.id) return old;
  const a = ORDER[old.state] ?? 0;
  const b = ORDER[update.state] ?? 0;
  if (b < a) return old;
  const merged = { ...old, ...update };
  if (b === a && Number(update.progress) < Number(old.progress)) merged.progress = old.progress;
  return merged;
}

const pad = (n) => String(n).padStart(2, '0');

// 'YYYY-MM-DDTHH:MM:SS' in the browser's time zone (an <input
// type=datetime-local step=1>).
export function localInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:`
    + `${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// The field's value back to ms, or null when it is not a time.
export function fromLocalInput(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(String(s));
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map((x) => Number(x || 0));
  const date = new Date(y, mo - 1, d, h, mi, se);
  if (date.getMonth() !== mo - 1 || date.getDate() !== d) return null;  // 31 February
  return date.getTime();
}
