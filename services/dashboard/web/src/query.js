// The site dashboard's state lives in the URL query, so every view can be bookmarked and shared:
//   period, date (custom: FIRST,LAST), interval, compare, metric (the chart's), f (one per
//   filter, Stats API syntax such as visit:source==Google) and each box's tab.
// This module turns that state into Stats API parameters and into new URLs.

export const periods = [
  { value: 'realtime', label: 'Realtime' },
  { value: 'day', label: 'Today' },
  { value: '7d', label: 'Last 7 days' },
  { value: '30d', label: 'Last 30 days' },
  { value: 'month', label: 'This month' },
  { value: '6mo', label: 'Last 6 months' },
  { value: '12mo', label: 'Last 12 months' },
  { value: 'year', label: 'This year' },
  { value: 'all', label: 'All time' },
  { value: 'custom', label: 'Custom range' },
];

// Intervals the Stats API accepts per period, the default first.
const intervalsByPeriod = {
  realtime: ['minute'],
  day: ['hour'],
  '7d': ['day', 'hour'],
  '30d': ['day', 'week'],
  month: ['day', 'week'],
};
const longIntervals = ['month', 'week', 'day'];

export function intervalsFor(period) {
  return intervalsByPeriod[period] ?? (period === 'custom' ? ['day', 'week', 'month'] : longIntervals);
}

const filterPattern = /^([^=!~]+)(==|!=|!~|~)(.*)$/;

export const filterOperators = { '==': 'is', '!=': 'is not', '~': 'contains', '!~': 'does not contain' };

// {property, operator, value} of a filter in Stats API syntax; null when it is not one.
export function parseFilter(text) {
  const match = filterPattern.exec(text);
  return match ? { property: match[1], operator: match[2], value: match[3] } : null;
}

export function readDashboardState(query) {
  const period = query.get('period') || '30d';
  const intervals = intervalsFor(period);
  const interval = intervals.includes(query.get('interval')) ? query.get('interval') : intervals[0];
  return {
    period,
    date: query.get('date') || '',
    interval,
    compare: period === 'realtime' ? '' : query.get('compare') || '',
    metric: query.get('metric') || 'visitors',
    filters: query.getAll('f').filter((f) => parseFilter(f)),
    query,
  };
}

// The Stats API query string for `state`, plus `extra` parameters (metrics, property...).
export function statsParams(state, extra = {}) {
  const params = new URLSearchParams({ period: state.period });
  if (state.period === 'custom' && state.date) {
    params.set('date', state.date);
  }
  if (state.filters.length > 0) {
    params.set('filters', state.filters.join(';'));
  }
  for (const [key, value] of Object.entries(extra)) {
    if (value !== undefined && value !== '') {
      params.set(key, value);
    }
  }
  return params.toString();
}

// The current URL with `changes` applied: a null value removes the parameter, an array sets
// one parameter per element.
export function urlWith(changes) {
  const query = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(changes)) {
    query.delete(key);
    for (const item of Array.isArray(value) ? value : value === null ? [] : [value]) {
      query.append(key, item);
    }
  }
  const text = query.toString();
  return location.pathname + (text ? `?${text}` : '');
}
