// Signing up, logging in and resetting a forgotten password.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Field, FormErrors, useSubmit } from '../components/form.js';
import { html } from '../html.js';
import { navigate } from '../router.js';
import { signedIn } from '../session.js';

// Where to go after signing in: the page that asked for it (same-origin paths only).
function afterSignIn(query) {
  const next = query.get('next') || '';
  navigate(next.startsWith('/') && !next.startsWith('//') ? next : '/sites', { replace: true });
}

function CredentialsForm({ title, endpoint, submitLabel, query, children }) {
  const { onSubmit, busy, errors } = useSubmit(async ({ email, password }) => {
    signedIn(await api(endpoint, { method: 'POST', body: { email, password } }));
    afterSignIn(query);
  });
  return html`
    <section class="narrow">
      <h1>${title}</h1>
      <form onSubmit=${onSubmit} novalidate>
        <${Field} label="Email" name="email" type="email" autocomplete="email" required error=${errors.email} />
        <${Field} label="Password" name="password" type="password" required error=${errors.password}
          autocomplete=${endpoint.endsWith('signup') ? 'new-password' : 'current-password'} />
        <${FormErrors} errors=${errors} fields=${['email', 'password']} />
        <button type="submit" disabled=${busy}>${submitLabel}</button>
      </form>
      ${children}
    </section>`;
}

export function LoginView({ query }) {
  return html`<${CredentialsForm} title="Log in" endpoint="/api/auth/login" submitLabel="Log in" query=${query}>
    <p><a href="/reset-password">Forgot your password?</a> · <a href="/signup">Create an account</a></p>
  </${CredentialsForm}>`;
}

export function SignupView({ query }) {
  return html`<${CredentialsForm} title="Create your account" endpoint="/api/auth/signup" submitLabel="Sign up"
      query=${query}>
    <p>Already have an account? <a href="/login">Log in</a></p>
  </${CredentialsForm}>`;
}

function ResetRequest() {
  const [sent, setSent] = useState(false);
  const { onSubmit, busy, errors } = useSubmit(async ({ email }) => {
    await api('/api/auth/password-reset', { method: 'POST', body: { email } });
    setSent(true);
  });
  if (sent) {
    return html`<p role="status">If an account uses that address, a reset link is on its way. It works for an hour.</p>`;
  }
  return html`
    <form onSubmit=${onSubmit} novalidate>
      <${Field} label="Email" name="email" type="email" autocomplete="email" required error=${errors.email} />
      <${FormErrors} errors=${errors} fields=${['email']} />
      <button type="submit" disabled=${busy}>Send a reset link</button>
    </form>`;
}

// The reset link carries its token in the fragment, which browsers never send to servers.
function ResetConfirm({ token }) {
  const [done, setDone] = useState(false);
  const { onSubmit, busy, errors } = useSubmit(async ({ new_password: password }) => {
    await api('/api/auth/password-reset/confirm', { method: 'POST', body: { token, new_password: password } });
    setDone(true);
  });
  if (done) {
    return html`<p role="status">Your password is changed. <a href="/login">Log in</a> with it.</p>`;
  }
  return html`
    <form onSubmit=${onSubmit} novalidate>
      <${Field} label="New password" name="new_password" type="password" autocomplete="new-password" required
        error=${errors.new_password ?? errors.password} />
      <${FormErrors} errors=${errors} fields=${['new_password', 'password']} />
      <button type="submit" disabled=${busy}>Set the new password</button>
    </form>`;
}

export function ResetPasswordView() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  return html`
    <section class="narrow">
      <h1>Reset your password</h1>
      ${token ? html`<${ResetConfirm} token=${token} />` : html`<${ResetRequest} />`}
    </section>`;
}
