// The active filters as chips; each one's button removes it.
import { html } from '../html.js';
import { filterOperators, parseFilter, urlWith } from '../query.js';
import { navigate } from '../router.js';
import { propertyLabel } from './breakdown_box.js';

export function FilterChips({ filters }) {
  if (filters.length === 0) {
    return null;
  }
  const remove = (index) => navigate(urlWith({ f: filters.filter((_, i) => i !== index) }));
  return html`
    <ul class="filters" aria-label="Filters">
      ${filters.map((text, index) => {
        const { property, operator, value } = parseFilter(text);
        const label = `${propertyLabel(property)} ${filterOperators[operator]} ${value}`;
        return html`<li key=${text} class="chip" data-filter=${text}>
          <span>${label}</span>
          <button type="button" onClick=${() => remove(index)} aria-label=${`Remove filter: ${label}`}>×</button>
        </li>`;
      })}
      ${filters.length > 1 &&
      html`<li><button type="button" class="link" onClick=${() => navigate(urlWith({ f: null }))}>Clear all</button></li>`}
    </ul>`;
}
