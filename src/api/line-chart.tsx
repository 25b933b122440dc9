/** @jsxImportSource hono/jsx */
// A small SVG line chart served with the page (no library, no CDN: the machines may be
// offline). The server draws it from the series, so it shows without JavaScript; a
// script fetches the series again every few seconds and redraws it with the same
// geometry. The data drawn is on the element (`data-points`, JSON [t, v] pairs) and in
// `window.flowbridgeCharts[id]`, for people and tests to read.
import type { SeriesPoint } from '../views/series-ring.ts';

export const CHART = { width: 860, height: 180, pad: 34 };

/** The polyline's points for a series (x by index, y scaled to the largest value). */
export function chartPath(points: { v: number }[]): string {
  const { width, height, pad } = CHART;
  const max = Math.max(1, ...points.map((p) => p.v));
  const step = points.length > 1 ? (width - 2 * pad) / (points.length - 1) : 0;
  return points.map((p, i) => `${(pad + i * step).toFixed(1)},${(height - pad - (p.v / max) * (height - 2 * pad)).toFixed(1)}`).join(' ');
}

const scaleText = (n: number, unit: string) => `${Math.max(1, n).toLocaleString('en-US', { maximumFractionDigits: 0 })} ${unit}`;

/** `src`: the timeseries URL the script polls; `unit` for the y-axis label. */
export function LineChart({ id, points, src, unit, title }: { id: string; points: SeriesPoint[]; src: string; unit: string; title: string }) {
  const { width, height, pad } = CHART;
  const max = Math.max(1, ...points.map((p) => p.v));
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg id={id} class="line-chart" viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={title}
        data-src={src} data-unit={unit} data-points={JSON.stringify(points.map((p) => [p.t, p.v]))}>
        <line x1={pad} y1={height - pad} x2={width - pad} y2={height - pad} stroke="#9aa8b6" />
        <line x1={pad} y1={pad} x2={pad} y2={height - pad} stroke="#9aa8b6" />
        <text class="y-max" x={pad + 4} y={pad - 8} font-size="11" fill="#5a6b7d">{scaleText(max, unit)}</text>
        <text class="x-start" x={pad} y={height - 10} font-size="11" fill="#5a6b7d">{points.length ? new Date(points[0].t).toISOString().slice(11, 19) : ''}</text>
        <text class="x-end" x={width - pad} y={height - 10} font-size="11" fill="#5a6b7d" text-anchor="end">{points.length ? `${new Date(points[points.length - 1].t).toISOString().slice(11, 19)} UTC` : ''}</text>
        <polyline class="line" fill="none" stroke="#1f6fd1" stroke-width="1.6" points={chartPath(points)} />
      </svg>
    </figure>
  );
}

/** Redraws every .line-chart from its data-src every `ms` (the same geometry as chartPath). */
export const chartScript = (ms: number) => `
window.flowbridgeCharts = window.flowbridgeCharts || {};
(() => {
  const W = ${CHART.width}, H = ${CHART.height}, P = ${CHART.pad};
  const draw = (svg, points) => {
    const max = Math.max(1, ...points.map((p) => p[1]));
    const step = points.length > 1 ? (W - 2 * P) / (points.length - 1) : 0;
    svg.querySelector('polyline.line').setAttribute('points', points.map((p, i) => (P + i * step).toFixed(1) + ',' + (H - P - (p[1] / max) * (H - 2 * P)).toFixed(1)).join(' '));
    svg.querySelector('.y-max').textContent = Math.round(max).toLocaleString('en-US') + ' ' + svg.dataset.unit;
    const t = (ms) => new Date(ms).toISOString().slice(11, 19);
    if (points.length) { svg.querySelector('.x-start').textContent = t(points[0][0]); svg.querySelector('.x-end').textContent = t(points[points.length - 1][0]) + ' UTC'; }
    svg.dataset.points = JSON.stringify(points);
    window.flowbridgeCharts[svg.id] = points;
  };
  const refresh = async () => {
    for (const svg of document.querySelectorAll('svg.line-chart')) {
      window.flowbridgeCharts[svg.id] ??= JSON.parse(svg.dataset.points || '[]');
      try {
        const r = await fetch(svg.dataset.src, { headers: { accept: 'application/json' } });
        if (!r.ok) continue;
        const body = await r.json();
        draw(svg, body.points.map((p) => [p.t, p.v]));
        svg.dataset.updated = String(Date.now());
      } catch {}
    }
  };
  refresh();
  setInterval(refresh, ${ms});
})();`;
