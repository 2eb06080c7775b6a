// Hand-written SVG charts: the latency CDF of several runs (log latency axis, the fraction
// axis stretched toward the tail, p50/p99/p99.9 marked), a metric against a sweep axis (the
// median of a point's seeds with a band from the lowest to the highest, one line per transport
// and second-axis value), and per-thread timelines (timeline.ts). Plain SVG 1.1 with inline
// styles, so any browser or viewer shows them; axes are labelled in words with their units
// (the metric registry, fields.ts), and the legend sizes the chart so nothing is clipped.
import type { SimResults, SweepPoint } from './types';
import { fmtNs } from './report';
import { fieldLabel } from './fields';
import { formatMetric, metric, metricAxisLabel, type MetricDef } from './metrics';

export const W = 860;
export const H = 520;
const M = { left: 86, top: 58, bottom: 64 };
export const FONT = 'font-family="Helvetica, Arial, sans-serif"';
/** A palette that stays readable for common colour blindness (Okabe-Ito). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
/** Line styles that tell apart lines of one colour. */
const DASHES = ['', '7 4', '2 3', '10 3 2 3', '12 6', '4 2 4 6'];

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Axis tick labels: 1 us, 2.5 us, 500 ns, 0 ns (trailing zeros of a fraction dropped, never of the integer part). */
export function tickNs(ns: number): string {
  return fmtNs(ns).replace(/\.(\d*?)0+ (?=[a-z]+$)/, (_m, digits: string) => (digits ? `.${digits} ` : ' '));
}

/** A tick label without trailing zeros after its decimal point: 2.00M -> 2M, 1.50M -> 1.5M, 500.0k -> 500k. */
export function tidy(label: string): string {
  return label.replace(/\.(\d*?)0+(?=\D*$)/, (_m, digits: string) => (digits ? `.${digits}` : ''));
}

export function num(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

/** Round-number ticks for a linear axis. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
  return out;
}

/** The smallest 1, 2 or 5 x a power of ten at or above x (x > 0). */
export function niceCeil(x: number): number {
  const mag = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * mag >= x * (1 - 1e-12)) return m * mag;
  return 10 * mag;
}

/** The largest 1, 2 or 5 x a power of ten at or below x (x > 0). */
export function niceFloor(x: number): number {
  const mag = 10 ** Math.floor(Math.log10(x));
  for (const m of [5, 2, 1]) if (m * mag <= x * (1 + 1e-12)) return m * mag;
  return mag;
}

/** Ticks at 1, 2, 5 x powers of ten for a log axis (powers of ten alone past three decades, so labels never collide). */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const steps = Math.log10(hi / lo) > 3 ? [1] : [1, 2, 5];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of steps) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

export interface LegendEntry {
  label: string;
  color: string;
  dash?: string;
  /** A second, smaller line under the label. */
  detail?: string;
  /** A band behind the line (a spread). */
  band?: boolean;
  /** A marker instead of a line. */
  marker?: Marker;
}

/** Rough width of text in Helvetica at `size` px (wide enough for digits and capitals). */
function textWidth(text: string, size: number): number {
  return text.length * size * 0.58;
}

/** The chart's width and right margin: room for the widest legend entry. */
function layout(entries: LegendEntry[]): { width: number; right: number } {
  const widest = Math.max(0, ...entries.map((e) => Math.max(textWidth(e.label, 12), textWidth(e.detail ?? '', 11))));
  const right = Math.max(150, Math.ceil(widest) + 66);
  return { width: Math.max(W, 560 + right), right };
}

