// One breakdown box: tabs (each a Stats API property), the top values with a bar sized by
// visitors, and a button per value that filters the whole dashboard by it. The chosen tab is
// part of the URL like every other piece of dashboard state.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatMetric } from '../format.js';
import { html } from '../html.js';
import { statsParams, urlWith } from '../query.js';
import { navigate } from '../router.js';

// Column headings: short, as a box is narrow (a phone shows only the first two columns).
const columnLabels = {
  visitors: 'Visitors', visits: 'Visits', pageviews: 'Pageviews', events: 'Events',
  conversion_rate: 'CR', total_revenue: 'Revenue',
};

// Rows per page: enough to see the head of the distribution, few enough for one screen.
const ROWS_PER_PAGE = 9;

const propertyLabels = {
  'event:page': 'Page', 'event:goal': 'Goal', 'event:hostname': 'Hostname',
  'visit:entry_page': 'Entry page', 'visit:exit_page': 'Exit page', 'visit:source': 'Source',
  'visit:referrer': 'Referrer', 'visit:channel': 'Channel', 'visit:utm_source': 'UTM source',
  'visit:utm_medium': 'UTM medium', 'visit:utm_campaign': 'UTM campaign', 'visit:utm_term': 'UTM term',
  'visit:utm_content': 'UTM content', 'visit:country': 'Country', 'visit:region': 'Region',
  'visit:city': 'City', 'visit:browser': 'Browser',
  'visit:os': 'Operating system', 'visit:screen': 'Screen size', 'visit:device': 'Device',
};

export function propertyLabel(property) {
  return propertyLabels[property] ?? property.replace(/^event:props:/, 'Property ');
}

const regionNames = typeof Intl.DisplayNames === 'function' ? new Intl.DisplayNames(['en'], { type: 'region' }) : null;

function countryName(code) {
  return (regionNames && /^[A-Z]{2}$/.test(code) && regionNames.of(code)) || code;
}

// An ISO 3166-2 region ("DE-BY") as "BY, Germany": browsers know no subdivision names.
function regionName(code) {
  const dash = code.indexOf('-');
  return dash === 2 ? `${code.slice(3)}, ${countryName(code.slice(0, 2))}` : code;
}

// What a value reads as: countries by name, regions and cities with their country's name
// (a city value is "Name, DE-BY" or "Name, IN": the part after the last ", " is a code), empty
// values as "(none)".
function displayValue(property, value) {
  if (value === '') {
    return '(none)';
  }
  if (property === 'visit:country') {
    return countryName(value);
  }
  if (property === 'visit:region') {
    return regionName(value);
  }
  const comma = value.lastIndexOf(', ');
  if (property === 'visit:city' && comma > 0) {
    const code = value.slice(comma + 2);
    return `${value.slice(0, comma)}, ${code.length === 2 ? countryName(code) : regionName(code)}`;
  }
  return value;
}

// A tab's columns: its metrics, less those in `tab.optional` that no row has (revenue).
function shownMetrics(tab, rows) {
  return tab.metrics.filter((m) => !tab.optional?.includes(m) || rows.some((row) => row[m]));
}

function Rows({ tab, rows }) {
  const metrics = shownMetrics(tab, rows);
  const label = (m) => tab.labels?.[m] ?? columnLabels[m];
  const top = Math.max(1, ...rows.map((row) => row.visitors ?? 0));
  const addFilter = (value) => {
    const filter = `${tab.property}==${value}`;
    const current = new URLSearchParams(location.search).getAll('f');
    if (!current.includes(filter)) {
      navigate(urlWith({ f: [...current.filter((f) => !f.startsWith(`${tab.property}=`)), filter] }));
    }
  };
  return html`
    <table class=${`breakdown columns-${metrics.length}`}>
      <thead><tr>
        <th scope="col">${propertyLabel(tab.property)}</th>
        ${metrics.map((m, i) => html`<th scope="col" class=${i > 1 ? 'num extra' : 'num'} key=${m}>${label(m)}</th>`)}
      </tr></thead>
      <tbody>
        ${rows.map(
          (row) => html`<tr key=${row.value} data-value=${row.value}>
            <td class="label-cell">
              <span class="bar" style=${{ width: `${((row.visitors ?? 0) / top) * 100}%` }}></span>
              <button type="button" class="row-filter" onClick=${() => addFilter(row.value)}
                title=${`Filter by ${propertyLabel(tab.property)} ${row.value}`}>${displayValue(tab.property, row.value)}</button>
            </td>
            ${metrics.map((m, i) => html`<td class=${i > 1 ? 'num extra' : 'num'} key=${m} data-metric=${m}>${formatMetric(m, row[m])}</td>`)}
          </tr>`
        )}
      </tbody>
    </table>`;
}

// Loads a tab's rows page by page; a new query (period, filters, tab) starts again at page 1.
function useBreakdown(base, state, tab) {
  const [result, setResult] = useState({ rows: [], more: false, page: 0, error: null, loading: true });
  const query = tab && statsParams(state, { property: tab.property, metrics: tab.metrics.join(','), limit: ROWS_PER_PAGE });
  const load = (page, previous) => {
    setResult({ ...previous, loading: true });
    return api(`${base}/breakdown?${query}&page=${page}`).then(
      (answer) => ({ rows: [...previous.rows, ...answer.results], more: answer.more, page, error: null, loading: false }),
      (error) => ({ ...previous, error, loading: false })
    );
  };
  useEffect(() => {
    if (!query) {
      return undefined;
    }
    let current = true;
    load(1, { rows: [], more: false, page: 0, error: null }).then((next) => current && setResult(next));
    return () => {
      current = false;
    };
  }, [base, query]);
  const loadMore = () => load(result.page + 1, result).then(setResult);
  return { ...result, loadMore };
}

// `id` names the box's tab parameter in the URL; `tabs` are {id, label, property, metrics};
// `extra` is shown above the rows (the custom property picker).
export function BreakdownBox({ id, title, tabs, base, state, extra }) {
  const chosen = state.query.get(id);
  const tab = tabs.find((t) => t.id === chosen) ?? tabs[0];
  const { rows, more, error, loading, loadMore } = useBreakdown(base, state, tab);
  return html`
    <section class="box" aria-labelledby=${`${id}-title`} data-box=${id}>
      <div class="box-head">
        <h2 id=${`${id}-title`}>${title}</h2>
        ${tabs.length > 1 &&
        html`<div class="tabs" role="group" aria-label=${`${title}: show`}>
          ${tabs.map(
            (t) => html`<button type="button" key=${t.id} aria-pressed=${t === tab ? 'true' : 'false'}
              onClick=${() => navigate(urlWith({ [id]: t.id === tabs[0].id ? null : t.id }))}>${t.label}</button>`
          )}
        </div>`}
      </div>
      ${extra}
      ${error && html`<p role="alert" class="error">${error.message}</p>`}
      ${tab && !error && rows.length === 0 && !loading && html`<p class="empty">No data for this period.</p>`}
      ${tab && rows.length > 0 && html`<${Rows} tab=${tab} rows=${rows} />`}
      ${more && html`<button type="button" class="link more" onClick=${loadMore} disabled=${loading}>Show more</button>`}
    </section>`;
}
