// How numbers read on screen: exact counts with thousands separators (so they can be checked
// against the Stats API), rates in percent, durations in minutes and seconds.
const integer = new Intl.NumberFormat('en-US');
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

export function formatDuration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) {
    return `${s}s`;
  }
  const minutes = Math.floor(s / 60);
  if (minutes < 60) {
    return `${minutes}m ${s % 60}s`;
  }
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

// `metric` is a Stats API metric name; `value` its number in the API's answer.
export function formatMetric(metric, value) {
  if (value === null || value === undefined) {
    return '–';
  }
  switch (metric) {
    case 'bounce_rate':
    case 'exit_rate':
    case 'conversion_rate':
      return `${decimal.format(value)}%`;
    case 'visit_duration':
      return formatDuration(value);
    case 'views_per_visit':
      return decimal.format(value);
    case 'total_revenue':
    case 'average_revenue':
      return money.format(value);
    default:
      return integer.format(value);
  }
}

export const metricLabels = {
  visitors: 'Unique visitors',
  visits: 'Total visits',
  pageviews: 'Total pageviews',
  views_per_visit: 'Views per visit',
  bounce_rate: 'Bounce rate',
  visit_duration: 'Visit duration',
  events: 'Events',
  conversions: 'Conversions',
  conversion_rate: 'Conversion rate',
  total_revenue: 'Revenue',
  average_revenue: 'Average revenue',
  exit_rate: 'Exit rate',
};
