// A shared link's read-only dashboard: anyone with the link sees the site's numbers, after a
// password when the link has one. ?embed=true hides the app's header for embedding.
import { api } from '../api.js';
import { Field, FormErrors, useSubmit } from '../components/form.js';
import { html } from '../html.js';
import { useApi } from '../use_api.js';
import { SiteDashboard } from './dashboard.js';

function Unlock({ token, onUnlocked }) {
  const { onSubmit, busy, errors } = useSubmit(async ({ password }) => {
    await api(`/api/shared/${encodeURIComponent(token)}/unlock`, { method: 'POST', body: { password } });
    onUnlocked();
  });
  return html`
    <section class="narrow">
      <h1>This dashboard is protected</h1>
      <form onSubmit=${onSubmit} novalidate>
        <${Field} label="Password" name="password" type="password" required autocomplete="current-password"
          error=${errors.password} />
        <${FormErrors} errors=${errors} fields=${['password']} />
        <button type="submit" disabled=${busy}>View the dashboard</button>
      </form>
    </section>`;
}

export function SharedDashboardView({ token, query }) {
  const base = `/api/shared/${encodeURIComponent(token)}`;
  const site = useApi(base);
  if (site.error?.status === 401) {
    return html`<${Unlock} token=${token} onUnlocked=${site.reload} />`;
  }
  if (site.error) {
    return html`<p role="alert" class="error">${site.error.message}</p>`;
  }
  if (!site.data) {
    return html`<p class="loading" aria-live="polite">Loading…</p>`;
  }
  return html`<${SiteDashboard} title=${site.data.domain} base=${base} query=${query} />`;
}
