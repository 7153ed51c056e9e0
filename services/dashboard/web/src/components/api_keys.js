// The account's API keys: list, create (the key is shown once) and revoke.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { html } from '../html.js';
import { useApi } from '../use_api.js';
import { Field, FormErrors, useSubmit } from './form.js';

const scopes = [
  { value: 'stats:read', label: 'stats:read: read statistics (Stats API)' },
  { value: 'sites:admin', label: 'sites:admin: manage sites and their settings' },
];

export function ApiKeys() {
  const keys = useApi('/api/api-keys');
  const [created, setCreated] = useState(null);
  const { onSubmit, busy, errors } = useSubmit(async (values, form) => {
    setCreated(await api('/api/api-keys', { method: 'POST', body: values }));
    form.reset();
    keys.reload();
  });
  const revoke = async (key) => {
    if (confirm(`Revoke the key ${key.name || key.prefix}? Scripts using it stop working.`)) {
      await api(`/api/api-keys/${key.id}`, { method: 'DELETE' });
      keys.reload();
    }
  };
  return html`
    <div class="api-keys">
      ${keys.data?.api_keys.length > 0 &&
      html`<ul class="plain-list">
        ${keys.data.api_keys.map(
          (key) => html`<li key=${key.id}>
            <span><strong>${key.name || '(unnamed)'}</strong> <code>${key.prefix}…</code> ${key.scope}</span>
            <button type="button" class="danger small" onClick=${() => revoke(key)}>Revoke</button>
          </li>`
        )}
      </ul>`}
      ${created &&
      html`<p role="status" class="notice">New key (${created.notice}): <code data-testid="new-api-key">${created.key}</code></p>`}
      <form onSubmit=${onSubmit} class="inline-form" novalidate>
        <${Field} label="Name" name="name" placeholder="Reporting script" error=${errors.name} />
        <${Field} label="Scope" name="scope" options=${scopes} error=${errors.scope} />
        <${FormErrors} errors=${errors} fields=${['name', 'scope']} />
        <button type="submit" disabled=${busy}>Create a key</button>
      </form>
    </div>`;
}
