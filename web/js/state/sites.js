// Sites without the DOM: the list from GET /api/v1/sites, the console's
// site filter (which cameras and alarms it lets through, remembered per
// user), what a hub `site` message changes, and the plan view's geometry
// (the plan image, or a plain drawing, fitted into a box; camera positions
// in 0..1 of the plan to pixels and back).

// The filter: '' every camera, 'none' cameras in no site, else a site id.
export const ALL = '';
export const NONE = 'none';
export const storageKey = (user) => `zaulek.site.${user}`;

// The plain drawing's shape when a site has no plan image.
export const PLAIN = { width: 1600, height: 1000 };

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const unit = (v) => (num(v) !== null && v >= 0 && v <= 1 ? v : null);

// From GET /api/v1/sites: id -> {id, name, address, plan: {url, width,
// height, sha256}|null, cameras: [{id, name, x, y, open}], open}. Sorted
// by name (Polish collation) when listed with list().
export function fromList(list) {
  const map = new Map();
  for (const s of Array.isArray(list) ? list : []) {
    if (!s || typeof s.id !== 'string') continue;
    const p = s.plan;
    map.set(s.id, {
      id: s.id,
      name: typeof s.name === 'string' && s.name ? s.name : s.id,
      address: typeof s.address === 'string' ? s.address : '',
      latitude: num(s.latitude), longitude: num(s.longitude),
      plan: p && typeof p.url === 'string' && num(p.width) > 0 && num(p.height) > 0
        ? { url: p.url, width: p.width, height: p.height, sha256: String(p.sha256 || '') } : null,
      cameras: (Array.isArray(s.cameras) ? s.cameras : []).filter((c) => c && typeof c.id === 'string')
        .map((c) => ({
          id: c.id, name: c.name || c.id, x: unit(c.plan_x), y: unit(c.plan_y),
          open: Math.max(0, Math.trunc(num(c.open_alarms) ?? 0)),
        })),
      open: Math.max(0, Math.trunc(num(s.open_alarms) ?? 0)),
    });
  }
  return map;
}

export const list = (sites) => [...sites.values()]
  .sort((a, b) => a.name.localeCompare(b.name, 'pl') || a.id.localeCompare(b.id, 'en', { numeric: true }));

// A remembered choice that still makes sense, else every camera.
export function pick(saved, sites) {
  if (saved === NONE) return NONE;
  return typeof saved === 'string' && sites.has(saved) ? saved : ALL;
}

// Whether a camera ({site: id or ''}) passes the filter.
export function inSite(camera, site) {
  if (site === ALL) return true;
  const own = camera?.site || '';
  return site === NONE ? own === '' : own === site;
}

// The ids of the cameras Map (state/cameras.js) that pass, in `order`.
export const cameraIds = (cameras, site, order) => order.filter((id) => inSite(cameras.get(id), site));

// Whether an alarm passes: by its camera's site. An alarm of a camera the
// console does not know (yet) passes, so that nothing is hidden by a race.
export function alarmInSite(alarm, cameras, site) {
  const c = cameras.get(alarm.camera_id);
  return !c || inSite(c, site);
}

// A hub message {type: 'site', change, site_id, camera_id, ...}: what the
// console does. 'camera': the camera's site changes in the cameras Map
// (returned: true when it changed); the sites list is asked again either way.
export function applyMessage(cameras, msg) {
  if (msg?.change !== 'camera' || typeof msg.camera_id !== 'string') return false;
  const c = cameras.get(msg.camera_id);
  const site = typeof msg.site_id === 'string' ? msg.site_id : '';
  if (!c || c.site === site) return false;
  cameras.set(msg.camera_id, { ...c, site });
  return true;
}

// The open alarms of each camera of a site from the console's alarms Map:
// camera id -> [alarm] (newest first), open ones only.
export function openByCamera(alarms, ids) {
  const want = new Set(ids);
  const out = new Map();
  for (const a of alarms.values()) {
    if (a.state === 'resolved' || !want.has(a.camera_id)) continue;
    if (!out.has(a.camera_id)) out.set(a.camera_id, []);
    out.get(a.camera_id).push(a);
  }
  for (const l of out.values()) l.sort((a, b) => Number(b.id) - Number(a.id));
  return out;
}

