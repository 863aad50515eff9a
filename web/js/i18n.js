// Translations: Polish by default, English on request, the choice kept in
// localStorage ('zaulek.lang'). Panels register a callback with onLanguage()
// to put their text in again; static text in index.html carries data-i18n.
import pl from './lang/pl.js';
import en from './lang/en.js';

export const TEXT = { pl, en };
export const LANGUAGES = ['pl', 'en'];

const store = globalThis.localStorage;
let lang = LANGUAGES.includes(store?.getItem('zaulek.lang')) ? store.getItem('zaulek.lang') : 'pl';
const listeners = [];

// "{name}" placeholders filled from vars (pure; tested).
export function format(template, vars = {}) {
  return template.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

export const t = (key, vars) => format(TEXT[lang][key] ?? key, vars);
// The translation of a server value (kind.motion), or the value itself.
export const label = (prefix, value) => TEXT[lang][prefix + value] ?? String(value);
export const getLang = () => lang;
export const locale = () => (lang === 'pl' ? 'pl-PL' : 'en-GB');
export const when = (s) => (s ? new Date(s).toLocaleString(locale()) : '');

export function onLanguage(fn) {
  listeners.push(fn);
}

export function setLang(code) {
  if (!LANGUAGES.includes(code)) return;
  lang = code;
  store?.setItem('zaulek.lang', code);
  applyLanguage();
}

export function applyLanguage() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
    el.setAttribute('aria-label', el.placeholder);
  }
  for (const fn of listeners) fn();
}

// Text set through a key is translated again when the language changes.
export function setText(el, key) {
  el.dataset.i18n = key;
  el.textContent = t(key);
}
