// A tiny line chart of a series (visitors per hour on the site list); decorative, so hidden
// from assistive technology: the number beside it says what matters.
import { html } from '../html.js';

const WIDTH = 120;
const HEIGHT = 32;

export function Sparkline({ values }) {
  if (!values || values.length < 2) {
    return html`<svg class="sparkline" viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} aria-hidden="true"></svg>`;
  }
  const top = Math.max(...values, 1);
  const step = WIDTH / (values.length - 1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(HEIGHT - 2 - (v / top) * (HEIGHT - 4)).toFixed(1)}`);
  return html`
    <svg class="sparkline" viewBox=${`0 0 ${WIDTH} ${HEIGHT}`} preserveAspectRatio="none" aria-hidden="true">
      <polyline points=${points.join(' ')} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>`;
}