// The plan fitted into a box of boxW x boxH pixels, its aspect kept and
// centred: {width, height, left, top, scale}. A site without a plan image
// gets the plain drawing's shape.
export function fit(plan, boxW, boxH) {
  const pw = plan?.width > 0 ? plan.width : PLAIN.width;
  const ph = plan?.height > 0 ? plan.height : PLAIN.height;
  const w = Math.max(0, boxW);
  const h = Math.max(0, boxH);
  const scale = Math.min(w / pw, h / ph);
  const width = Math.round(pw * scale);
  const height = Math.round(ph * scale);
  return { width, height, left: Math.round((w - width) / 2), top: Math.round((h - height) / 2), scale };
}

// The markers of a site's cameras on a fitted plan: [{id, name, left, top,
// open}] for those placed (pixels inside the fitted plan), and the ids of
// those not placed yet.
export function markers(site, fitted) {
  const placed = [];
  const unplaced = [];
  for (const c of site?.cameras || []) {
    if (c.x === null || c.y === null) {
      unplaced.push(c.id);
      continue;
    }
    placed.push({
      id: c.id, name: c.name, open: c.open,
      left: Math.round(c.x * fitted.width), top: Math.round(c.y * fitted.height),
    });
  }
  return { placed, unplaced };
}

// A pointer at (px, py) pixels inside the fitted plan as a position on the
// plan, {x, y} in 0..1 (clamped to the plan's edges), rounded to 1/10000.
export function toPlan(px, py, fitted) {
  const r = (v, size) => (size > 0 ? Math.round(Math.min(1, Math.max(0, v / size)) * 10000) / 10000 : 0);
  return { x: r(px, fitted.width), y: r(py, fitted.height) };
}

// A site's camera moved on the plan (after a drag saved, or a hub message):
// a new site object.
export function moveCamera(site, cameraId, x, y) {
  return { ...site, cameras: site.cameras.map((c) => (c.id === cameraId ? { ...c, x, y } : c)) };
}

// The administration's site form: {ok, errors: {field: key}, body} as
// POST/PATCH /api/v1/sites take it (an empty address clears it). The
// geographic position: both latitude and longitude (a comma or a point as
// the decimal sign), or neither (null: none).
export function siteForm(fields) {
  const errors = {};
  const name = String(fields.name ?? '').trim();
  const address = String(fields.address ?? '').trim();
  if (!name) errors.name = 'site.err.name';
  else if (new TextEncoder().encode(name).length > 128) errors.name = 'site.err.name_long';
  if (new TextEncoder().encode(address).length > 512) errors.address = 'site.err.address_long';
  const coord = (v) => String(v ?? '').trim().replace(',', '.');
  const lat = coord(fields.latitude);
  const lon = coord(fields.longitude);
  const number = (s) => (/^[-+]?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN);
  let latitude = null;
  let longitude = null;
  if (lat || lon) {
    latitude = number(lat);
    longitude = number(lon);
    if (!lat) errors.latitude = 'site.err.position_pair';
    else if (!(latitude >= -90 && latitude <= 90)) errors.latitude = 'site.err.latitude';
    if (!lon) errors.longitude = 'site.err.position_pair';
    else if (!(longitude >= -180 && longitude <= 180)) errors.longitude = 'site.err.longitude';
  }
  return { ok: Object.keys(errors).length === 0, errors, body: { name, address, latitude, longitude } };
}

// A site's position as the form shows it ('' when it has none).
export const coordText = (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '');

export const MAX_PLAN_BYTES = 8 * 1024 * 1024;

// A plan file before it is sent ({type, size} of a File): the key of what is
// wrong, or '' (the server checks the bytes themselves again).
export function planFileError(file) {
  if (!file) return 'site.err.plan_missing';
  if (file.type !== 'image/png' && file.type !== 'image/jpeg') return 'site.err.plan_type';
  if (file.size > MAX_PLAN_BYTES) return 'site.err.plan_large';
  if (file.size === 0) return 'site.err.plan_missing';
  return '';
}
