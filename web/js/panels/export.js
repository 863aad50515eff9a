// The export dialog (investigators, administrators): the range chosen on
// the timeline (editable to the second), a reason, POST /api/v1/exports;
// progress from the console WebSocket's `job` messages (and GET
// /api/v1/exports/{id} now and then, in case one was missed); when done the
// download link and how the receiver checks the package:
// `zaulek-verify exp-N.zip --key <the public key of GET /api/v1/keys>`.
import { api, failure, errorText } from '../api.js';
import { t, onLanguage, locale } from '../i18n.js';
import { rfc3339 } from '../state/playback.js';
import { exportView, mergeJob, localInput, fromLocalInput } from '../state/exports.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 5000;  // a check on the job while it runs (messages are the fast path)

export class ExportPanel {
  // cameraName(id); onDone(): an export finished (its hold is on the timeline)
  constructor({ cameraName, onDone = () => {} }) {
    Object.assign(this, { cameraName, onDone });
    this.camera = '';
    this.job = null;     // the export's last known status
    this.error = null;
    this.key = null;
    this.timer = null;
    this.session = 0;
    $('export-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    $('export-close').addEventListener('click', () => this.close());
    $('export-dialog').addEventListener('close', () => clearTimeout(this.timer));
    onLanguage(() => this.render());
  }

  // The dialog for the camera and range (ms).
  open(camera, range) {
    this.camera = camera;
    this.job = null;
    this.error = null;
    $('export-from').value = localInput(range.from);
    $('export-to').value = localInput(range.to);
    $('export-reason').value = '';
    const name = this.cameraName(camera);
    $('export-camera').textContent = name ? `${name} (${camera})` : camera;
    this.render();
    if (!$('export-dialog').open) $('export-dialog').showModal();
    $('export-reason').focus();
  }

  close() {
    clearTimeout(this.timer);
    if ($('export-dialog').open) $('export-dialog').close();
  }

  clear() {
    this.session += 1;
    this.close();
    this.job = null;
    this.key = null;
  }

  async submit() {
    const from = fromLocalInput($('export-from').value);
    const to = fromLocalInput($('export-to').value);
    this.error = null;
    if (from === null || to === null || to <= from) {
      this.error = { local: t('export.bad_range') };
      this.render();
      return;
    }
    const mine = this.session;
    $('export-submit').disabled = true;
    const res = await api('POST', '/api/v1/exports', {
      camera_id: this.camera, from: rfc3339(from), to: rfc3339(to), reason: $('export-reason').value,
    });
    if (mine !== this.session) return;
    if (res.status === 202) {
      this.job = res.data;
      if (this.job.state === 'done') this.onDone();
      this.poll();
      this.loadKey();
    } else {
      this.error = failure(res);
    }
    this.render();
  }

  // A `job` message from the console WebSocket (main.js routes them here).
  message(msg) {
    if (msg.kind !== 'export' || !this.job || msg.id !== this.job.id) return;
    const was = this.job.state;
    this.job = mergeJob(this.job, msg);
    if (was !== 'done' && this.job.state === 'done') this.onDone();
    this.render();
  }

  async poll() {
    clearTimeout(this.timer);
    if (!this.job || !$('export-dialog').open) return;
    if (this.job.state === 'done' || this.job.state === 'failed') return;
    const mine = this.session;
    const id = this.job.id;
    this.timer = setTimeout(async () => {
      const res = await api('GET', `/api/v1/exports/${encodeURIComponent(id)}`);
      if (mine !== this.session || this.job?.id !== id) return;
      const was = this.job.state;
      if (res.status === 200) this.job = mergeJob(this.job, res.data);
      if (was !== 'done' && this.job.state === 'done') this.onDone();
      this.render();
      this.poll();
    }, POLL_MS);
  }

  async loadKey() {
    if (this.key) return;
    const res = await api('GET', '/api/v1/keys');
    if (res.status === 200 && res.data.keys?.length) this.key = res.data.keys[0];
    this.render();
  }

  render() {
    const v = exportView(this.job);
    const d = $('export-dialog');
    d.dataset.state = v.state;
    $('export-submit').disabled = v.running;
    $('export-progress').hidden = !this.job;
    $('export-progress').value = v.progress;
    const err = this.error ? (this.error.local || t('export.failed', { err: errorText(this.error, 'err.footage.') })) : '';
    $('export-error').textContent = err;
    const st = $('export-status');
    st.textContent = this.job ? t(`export.state.${v.state}`, {
      id: this.job.id, pct: Math.round(v.progress * 100), mb: (v.bytes / 1e6).toFixed(1),
      err: this.job.error || '',
    }) : '';
    const done = v.state === 'done';
    const a = $('export-download');
    a.hidden = !done;
    if (done) {
      a.href = `/api/v1/exports/${encodeURIComponent(this.job.id)}/download`;
      a.download = `${this.job.id}.zip`;
      a.textContent = t('export.download', { file: `${this.job.id}.zip` });
    }
    const hint = $('export-verify');
    hint.hidden = !done;
    if (done) {
      $('export-verify-text').textContent = t('export.verify');
      $('export-verify-cmd').textContent = this.key
        ? `zaulek-verify ${this.job.id}.zip --key ${this.key.public_key}`
        : `zaulek-verify ${this.job.id}.zip --key …`;
      $('export-verify-key').textContent = this.key
        ? t('export.key', { id: this.key.id, created: new Date(this.key.created).toLocaleString(locale()) }) : '';
    }
  }
}