interface Plot {
  width: number;
  height: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

function plotArea(entries: LegendEntry[], height = H): Plot {
  const { width, right } = layout(entries);
  return { width, height, x0: M.left, x1: width - right, y0: height - M.bottom, y1: M.top };
}

function frame(p: Plot, title: string, subtitle: string, xLabel: string, yLabel: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${p.width}" height="${p.height}" viewBox="0 0 ${p.width} ${p.height}" ${FONT}>`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${p.width}" height="${p.height}" fill="#ffffff"/>`,
    `<text x="${p.x0}" y="26" font-size="18" font-weight="bold" fill="#222">${esc(title)}</text>`,
    `<text x="${p.x0}" y="45" font-size="12" fill="#666">${esc(subtitle)}</text>`,
    ...body,
    `<text x="${num((p.x0 + p.x1) / 2)}" y="${p.height - 16}" font-size="13" text-anchor="middle" fill="#333">${esc(xLabel)}</text>`,
    `<text transform="translate(18 ${num((p.y0 + p.y1) / 2)}) rotate(-90)" font-size="13" text-anchor="middle" fill="#333">${esc(yLabel)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

interface Axis {
  scale: (v: number) => number;
  ticks: number[];
  label: (v: number) => string;
}

function axes(p: Plot, x: Axis, y: Axis): string[] {
  const out: string[] = [];
  for (const t of y.ticks) {
    const py = y.scale(t);
    out.push(`<line x1="${p.x0}" y1="${num(py)}" x2="${p.x1}" y2="${num(py)}" stroke="#e6e6e6" stroke-width="1"/>`);
    out.push(
      `<text x="${p.x0 - 8}" y="${num(py + 4)}" font-size="11" text-anchor="end" fill="#555">${esc(y.label(t))}</text>`,
    );
  }
  for (const t of x.ticks) {
    const px = x.scale(t);
    out.push(`<line x1="${num(px)}" y1="${p.y0}" x2="${num(px)}" y2="${p.y1}" stroke="#f0f0f0" stroke-width="1"/>`);
    out.push(
      `<text x="${num(px)}" y="${p.y0 + 18}" font-size="11" text-anchor="middle" fill="#555">${esc(x.label(t))}</text>`,
    );
  }
  out.push(`<line x1="${p.x0}" y1="${p.y0}" x2="${p.x1}" y2="${p.y0}" stroke="#333" stroke-width="1.2"/>`);
  out.push(`<line x1="${p.x0}" y1="${p.y0}" x2="${p.x0}" y2="${p.y1}" stroke="#333" stroke-width="1.2"/>`);
  return out;
}

export type Marker = 'circle' | 'square' | 'diamond' | 'triangle';

/** A marker centred at (x, y). */
function marker(kind: Marker, x: number, y: number, color: string, r = 4, title?: string): string {
  const t = title ? `<title>${esc(title)}</title>` : '';
  const open = (tag: string, attrs: string) =>
    t
      ? `<${tag} ${attrs} stroke="#fff" stroke-width="1">${t}</${tag}>`
      : `<${tag} ${attrs} stroke="#fff" stroke-width="1"/>`;
  switch (kind) {
    case 'circle':
      return open('circle', `cx="${num(x)}" cy="${num(y)}" r="${r}" fill="${color}"`);
    case 'square':
      return open('rect', `x="${num(x - r)}" y="${num(y - r)}" width="${2 * r}" height="${2 * r}" fill="${color}"`);
    case 'diamond':
      return open(
        'polygon',
        `points="${num(x)},${num(y - r - 1)} ${num(x + r + 1)},${num(y)} ${num(x)},${num(y + r + 1)} ${num(x - r - 1)},${num(y)}"`,
      ).replace('<polygon ', `<polygon fill="${color}" `);
    case 'triangle':
      return open(
        'polygon',
        `points="${num(x)},${num(y - r - 1)} ${num(x + r + 1)},${num(y + r)} ${num(x - r - 1)},${num(y + r)}"`,
      ).replace('<polygon ', `<polygon fill="${color}" `);
  }
}

function legend(p: Plot, entries: LegendEntry[]): string[] {
  const out: string[] = [];
  const x = p.x1 + 22;
  let y = p.y1 + 8;
  for (const e of entries) {
    if (e.marker) out.push(marker(e.marker, x + 11, y, e.color));
    else {
      if (e.band)
        out.push(`<rect x="${x}" y="${y - 6}" width="22" height="12" fill="${e.color}" fill-opacity="0.18"/>`);
      out.push(
        `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${e.color}" stroke-width="3"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
      );
    }
    out.push(`<text x="${x + 30}" y="${y + 4}" font-size="12" fill="#222">${esc(e.label)}</text>`);
    if (e.detail) {
      y += 15;
      out.push(`<text x="${x + 30}" y="${y + 4}" font-size="11" fill="#555">${esc(e.detail)}</text>`);
    }
    y += 22;
  }
  return out;
}

function logScale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const l0 = Math.log10(lo),
    l1 = Math.log10(hi);
  return (v) => a + ((Math.log10(Math.max(v, lo)) - l0) / (l1 - l0 || 1)) * (b - a);
}

function linScale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  return (v) => a + ((v - lo) / (hi - lo || 1)) * (b - a);
}

// ------------------------------------------------------------------ latency CDF

/** The percentiles the CDF marks, with their markers. */
const MARKED: { q: number; label: string; marker: Marker; key: 'p50Ns' | 'p99Ns' | 'p999Ns' }[] = [
  { q: 0.5, label: 'p50', marker: 'circle', key: 'p50Ns' },
  { q: 0.99, label: 'p99', marker: 'square', key: 'p99Ns' },
  { q: 0.999, label: 'p99.9', marker: 'diamond', key: 'p999Ns' },
];

/** "99.9%" for 3 nines, "50%" for 0.5: a fraction on the tail axis. */
function nines(v: number): string {
  if (v === 0) return '0%';
  const f = 1 - 10 ** -v;
  return `${Number((f * 100).toFixed(Math.max(0, Math.round(v) - 2)))}%`;
}

/**
 * Latency CDF, one line per run. The latency axis is logarithmic; the fraction axis shows
 * -log10(1 - F), so 90%, 99%, 99.9% and 99.99% are equally spaced and the tail is as visible as
 * the median; it ends at the largest sample. p50, p99 and p99.9 are marked on each line.
 */
export function latencyCdfSvg(runs: { label: string; results: SimResults }[], title = 'Latency CDF'): string {
  const entries: LegendEntry[] = runs.map((r, i) => ({
    label: r.label,
    color: PALETTE[i % PALETTE.length],
    dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] || undefined,
    detail: MARKED.map((m) => `${m.label} ${fmtNs(r.results.latency[m.key])}`).join(', '),
  }));
  entries.push(...MARKED.map((m) => ({ label: `marks ${m.label}`, color: '#555', marker: m.marker })));
  const p = plotArea(entries);
  const all = runs.flatMap((r) => r.results.latencyCdf.map((pt) => pt[0])).filter((v) => v > 0);
  if (all.length === 0)
    return frame(p, title, 'no latency samples', 'latency (ns, log scale)', 'fraction of samples', []);
  const lo = niceFloor(Math.min(...all) * 0.9);
  let hi = niceCeil(Math.max(...all) * 1.05);
  if (hi / lo < 10) hi = lo * 10;
  const most = Math.max(...runs.map((r) => r.results.latency.count));
  // The top of the fraction axis: the largest sample of the run with the most samples.
  const top = Math.min(6, Math.max(2, Math.log10(Math.max(most, 1))));
  const tail = (f: number) => Math.min(top, f >= 1 ? top : -Math.log10(1 - f));
  const xs = logScale(lo, hi, p.x0, p.x1);
  const yScale = linScale(0, top, p.y0, p.y1);
  const ys = (f: number) => yScale(tail(f));
  const yTicks = [0, Math.log10(2), ...[1, 2, 3, 4, 5, 6].filter((v) => v <= top + 1e-9)];
  const body = axes(
    p,
    { scale: xs, ticks: logTicks(lo, hi), label: tickNs },
    { scale: yScale, ticks: yTicks, label: nines },
  );
  runs.forEach((r, i) => {
    const { color, dash } = entries[i];
    const pts: string[] = [];
    let prev = 0;
    for (const [x, f] of r.results.latencyCdf) {
      pts.push(`${num(xs(x))},${num(ys(prev))}`, `${num(xs(x))},${num(ys(f))}`); // a step function
      prev = f;
    }
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.join(' ')}"/>`,
    );
    if (r.results.latency.count === 0) return;
    for (const m of MARKED) {
      const v = r.results.latency[m.key];
      body.push(marker(m.marker, xs(v), ys(m.q), color, 4, `${r.label} ${m.label}: ${fmtNs(v)}`));
    }
  });
  body.push(...legend(p, entries));
  const sub = `${runs[0].results.scenario}, seed ${runs[0].results.seed}; fraction axis stretched toward the tail, up to the largest sample`;
  return frame(p, title, sub, 'latency (log scale)', 'fraction of samples at or below', body);
}

// ------------------------------------------------------------------ sweeps

/** Median, lowest and highest of a point's runs (one per seed). */
export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

export function spread(values: number[]): Spread {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return { median: NaN, min: NaN, max: NaN, runs: 0 };
  const mid = v.length >> 1;
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { median, min: v[0], max: v[v.length - 1], runs: v.length };
}

/** An axis label saying its scale is logarithmic: `cores (log scale)`, `wake latency (ns, log scale)`. */
function logLabel(label: string): string {
  return label.endsWith(')') ? `${label.slice(0, -1)}, log scale)` : `${label} (log scale)`;
}

/** One run's value of the charted metric, where it sits in the grid. */
export interface ChartRow {
  transport: string;
  params: Record<string, number>;
  value: number;
}

/** One line of a sweep chart: a transport (and a second axis's value), its points by x. */
export interface SweepSeries {
  label: string;
  transport: string;
  /** The second axis's value, when there is one. */
  second?: number;
  points: { x: number; spread: Spread }[];
}

/** Group runs into lines: by transport and second axis, the runs (seeds) of each x summarised. */
export function chartSeries(rows: ChartRow[], fields: string[]): SweepSeries[] {
  const [xField, second] = fields;
  const series = new Map<string, { s: SweepSeries; byX: Map<number, number[]> }>();
  for (const p of rows) {
    if (typeof p.params[xField] !== 'number') continue; // not on this chart's axis
    const key = `${p.transport}\u0000${second !== undefined ? p.params[second] : ''}`;
    let entry = series.get(key);
    if (!entry) {
      const label = second !== undefined ? `${p.transport}, ${second} = ${p.params[second]}` : p.transport;
      const s: SweepSeries = { label, transport: p.transport, points: [] };
      if (second !== undefined) s.second = p.params[second];
      entry = { s, byX: new Map() };
      series.set(key, entry);
    }
    const x = p.params[xField];
    const list = entry.byX.get(x) ?? [];
    list.push(p.value);
    entry.byX.set(x, list);
  }
  return [...series.values()].map(({ s, byX }) => ({
    ...s,
    points: [...byX.entries()].sort((a, b) => a[0] - b[0]).map(([x, vs]) => ({ x, spread: spread(vs) })),
  }));
}

/**
 * A metric against the first sweep axis: one line per transport (colour) and value of the
 * second axis (line style), through the median of each point's runs, with a band from the
 * lowest to the highest run when a point has several (seeds).
 */
export function sweepSvg(
  points: SweepPoint[],
  fields: string[],
  metricId: string,
  title?: string,
  /** Added to the default title (which values of further axes the chart holds). */
  note = '',
): string {
  const m = metric(metricId);
  const rows = points.map((p) => ({ transport: p.transport, params: p.params, value: m.value(p.results) }));
  const first = points[0]?.results;
  const runs = new Set(points.map((p) => p.seed)).size;
  const seeds =
    runs > 1 ? `median of ${runs} seeds from ${first.seed}, band: lowest to highest` : `seed ${first?.seed}`;
  return chartSvg(rows, fields, m, {
    title: title ?? `${m.label} vs ${fieldLabel(fields[0])}${note}`,
    subtitle: first ? `${first.scenario}; ${seeds}` : 'no data',
  });
}

/** The chart of sweepSvg from rows of values (a sweep's, or a scale study's). */
export function chartSvg(
  rows: ChartRow[],
  fields: string[],
  m: MetricDef,
  o: { title: string; subtitle: string; xLabel?: string },
): string {
  const xField = fields[0];
  const series = chartSeries(rows, fields);
  const transports = [...new Set(series.map((s) => s.transport))];
  const seconds = [...new Set(series.map((s) => s.second))];
  const banded = series.some((s) => s.points.some((pt) => pt.spread.runs > 1));
  const entries: LegendEntry[] = series.map((s) => ({
    label: s.label,
    color: PALETTE[transports.indexOf(s.transport) % PALETTE.length],
    dash: DASHES[seconds.indexOf(s.second) % DASHES.length] || undefined,
    band: banded,
  }));
  const p = plotArea(entries);
  const xName = o.xLabel ?? fieldLabel(xField);
  const xsVals = series.flatMap((s) => s.points.map((pt) => pt.x));
  const ysVals = series
    .flatMap((s) => s.points.flatMap((pt) => [pt.spread.min, pt.spread.max]))
    .filter(Number.isFinite);
  if (xsVals.length === 0 || ysVals.length === 0) return frame(p, o.title, 'no data', xName, metricAxisLabel(m), []);
  const xLo = Math.min(...xsVals),
    xHi = Math.max(...xsVals);
  const logX = xLo > 0 && xHi / xLo >= 8;
  const yLo0 = Math.min(...ysVals),
    yHi0 = Math.max(...ysVals);
  const logY = yLo0 > 0 && yHi0 / yLo0 >= 20;
  const yLo = logY ? 10 ** Math.floor(Math.log10(yLo0)) : 0;
  const yHi = logY ? 10 ** Math.ceil(Math.log10(yHi0)) : yHi0 > 0 ? yHi0 * 1.1 : 1;
  const xs = logX ? logScale(xLo, xHi, p.x0 + 10, p.x1 - 10) : linScale(xLo, xHi, p.x0 + 10, p.x1 - 10);
  const ys = logY ? logScale(yLo, yHi, p.y0, p.y1) : linScale(yLo, yHi, p.y0, p.y1);
  const body = axes(
    p,
    { scale: xs, ticks: [...new Set(xsVals)].sort((a, b) => a - b), label: (v) => String(v) },
    { scale: ys, ticks: logY ? logTicks(yLo, yHi) : linearTicks(yLo, yHi), label: (v) => tidy(formatMetric(m, v)) },
  );
  series.forEach((s, i) => {
    const { color, dash } = entries[i];
    const pts = s.points.filter((pt) => Number.isFinite(pt.spread.median));
    if (pts.some((pt) => pt.spread.runs > 1)) {
      const upper = pts.map((pt) => `${num(xs(pt.x))},${num(ys(pt.spread.max))}`);
      const lower = pts.map((pt) => `${num(xs(pt.x))},${num(ys(pt.spread.min))}`).reverse();
      body.push(
        `<polygon class="band" fill="${color}" fill-opacity="0.18" stroke="none" points="${[...upper, ...lower].join(' ')}"/>`,
      );
    }
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.4"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.map((pt) => `${num(xs(pt.x))},${num(ys(pt.spread.median))}`).join(' ')}"/>`,
    );
    for (const pt of pts) {
      const range =
        pt.spread.runs > 1
          ? ` (median of ${pt.spread.runs}; ${formatMetric(m, pt.spread.min)} to ${formatMetric(m, pt.spread.max)})`
          : '';
      body.push(
        marker(
          'circle',
          xs(pt.x),
          ys(pt.spread.median),
          color,
          4,
          `${s.label}, ${xField} = ${pt.x}: ${formatMetric(m, pt.spread.median)}${range}`,
        ),
      );
    }
  });
  body.push(...legend(p, entries));
  const sub = `${o.subtitle}${logY ? '; log scale' : ''}`;
  return frame(p, o.title, sub, logX ? logLabel(xName) : xName, metricAxisLabel(m), body);
}
