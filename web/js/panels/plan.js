// A site's plan on the page: the uploaded image (GET /api/v1/sites/{id}/plan),
// or a plain drawing when there is none (no online map tiles), fitted into
// its box (state/sites.js fit), with a marker per placed camera showing its
// open alarms. Read-only in the live view (a click picks the camera); in the
// administration view markers are dragged and the cameras not placed yet
// are dragged from the tray beside it (onMove: the caller saves).
import * as S from '../state/sites.js';
import { t } from '../i18n.js';

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class PlanDrawing {
  // box: the element the plan fills; tray: where unplaced cameras are listed
  // (null: not listed); onPick(cameraId); onMove(cameraId, x, y) (editable).
  constructor({ box, tray = null, editable = false, onPick = () => {}, onMove = () => {} }) {
    Object.assign(this, { box, tray, editable, onPick, onMove });
    this.site = null;
    this.open = new Map();
    this.drag = null;
    this.box.classList.add('plan-box');
    // Resizing the window refits the plan.
    globalThis.addEventListener?.('resize', () => this.render());
  }

  // site: from state/sites.js; open: camera id -> [open alarm] (live).
  show(site, open = new Map()) {
    this.site = site;
    this.open = open;
    this.render();
  }

  render() {
    const site = this.site;
    this.box.dataset.site = site?.id || '';
    if (!site) {
      this.box.replaceChildren();
      if (this.tray) this.tray.replaceChildren();
      return;
    }
    const f = S.fit(site.plan, this.box.clientWidth, this.box.clientHeight);
    this.fitted = f;
    const plan = el('div', site.plan ? 'plan' : 'plan plain');
    Object.assign(plan.style, { left: `${f.left}px`, top: `${f.top}px`, width: `${f.width}px`, height: `${f.height}px` });
    if (site.plan) {
      const img = el('img', 'plan-image');
      img.alt = t('plan.image', { name: site.name });
      img.draggable = false;
      // The sha256 makes a new upload a new address (no stale cache).
      img.src = `${site.plan.url}?v=${encodeURIComponent(site.plan.sha256)}`;
      plan.append(img);
      this.box.dataset.plan = 'image';
    } else {
      plan.append(el('span', 'plan-plain-name', site.name));
      this.box.dataset.plan = 'plain';
    }
    const { placed, unplaced } = S.markers(site, f);
    for (const m of placed) plan.append(this.marker(m));
    this.plan = plan;
    this.box.replaceChildren(plan);
    this.box.dataset.markers = String(placed.length);
    if (this.tray) {
      const names = new Map(site.cameras.map((c) => [c.id, c.name]));
      this.tray.dataset.unplaced = String(unplaced.length);
      this.tray.replaceChildren(...unplaced.map((id) => {
        const b = el('button', 'tray-camera', names.get(id) || id);
        b.type = 'button';
        b.dataset.cameraId = id;
        if (this.editable) this.draggable(b, id);
        return b;
      }));
    }
  }

  marker(m) {
    const alarms = this.open.get(m.id) || [];
    const b = el('button', 'marker');
    b.type = 'button';
    b.dataset.cameraId = m.id;
    b.dataset.alarms = String(alarms.length);
    if (alarms.length) b.dataset.alarm = alarms[0].state;
    b.style.left = `${m.left}px`;
    b.style.top = `${m.top}px`;
    b.title = alarms.length ? t('plan.marker_alarms', { name: m.name, n: alarms.length }) : m.name;
    b.append(el('span', 'marker-dot', alarms.length ? String(alarms.length) : ''), el('span', 'marker-name', m.name));
    if (this.editable) this.draggable(b, m.id);
    else b.addEventListener('click', () => this.onPick(m.id));
    return b;
  }

  // Pointer drag onto the plan: a marker moves with the pointer; on release
  // over the plan its place is handed to onMove.
  draggable(b, id) {
    b.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      ev.preventDefault();
      b.setPointerCapture?.(ev.pointerId);
      this.drag = { id, b };
      b.classList.add('dragging');
    });
    b.addEventListener('pointermove', (ev) => {
      if (this.drag?.b !== b || !this.plan) return;
      const r = this.plan.getBoundingClientRect();
      if (b.classList.contains('marker')) {
        b.style.left = `${Math.min(r.width, Math.max(0, ev.clientX - r.left))}px`;
        b.style.top = `${Math.min(r.height, Math.max(0, ev.clientY - r.top))}px`;
      }
    });
    b.addEventListener('pointerup', (ev) => {
      if (this.drag?.b !== b) return;
      this.drag = null;
      b.classList.remove('dragging');
      if (!this.plan) return;
      const r = this.plan.getBoundingClientRect();
      const inside = ev.clientX >= r.left && ev.clientX <= r.right && ev.clientY >= r.top && ev.clientY <= r.bottom;
      if (!inside) {
        this.render();  // dropped outside: back where it was
        return;
      }
      const p = S.toPlan(ev.clientX - r.left, ev.clientY - r.top, { width: r.width, height: r.height });
      this.onMove(id, p.x, p.y);
    });
  }
}
