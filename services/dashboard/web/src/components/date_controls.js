// The period picker (presets and a custom range), the interval switch and the comparison
// toggle. Each change becomes a new URL; the dashboard reads its state back from there.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { intervalsFor, periods, urlWith } from '../query.js';
import { navigate } from '../router.js';

const comparisons = [
  { value: '', label: 'No comparison' },
  { value: 'previous_period', label: 'Previous period' },
  { value: 'previous_year', label: 'Year over year' },
];

function CustomRange({ date }) {
  const [first, last] = date ? date.split(',') : ['', ''];
  const apply = (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(event.currentTarget));
    navigate(urlWith({ period: 'custom', date: `${values.first},${values.last}`, interval: null }));
  };
  return html`
    <form class="custom-range" onSubmit=${apply}>
      <label>From <input type="date" name="first" value=${first} required /></label>
      <label>to <input type="date" name="last" value=${last} required /></label>
      <button type="submit" class="secondary">Apply</button>
    </form>`;
}

export function DateControls({ state }) {
  const [customOpen, setCustomOpen] = useState(state.period === 'custom');
  const choosePeriod = (event) => {
    const period = event.currentTarget.value;
    if (period === 'custom') {
      setCustomOpen(true);
      return;
    }
    setCustomOpen(false);
    navigate(urlWith({ period, date: null, interval: null }));
  };
  const intervals = intervalsFor(state.period);
  return html`
    <div class="date-controls">
      <label class="compact">
        <span class="visually-hidden">Period</span>
        <select name="period" value=${customOpen ? 'custom' : state.period} onChange=${choosePeriod}>
          ${periods.map((p) => html`<option key=${p.value} value=${p.value}>${p.label}</option>`)}
        </select>
      </label>
      ${customOpen && html`<${CustomRange} date=${state.date} />`}
      ${intervals.length > 1 &&
      html`<div class="segmented" role="group" aria-label="Interval">
        ${intervals.map(
          (i) => html`<button type="button" key=${i} aria-pressed=${i === state.interval ? 'true' : 'false'}
            onClick=${() => navigate(urlWith({ interval: i }))}>${i}</button>`
        )}
      </div>`}
      ${state.period !== 'realtime' &&
      html`<label class="compact">
        <span class="visually-hidden">Compare with</span>
        <select name="compare" value=${state.compare}
            onChange=${(e) => navigate(urlWith({ compare: e.currentTarget.value || null }))}>
          ${comparisons.map((c) => html`<option key=${c.value} value=${c.value}>${c.label}</option>`)}
        </select>
      </label>`}
    </div>`;
}
