// The main chart: one metric per interval with uPlot (canvas, small), the comparison period
// dashed behind it, values at the cursor in the legend, resized with its container.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { formatMetric, metricLabels } from '../format.js';
import { html } from '../html.js';

const HEIGHT = 260;
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// The API labels buckets "YYYY-MM-DD" or "YYYY-MM-DD HH:MM:00" in the site's timezone.
function shortLabel(label, interval) {
  if (!label) {
    return '';
  }
  const [date, time] = label.split(' ');
  const [year, month, day] = date.split('-');
  if (interval === 'hour' || interval === 'minute') {
    return time.slice(0, 5);
  }
  if (interval === 'month') {
    return `${months[Number(month) - 1]} ${year}`;
  }
  return `${months[Number(month) - 1]} ${Number(day)}`;
}

const cssVariable = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

// Evenly spaced whole indices, as many as fit at about 80 CSS pixels apart.
function tickIndices(u, count) {
  const fit = Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 80));
  const step = Math.max(1, Math.ceil(count / fit));
  const ticks = [];
  for (let i = 0; i < count; i += step) {
    ticks.push(i);
  }
  return ticks;
}

// A tooltip that follows the cursor: the bucket and its value, and the comparison's. Placed
// through CSSOM (the CSP forbids style attributes).
function tooltip(describe) {
  let tip;
  return {
    hooks: {
      init: (u) => {
        tip = document.createElement('div');
        tip.className = 'chart-tip';
        tip.hidden = true;
        u.over.appendChild(tip);
      },
      setCursor: (u) => {
        const i = u.cursor.idx;
        tip.hidden = i === null || i === undefined;
        if (!tip.hidden) {
          tip.textContent = describe(i, u.data);
          const x = u.valToPos(i, 'x');
          tip.style.left = `${Math.min(x, u.over.clientWidth - tip.offsetWidth)}px`;
          tip.style.top = `${Math.max(0, u.valToPos(u.data[1][i] ?? 0, 'y') - tip.offsetHeight - 8)}px`;
        }
      },
    },
  };
}

function chartOptions({ width, metric, labels, interval, comparisonLabels }) {
  const fg = cssVariable('--muted');
  const grid = { stroke: cssVariable('--line'), width: 1 };
  const series = [
    {},
    { label: metricLabels[metric], stroke: cssVariable('--accent'), fill: cssVariable('--accent-fill'), width: 2 },
  ];
  if (comparisonLabels) {
    series.push({ label: 'Comparison', stroke: fg, dash: [5, 5], width: 1.5 });
  }
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    cursor: { drag: { x: false, y: false } },
    legend: { show: false },
    plugins: [
      tooltip((i, data) => {
        const lines = [`${labels[i]}: ${formatMetric(metric, data[1][i])}`];
        if (comparisonLabels) {
          lines.push(`${comparisonLabels[i] ?? '–'}: ${formatMetric(metric, data[2][i])}`);
        }
        return lines.join('\n');
      }),
    ],
    axes: [
      { stroke: fg, grid, splits: (u) => tickIndices(u, labels.length),
        values: (u, splits) => splits.map((i) => shortLabel(labels[i], interval)) },
      { stroke: fg, grid, size: 60, values: (u, ticks) => ticks.map((t) => formatMetric(metric, t)) },
    ],
    series,
  };
}

// `graph` is the main-graph answer; `metric` the one shown.
export function MainChart({ graph, metric }) {
  const box = useRef(null);
  useEffect(() => {
    const labels = graph.series.labels;
    const data = [labels.map((_, i) => i), graph.series[metric]];
    const comparison = graph.comparison;
    if (comparison) {
      data.push(labels.map((_, i) => comparison[metric][i] ?? null));
    }
    const options = chartOptions({
      width: box.current.clientWidth,
      metric,
      labels,
      interval: graph.interval,
      comparisonLabels: comparison?.labels,
    });
    const chart = new uPlot(options, data, box.current);
    const resize = new ResizeObserver(() => chart.setSize({ width: box.current.clientWidth, height: HEIGHT }));
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      chart.destroy();
    };
  }, [graph, metric]);
  const total = graph.series[metric].length;
  return html`<div class="chart" ref=${box} role="img"
    aria-label=${`${metricLabels[metric]} over ${total} ${graph.interval}s`}></div>`;
}
