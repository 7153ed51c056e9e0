// The row of headline numbers with their change versus the comparison period; choosing one
// shows it in the main chart.
import { formatMetric, metricLabels } from '../format.js';
import { html } from '../html.js';

// Metrics where a rise is bad news (shown red when they go up).
const lowerIsBetter = new Set(['bounce_rate']);

function Change({ metric, change }) {
  if (change === undefined) {
    return null;
  }
  const good = lowerIsBetter.has(metric) ? change < 0 : change > 0;
  const tone = change === 0 ? 'flat' : good ? 'up' : 'down';
  const unit = metric === 'bounce_rate' ? ' pts' : '%';
  const arrow = change > 0 ? '↑' : change < 0 ? '↓' : '';
  return html`<span class=${`change ${tone}`}>${arrow} ${Math.abs(change)}${unit}</span>`;
}

export function TopStats({ totals, selected, onSelect }) {
  return html`
    <ul class="top-stats">
      ${totals.metrics.map(
        (m) => html`
          <li key=${m.metric}>
            <button type="button" class="stat" aria-pressed=${m.metric === selected ? 'true' : 'false'}
                onClick=${() => onSelect(m.metric)} data-metric=${m.metric}>
              <span class="stat-label">${metricLabels[m.metric]}</span>
              <span class="stat-value" data-value=${m.value}>${formatMetric(m.metric, m.value)}</span>
              <${Change} metric=${m.metric} change=${m.change} />
            </button>
          </li>`
      )}
    </ul>`;
}
