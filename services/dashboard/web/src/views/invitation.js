// Accepting an invitation to a site: the emailed link carries its token in the fragment.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { html } from '../html.js';

export function InvitationView() {
  const [state, setState] = useState({ status: 'accepting' });
  useEffect(() => {
    const token = new URLSearchParams(location.hash.slice(1)).get('token') || '';
    api('/api/invitations/accept', { method: 'POST', body: { token } })
      .then((site) => setState({ status: 'accepted', site }))
      .catch((error) => setState({ status: 'failed', message: error.message }));
  }, []);
  return html`
    <section class="narrow">
      <h1>Invitation</h1>
      ${state.status === 'accepting' && html`<p aria-live="polite">Accepting…</p>`}
      ${state.status === 'accepted' &&
      html`<p role="status">You are now a ${state.site.role} of
        <a href=${`/sites/${encodeURIComponent(state.site.domain)}`}>${state.site.domain}</a>.</p>`}
      ${state.status === 'failed' && html`<p role="alert" class="error">${state.message}</p>`}
    </section>`;
}
