// A site's goals: custom event names or page paths whose visitors count as conversions.
import { api, sitePath } from '../api.js';
import { html } from '../html.js';
import { useApi } from '../use_api.js';
import { Field, FormErrors, useSubmit } from './form.js';

export function GoalsEditor({ domain }) {
  const goals = useApi(sitePath(domain, '/goals'));
  const { onSubmit, busy, errors } = useSubmit(async ({ kind, target }, form) => {
    const body = kind === 'page' ? { page_path: target.trim() } : { event_name: target.trim() };
    await api(sitePath(domain, '/goals'), { method: 'POST', body });
    form.reset();
    goals.reload();
  });
  const remove = async (goal) => {
    await api(sitePath(domain, `/goals/${goal.id}`), { method: 'DELETE' });
    goals.reload();
  };
  return html`
    ${goals.data?.goals.length === 0 && html`<p>No goals yet.</p>`}
    <ul class="plain-list">
      ${goals.data?.goals.map(
        (goal) => html`<li key=${goal.id}>
          <span>${goal.event_name ? html`Event <strong>${goal.event_name}</strong>` : html`Visit to <code>${goal.page_path}</code>`}</span>
          <button type="button" class="danger small" onClick=${() => remove(goal)}>Delete</button>
        </li>`
      )}
    </ul>
    <form onSubmit=${onSubmit} class="inline-form" novalidate>
      <${Field} label="Goal type" name="kind" options=${[{ value: 'event', label: 'Custom event' }, { value: 'page', label: 'Page visit' }]} />
      <${Field} label="Event name or page path" name="target" required placeholder="Signup or /thank-you"
        error=${errors.event_name ?? errors.page_path} />
      <${FormErrors} errors=${errors} fields=${['event_name', 'page_path']} />
      <button type="submit" disabled=${busy}>Add the goal</button>
    </form>`;
}
