// A shared link's read-only dashboard: anyone with the link sees the site's numbers, after a
// password when the link has one. ?embed=true hides the app's header for embedding. The unlock
// token is kept in sessionStorage (per tab, per link) and sent as a header, so a protected link
// also unlocks inside another site's frame, where the unlock cookie is not sent.
import { api, setSharedUnlock } from '../api.js';
import { Field, FormErrors, useSubmit } from '../components/form.js';
import { html } from '../html.js';
import { useApi } from '../use_api.js';
import { SiteDashboard } from './dashboard.js';

const unlockKey = (token) => `plumb-unlock:${token}`;

// sessionStorage may be refused (storage blocked for frames): the unlock then lasts for the page.
function savedUnlock(token) {
  try {
    return sessionStorage.getItem(unlockKey(token));
  } catch {
    return null;
  }
}

function Unlock({ token, onUnlocked }) {
  const { onSubmit, busy, errors } = useSubmit(async ({ password }) => {
    const answer = await api(`/api/shared/${encodeURIComponent(token)}/unlock`, { method: 'POST', body: { password } });
    try {
      sessionStorage.setItem(unlockKey(token), answer.unlock_token);
    } catch {
      // kept in memory only
    }
    setSharedUnlock(answer.unlock_token);
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
  const saved = savedUnlock(token);
  if (saved) {
    setSharedUnlock(saved);
  }
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
