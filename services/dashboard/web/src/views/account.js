// Account settings: the password, and API keys for scripts (keys act as this account on every
// site it belongs to, limited by their scope).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ApiKeys } from '../components/api_keys.js';
import { Field, FormErrors, useSubmit } from '../components/form.js';
import { html } from '../html.js';
import { signedIn, useAccount } from '../session.js';

function ChangePassword() {
  const [changed, setChanged] = useState(false);
  const { onSubmit, busy, errors } = useSubmit(async (values, form) => {
    // Every session ends on a password change; the answer starts this browser's new one.
    signedIn(await api('/api/auth/password', { method: 'POST', body: values }));
    form.reset();
    setChanged(true);
  });
  return html`
    <form onSubmit=${onSubmit} novalidate>
      <${Field} label="Current password" name="current_password" type="password" autocomplete="current-password"
        required error=${errors.current_password} />
      <${Field} label="New password" name="new_password" type="password" autocomplete="new-password" required
        error=${errors.new_password ?? errors.password} />
      <${FormErrors} errors=${errors} fields=${['current_password', 'new_password', 'password']} />
      <button type="submit" disabled=${busy}>Change the password</button>
      ${changed && html`<p role="status">Changed. Every other session has been signed out.</p>`}
    </form>`;
}

export function AccountView() {
  const account = useAccount();
  return html`
    <section class="narrow">
      <h1>Your account</h1>
      <p>Signed in as <strong>${account.email}</strong>.</p>
      <h2>Password</h2>
      <${ChangePassword} />
      <h2 id="api-keys">API keys</h2>
      <${ApiKeys} />
    </section>`;
}
