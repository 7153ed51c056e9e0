// A site's dashboard on one page: current visitors (live), the headline numbers, the main
// chart and the breakdown boxes, all for the period, filters and comparison in the URL. The
// same dashboard serves members (/api/stats/{domain}) and shared links (/api/shared/{token}).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { BreakdownBox } from '../components/breakdown_box.js';
import { DateControls } from '../components/date_controls.js';
import { FilterChips } from '../components/filter_chips.js';
import { MainChart } from '../components/main_chart.js';
import { TopStats } from '../components/top_stats.js';
import { formatMetric } from '../format.js';
import { html } from '../html.js';
import { readDashboardState, statsParams, urlWith } from '../query.js';
import { navigate } from '../router.js';
import { useApi, usePolling } from '../use_api.js';

// Current visitors are counted over the last 5 minutes; asking every 10 s keeps them live.
const CURRENT_VISITORS_EVERY_MS = 10_000;

const headlineMetrics = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration'];
// Realtime answers only counts.
const realtimeMetrics = ['visitors', 'visits', 'pageviews'];

const tab = (id, label, property, metrics = ['visitors']) => ({ id, label, property, metrics });

const boxes = [
  { id: 'pages', title: 'Pages', tabs: [
    tab('top', 'Top pages', 'event:page', ['visitors', 'pageviews']),
    tab('entry', 'Entry pages', 'visit:entry_page', ['visitors', 'visits']),
    // Exits only: exit rows keep no visitor sketch (docs/ROLLUPS.md), so unique visitors per exit
    // page would read a year of raw events.
    tab('exit', 'Exit pages', 'visit:exit_page', ['visits']),
  ] },
  { id: 'sources', title: 'Sources', tabs: [
    tab('channels', 'Channels', 'visit:channel'),
    tab('sources', 'Sources', 'visit:source'),
    tab('referrers', 'Referrers', 'visit:referrer'),
    tab('utm_source', 'UTM source', 'visit:utm_source'),
    tab('utm_medium', 'UTM medium', 'visit:utm_medium'),
    tab('utm_campaign', 'UTM campaign', 'visit:utm_campaign'),
    tab('utm_term', 'UTM term', 'visit:utm_term'),
    tab('utm_content', 'UTM content', 'visit:utm_content'),
  ] },
  { id: 'locations', title: 'Locations', tabs: [
    tab('countries', 'Countries', 'visit:country'),
    tab('regions', 'Regions', 'visit:region'),
    tab('cities', 'Cities', 'visit:city'),
  ] },
  { id: 'devices', title: 'Devices', tabs: [
    tab('browsers', 'Browsers', 'visit:browser'),
    tab('os', 'Operating systems', 'visit:os'),
    tab('screens', 'Screen sizes', 'visit:screen'),
  ] },
  // Every goal with data (custom events and the site's "Visit /path*" goals): unique and total
  // conversions, conversion rate, and revenue when a goal has some.
  { id: 'goals', title: 'Goals', tabs: [{
    ...tab('goals', 'Goals', 'event:goal', ['visitors', 'events', 'conversion_rate', 'total_revenue']),
    labels: { visitors: 'Uniques', events: 'Total' },
    optional: ['total_revenue'],
  }] },
];

function CurrentVisitors({ base }) {
  const [count, setCount] = useState(null);
  usePolling(
    () => api(`${base}/top-stats?period=realtime&metrics=visitors`)
      .then((answer) => setCount(answer.current_visitors), () => setCount(null)),
    CURRENT_VISITORS_EVERY_MS,
    [base]
  );
  return html`<p class="current-visitors" aria-live="polite">
    <span class="pulse" aria-hidden="true"></span>
    <strong data-testid="current-visitors">${count ?? '–'}</strong> current ${count === 1 ? 'visitor' : 'visitors'}
  </p>`;
}

// Custom property breakdowns: the property name is typed in (events carry any names) and kept
// in the URL as ?prop=NAME.
function PropertyBox({ base, state }) {
  const name = state.query.get('prop') || '';
  const choose = (event) => {
    event.preventDefault();
    const value = new FormData(event.currentTarget).get('prop').trim();
    navigate(urlWith({ prop: value || null }));
  };
  const picker = html`<form class="prop-picker" onSubmit=${choose}>
    <label for="prop-name">Property name</label>
    <input id="prop-name" name="prop" value=${name} placeholder="plan, author…" />
    <button type="submit" class="secondary">Show</button>
  </form>`;
  const tabs = name ? [tab('prop', name, `event:props:${name}`, ['visitors', 'events'])] : [];
  return html`<${BreakdownBox} id="props" title="Custom properties" tabs=${tabs} base=${base} state=${state}
    extra=${picker} />`;
}

function Graph({ base, state }) {
  const metric = state.period === 'realtime' && !realtimeMetrics.includes(state.metric) ? 'visitors' : state.metric;
  const params = statsParams(state, { metrics: metric, interval: state.interval, compare: state.compare });
  const { data, error } = useApi(`${base}/main-graph?${params}`);
  if (error) {
    return html`<p role="alert" class="error">${error.message}</p>`;
  }
  return data ? html`<${MainChart} graph=${data} metric=${metric} />` : html`<div class="chart placeholder"></div>`;
}

// `base`: the stats endpoints' prefix; `exportBase`: where CSV exports live (members only).
export function SiteDashboard({ title, base, exportBase, query, actions }) {
  const state = readDashboardState(query);
  const metrics = state.period === 'realtime' ? realtimeMetrics : headlineMetrics;
  const top = useApi(`${base}/top-stats?${statsParams(state, { metrics: metrics.join(','), compare: state.compare })}`);
  const period = top.data?.totals.period;
  return html`
    <div class="dashboard">
      <div class="dashboard-head">
        <h1>${title}</h1>
        <${CurrentVisitors} base=${base} />
        ${actions}
      </div>
      <${DateControls} state=${state} />
      <${FilterChips} filters=${state.filters} />
      ${top.error && html`<p role="alert" class="error">${top.error.message}</p>`}
      ${top.data &&
      html`<${TopStats} totals=${top.data.totals} selected=${state.metric}
        onSelect=${(metric) => navigate(urlWith({ metric: metric === 'visitors' ? null : metric }))} />`}
      ${period && html`<p class="period-note">${period.first_day} – ${period.last_day}.
        Visitors over several days count each day's visitors once (no cookies link days).</p>`}
      <${Graph} base=${base} state=${state} />
      <div class="boxes">
        ${boxes.map((box) => html`<${BreakdownBox} key=${box.id} ...${box} base=${base} state=${state} />`)}
        <${PropertyBox} base=${base} state=${state} />
      </div>
      ${exportBase &&
      html`<p class="exports">
        Export as CSV:${' '}
        <a href=${`${exportBase}/export.csv?view=timeseries&${statsParams(state, { metrics: metrics.join(","), interval: state.interval })}`}
          download data-testid="export-csv">this chart's numbers</a>${' · '}
        <a href=${`${exportBase}/events.csv`} download>every stored event</a>
      </p>`}
    </div>`;
}

export function DashboardView({ domain, query }) {
  const path = encodeURIComponent(domain);
  return html`<${SiteDashboard} title=${domain} base=${`/api/stats/${path}`} exportBase=${`/api/stats/${path}`}
    query=${query} actions=${html`<a class="button secondary" href=${`/sites/${path}/settings`}>Settings</a>`} />`;
}
