// The site's team: members and their roles, pending invitations, and inviting someone. Owners
// change roles; admins invite and remove (never above their own role: the server checks).
import { api, sitePath } from '../api.js';
import { html } from '../html.js';
import { useApi } from '../use_api.js';
import { Field, FormErrors, useSubmit } from './form.js';

const roles = ['viewer', 'admin', 'owner'].map((role) => ({ value: role, label: role }));

export function MembersEditor({ domain, myRole }) {
  const team = useApi(sitePath(domain, '/members'));
  const { onSubmit, busy, errors } = useSubmit(async (values, form) => {
    await api(sitePath(domain, '/invitations'), { method: 'POST', body: values });
    form.reset();
    team.reload();
  });
  // A refused change (such as removing the last owner) is reported in an alert.
  const act = (path, method, body) => api(sitePath(domain, path), { method, body }).then(team.reload, alertError);
  return html`
    <ul class="plain-list">
      ${team.data?.members.map(
        (m) => html`<li key=${m.account_id}>
          <span>${m.email}</span>
          <span class="row-actions">
            ${myRole === 'owner'
              ? html`<label><span class="visually-hidden">Role of ${m.email}</span>
                  <select value=${m.role} onChange=${(e) => act(`/members/${m.account_id}`, 'PATCH', { role: e.currentTarget.value })}>
                    ${roles.map((r) => html`<option key=${r.value} value=${r.value}>${r.label}</option>`)}
                  </select></label>`
              : html`<span>${m.role}</span>`}
            <button type="button" class="danger small" onClick=${() => act(`/members/${m.account_id}`, 'DELETE')}>Remove</button>
          </span>
        </li>`
      )}
      ${team.data?.invitations.map(
        (i) => html`<li key=${`invitation-${i.id}`}>
          <span>${i.email} (invited as ${i.role}, until ${i.expires_at.slice(0, 10)})</span>
          <button type="button" class="secondary small" onClick=${() => act(`/invitations/${i.id}`, 'DELETE')}>Cancel</button>
        </li>`
      )}
    </ul>
    <form onSubmit=${onSubmit} class="inline-form" novalidate>
      <${Field} label="Email" name="email" type="email" required error=${errors.email} />
      <${Field} label="Role" name="role" options=${roles.slice(0, myRole === 'owner' ? 3 : 2)} error=${errors.role} />
      <${FormErrors} errors=${errors} fields=${['email', 'role']} />
      <button type="submit" disabled=${busy}>Invite</button>
    </form>`;
}

function alertError(error) {
  alert(error.message);
}
