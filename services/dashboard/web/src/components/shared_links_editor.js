// Shared links: read-only dashboards for people without an account, optionally behind a
// password. A link's URL is shown once, when it is made (only its hash is stored).
import { useState } from 'preact/hooks';
import { api, sitePath } from '../api.js';
import { html } from '../html.js';
import { useApi } from '../use_api.js';
import { Field, FormErrors, useSubmit } from './form.js';

export function SharedLinksEditor({ domain }) {
  const links = useApi(sitePath(domain, '/shared-links'));
  const [created, setCreated] = useState(null);
  const { onSubmit, busy, errors } = useSubmit(async ({ name, password }, form) => {
    const body = password ? { name, password } : { name };
    setCreated(await api(sitePath(domain, '/shared-links'), { method: 'POST', body }));
    form.reset();
    links.reload();
  });
  const revoke = async (link) => {
    await api(sitePath(domain, `/shared-links/${link.id}`), { method: 'DELETE' });
    links.reload();
  };
  return html`
    <ul class="plain-list">
      ${links.data?.shared_links.map(
        (link) => html`<li key=${link.id}>
          <span><strong>${link.name}</strong>${link.password_protected ? ' (password)' : ''}</span>
          <button type="button" class="danger small" onClick=${() => revoke(link)}>Revoke</button>
        </li>`
      )}
    </ul>
    ${created &&
    html`<p role="status" class="notice">Shared link (${created.notice}):
      <a href=${created.url} data-testid="shared-link-url">${created.url}</a></p>`}
    <form onSubmit=${onSubmit} class="inline-form" novalidate>
      <${Field} label="Name" name="name" required placeholder="Investors" error=${errors.name} />
      <${Field} label="Password (optional)" name="password" type="password" autocomplete="new-password"
        error=${errors.password} />
      <${FormErrors} errors=${errors} fields=${['name', 'password']} />
      <button type="submit" disabled=${busy}>Create a shared link</button>
    </form>`;
}
