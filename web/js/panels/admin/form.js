// Small DOM helpers the administration panels share: a form's fields as an
// object, the checks' errors beside their fields, the server's refusal in
// words, an element built from text only (never HTML).
import { t } from '../../i18n.js';
import { errorText } from '../../api.js';

// name -> value; checkboxes as booleans, multiple selects as arrays.
export function fields(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox' && el.closest('.checks')) {
      (out[el.name] ||= []);
      if (el.checked) out[el.name].push(el.value);
    } else if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.multiple) out[el.name] = [...el.selectedOptions].map((o) => o.value);
    else out[el.name] = el.value;
  }
  return out;
}

// The checks' errors ({field: key}) beside their fields; data-invalid on the
// form says which (the Selenium test reads it).
export function showErrors(form, errors = {}) {
  for (const p of form.querySelectorAll('[data-error]')) {
    const key = errors[p.dataset.error];
    p.textContent = key ? t(key) : '';
  }
  form.dataset.invalid = Object.keys(errors).join(' ');
}

// The server's refusal of what the form sent, in words, at the form's foot.
export function showFailure(form, f) {
  const p = form.querySelector('[data-error="form"]');
  p.textContent = errorText(f, 'adm.e.');
  p.dataset.status = String(f.status);
}

export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k === 'data') Object.assign(e.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

export const button = (key, cls, onClick, vars) =>
  el('button', { type: 'button', class: cls, text: t(key, vars), on: { click: onClick } });

// A button that asks once more before it acts (no modal dialog): the first
// click turns it into "Sure? ...", the second acts; it turns back after 5 s.
export function confirmButton(key, cls, onConfirm) {
  const b = button(key, cls, () => {
    if (b.dataset.armed === 'true') {
      clearTimeout(b.timer);
      onConfirm();
      return;
    }
    b.dataset.armed = 'true';
    b.textContent = t('adm.sure', { what: t(key) });
    b.timer = setTimeout(() => {
      b.dataset.armed = 'false';
      b.textContent = t(key);
    }, 5000);
  });
  return b;
}

export function options(select, list, chosen) {
  const keep = chosen ?? select.value;
  select.replaceChildren(...list.map(([value, text]) => el('option', { value, text })));
  if (list.some(([v]) => v === keep)) select.value = keep;
}
