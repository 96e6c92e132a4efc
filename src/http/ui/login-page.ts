// Sign-in: the admin token, exchanged once for a session cookie.

import { html, type Html } from './html.js';

export function loginBody(problem: string | null, enabled: boolean): Html {
  if (!enabled) {
    return html`<p class="error" role="alert">
      Sign-in is off: this server has no admin token or no dashboard session key. Set <code>adminTokenFile</code> and <code>ui.sessionKeyFile</code>.
    </p>`;
  }
  return html`${problem ? html`<p class="error" role="alert" id="login-error">${problem}</p>` : ''}
    <form method="post" action="/ui/login" class="login">
      <label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus /></label>
      <button type="submit">Sign in</button>
    </form>
    <p class="note">The token is in <code>admin-token</code> in the data directory (embedded mode), or where <code>adminTokenFile</code> points.</p>`;
}
