// The sign-in form: POST /api/v1/auth/login; the refusal in words (wrong
// password, the throttle's wait, no server). onSignedIn() once the server
// set the session cookie.
import { t } from '../i18n.js';
import { api } from '../api.js';
import * as sound from '../sound.js';

const $ = (id) => document.getElementById(id);

export class LoginPanel {
  constructor({ onSignedIn }) {
    $('login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      sound.unlock();  // a user gesture: the alarm sound may play from now on
      const form = new FormData(ev.target);
      const res = await api('POST', '/api/v1/auth/login',
        { username: form.get('username'), password: form.get('password') });
      ev.target.reset();
      if (res.status === 200) {
        $('login-error').textContent = '';
        await onSignedIn();
      } else if (res.status === 429) {
        $('login-error').textContent = t('login.limited', { s: res.headers.get('Retry-After') });
      } else if (res.status === 0) {
        $('login-error').textContent = t('err.network');
      } else {
        // The server's own words too (a disabled account reads as a wrong password).
        const said = res.data?.error?.message;
        $('login-error').textContent = t('login.failed') + (said ? ` (${res.status}: ${said})` : '');
      }
    });
  }

  show(message = '') {
    $('login-view').hidden = false;
    $('console-view').hidden = true;
    $('login-error').textContent = message;
  }

  hide() {
    $('login-view').hidden = true;
    $('console-view').hidden = false;
  }
}
