// The REST client: same-origin fetch with the session cookie, the CSRF token
// on every change, JSON both ways. Never throws: a call that got no answer at
// all is {status: 0}.
import { t, TEXT, getLang } from './i18n.js';

let csrf = globalThis.sessionStorage?.getItem('zaulek.csrf') || '';

export function setCsrf(token) {
  csrf = token || '';
  if (csrf) sessionStorage.setItem('zaulek.csrf', csrf);
  else sessionStorage.removeItem('zaulek.csrf');
}

export async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    return { status: 0, data: {}, headers: new Headers() };  // no answer at all
  }
  const data = await res.json().catch(() => ({}));
  return { status: res.status, data, headers: res.headers };
}

// {status, message} of a failed call: the server's own words
// (docs/design/errors.md: {"error": {code, message}}).
export const failure = (res) => ({ status: res.status, message: res.data?.error?.message || '' });

// One line for the operator: the status in the console's language, then the
// server's message. A panel may give its own words for a status (prefix
// 'adm.e.': adm.e.404, ...); err.<status> otherwise.
export function errorText(f, prefix = 'err.') {
  if (f.status === 0) return t('err.network');
  const text = TEXT[getLang()];
  const key = text[prefix + f.status] ? prefix + f.status : text['err.' + f.status] ? 'err.' + f.status : 'err.other';
  return `${t(key)} (${f.status})` + (f.message ? `: ${f.message}` : '');
}

export const cameraPath = (id, rest = '') => `/api/v1/cameras/${encodeURIComponent(id)}${rest}`;
