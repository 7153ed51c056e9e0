// The app shell: the header, then the view the URL names. Views that need an account send
// signed-out visitors to the login page, which brings them back afterwards.
import { useEffect } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { matchPath, navigate, useLocation } from './router.js';
import { signedOut, useAccount } from './session.js';
import { AccountView } from './views/account.js';
import { LoginView, ResetPasswordView, SignupView } from './views/auth.js';
import { DashboardView } from './views/dashboard.js';
import { InvitationView } from './views/invitation.js';
import { SettingsView } from './views/settings.js';
import { SharedDashboardView } from './views/shared.js';
import { AddSiteView, SiteListView } from './views/sites.js';

// [pattern, view, needs an account]; the first match wins (/sites/new before /sites/{domain}).
const routes = [
  ['/', Landing, false],
  ['/login', LoginView, false],
  ['/signup', SignupView, false],
  ['/reset-password', ResetPasswordView, false],
  ['/share/{token}', SharedDashboardView, false],
  ['/invitation', InvitationView, true],
  ['/account', AccountView, true],
  ['/sites', SiteListView, true],
  ['/sites/new', AddSiteView, true],
  ['/sites/{domain}', DashboardView, true],
  ['/sites/{domain}/settings', SettingsView, true],
];

function Landing() {
  const account = useAccount();
  useEffect(() => {
    if (account) {
      navigate('/sites', { replace: true });
    }
  }, [account]);
  return html`
    <section class="landing">
      <h1>Simple, privacy-first analytics</h1>
      <p>Cookieless, no personal data, every number on one page.</p>
      <p class="actions"><a class="button" href="/signup">Create an account</a> <a href="/login">Log in</a></p>
    </section>`;
}

function NotFound({ path }) {
  return html`
    <section>
      <h1>Not found</h1>
      <p>Nothing lives at <code>${path}</code>. <a href="/">Back to the start</a>.</p>
    </section>`;
}

function SignInFirst() {
  useEffect(() => {
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`, {
      replace: true,
    });
  }, []);
  return null;
}

function Header({ account }) {
  const logOut = async () => {
    // A session that already ended answers 401; the visitor is signed out either way.
    await api('/api/auth/logout', { method: 'POST' }).catch(() => {});
    signedOut();
    navigate('/login');
  };
  return html`
    <header class="top">
      <a class="brand" href=${account ? '/sites' : '/'}>Plumb</a>
      <nav aria-label="Account">
        ${account
          ? html`<a href="/sites">Sites</a><a href="/account">${account.email}</a>
              <button type="button" class="link" onClick=${logOut}>Log out</button>`
          : html`<a href="/login">Log in</a><a href="/signup">Sign up</a>`}
      </nav>
    </header>`;
}

export function App() {
  const { path, query } = useLocation();
  const account = useAccount();
  const embedded = query.get('embed') === 'true';
  let view = html`<${NotFound} path=${path} />`;
  for (const [pattern, View, needsAccount] of routes) {
    const params = matchPath(pattern, path);
    if (params) {
      if (needsAccount && account === undefined) {
        view = html`<p class="loading" aria-live="polite">Loading…</p>`;
      } else if (needsAccount && !account) {
        view = html`<${SignInFirst} />`;
      } else {
        view = html`<${View} ...${params} query=${query} />`;
      }
      break;
    }
  }
  return html`
    ${!embedded && html`<${Header} account=${account} />`}
    <main>${view}</main>`;
}
