// Hand-written SVG charts: latency CDF per transport, a metric against a sweep
// parameter (e.g. throughput vs fan-out), and a per-thread timeline of a short
// run. Plain SVG 1.1 with inline styles, so any browser or viewer shows them.
import type { PeerTimeline, SimResults, SweepPoint } from './types';
import { fmtNs, fmtRate } from './report';

const W = 860;
const H = 520;
const M = { left: 78, right: 200, top: 56, bottom: 62 };
const FONT = 'font-family="Helvetica, Arial, sans-serif"';
/** A palette that stays readable for common colour blindness (Okabe-Ito). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Axis tick labels: 1 us, 2.5 us, 500 ns, 0 ns (trailing zeros of a fraction dropped, never of the integer part). */
export function tickNs(ns: number): string {
  return fmtNs(ns).replace(/\.(\d*?)0+ (?=[a-z]+$)/, (_m, digits: string) => (digits ? `.${digits} ` : ' '));
}

function num(x: number): string {
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

/** Ticks at 1, 2, 5 x powers of ten for a log axis. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
    }
  }
  return out;
}

function frame(title: string, subtitle: string, xLabel: string, yLabel: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="26" font-size="18" font-weight="bold" fill="#222">${esc(title)}</text>`,
    `<text x="${M.left}" y="45" font-size="12" fill="#666">${esc(subtitle)}</text>`,
    ...body,
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${H - 16}" font-size="13" text-anchor="middle" fill="#333">${esc(xLabel)}</text>`,
    `<text transform="translate(18 ${M.top + (H - M.top - M.bottom) / 2}) rotate(-90)" font-size="13" text-anchor="middle" fill="#333">${esc(yLabel)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

interface Axis {
  scale: (v: number) => number;
  ticks: number[];
  label: (v: number) => string;
}

function axes(x: Axis, y: Axis): string[] {
  const x0 = M.left,
    x1 = W - M.right,
    y0 = H - M.bottom,
    y1 = M.top;
  const out: string[] = [];
  for (const t of y.ticks) {
    const py = y.scale(t);
    out.push(`<line x1="${x0}" y1="${num(py)}" x2="${x1}" y2="${num(py)}" stroke="#e6e6e6" stroke-width="1"/>`);
    out.push(
      `<text x="${x0 - 8}" y="${num(py + 4)}" font-size="11" text-anchor="end" fill="#555">${esc(y.label(t))}</text>`,
    );
  }
  for (const t of x.ticks) {
    const px = x.scale(t);
    out.push(`<line x1="${num(px)}" y1="${y0}" x2="${num(px)}" y2="${y1}" stroke="#f0f0f0" stroke-width="1"/>`);
    out.push(
      `<text x="${num(px)}" y="${y0 + 18}" font-size="11" text-anchor="middle" fill="#555">${esc(x.label(t))}</text>`,
    );
  }
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="#333" stroke-width="1.2"/>`);
  out.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="#333" stroke-width="1.2"/>`);
  return out;
}

function legend(entries: { label: string; color: string; dash?: string }[]): string[] {
  const out: string[] = [];
  const x = W - M.right + 18;
  entries.forEach((e, i) => {
    const y = M.top + 10 + i * 22;
    out.push(
      `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${e.color}" stroke-width="3"${e.dash ? ` stroke-dasharray="${e.dash}"` : ''}/>`,
    );
    out.push(`<text x="${x + 30}" y="${y + 4}" font-size="12" fill="#222">${esc(e.label)}</text>`);
  });
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

/** Latency CDF, one line per run, log-scaled latency axis. */
export function latencyCdfSvg(runs: { label: string; results: SimResults }[], title = 'Latency CDF'): string {
  const all = runs.flatMap((r) => r.results.latencyCdf.map((p) => p[0])).filter((v) => v > 0);
  if (all.length === 0) return frame(title, 'no latency samples', 'latency', 'fraction of samples', []);
  let lo = Math.min(...all),
    hi = Math.max(...all);
  lo = 10 ** Math.floor(Math.log10(lo * 0.9));
  hi = niceCeil(hi * 1.05); // end on a 1-2-5 tick
  if (hi / lo < 10) hi = lo * 10;
  const xs = logScale(lo, hi, M.left, W - M.right);
  const ys = linScale(0, 1, H - M.bottom, M.top);
  const body = axes(
    { scale: xs, ticks: logTicks(lo, hi), label: tickNs },
    {
      scale: ys,
      ticks: [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1].filter((t) => t !== 0.9 && t !== 0.99),
      label: (v) => `${Math.round(v * 100)}%`,
    },
  );
  const dashes = ['', '7 4', '2 3', '10 3 2 3'];
  const entries: { label: string; color: string; dash?: string }[] = [];
  runs.forEach((r, i) => {
    const color = PALETTE[i % PALETTE.length];
    const dash = dashes[Math.floor(i / PALETTE.length) % dashes.length] || undefined;
    const pts: string[] = [];
    let prevY = 0;
    for (const [x, f] of r.results.latencyCdf) {
      pts.push(`${num(xs(x))},${num(ys(prevY))}`, `${num(xs(x))},${num(ys(f))}`); // a step function
      prevY = f;
    }
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts.join(' ')}"/>`,
    );
    const p50 = r.results.latency.p50Ns;
    body.push(`<circle cx="${num(xs(p50))}" cy="${num(ys(0.5))}" r="3.5" fill="${color}"/>`);
    entries.push({ label: `${r.label} (p50 ${fmtNs(p50)})`, color, dash });
  });
  body.push(...legend(entries));
  const sub = `${runs[0].results.scenario}, seed ${runs[0].results.seed}; dots mark the median`;
  return frame(title, sub, 'latency (log scale)', 'fraction of samples at or below', body);
}

/** A metric against one sweep parameter, one line per transport. */
export function sweepSvg(points: SweepPoint[], field: string, metric: string, title?: string): string {
  const value = (p: SweepPoint) => metricOf(p.results, metric);
  const transports = [...new Set(points.map((p) => p.transport))];
  const xsVals = points.map((p) => p.params[field]).filter((v) => v !== undefined);
  const ysVals = points.map(value).filter((v) => Number.isFinite(v) && v > 0);
  const t = title ?? `${metric} vs ${field}`;
  if (xsVals.length === 0 || ysVals.length === 0) return frame(t, 'no data', field, metric, []);
  const xLo = Math.min(...xsVals),
    xHi = Math.max(...xsVals);
  const logX = xLo > 0 && xHi / xLo >= 8;
  const yLo0 = Math.min(...ysVals),
    yHi0 = Math.max(...ysVals);
  const logY = yHi0 / yLo0 >= 20;
  const yLo = logY ? 10 ** Math.floor(Math.log10(yLo0)) : 0;
  const yHi = logY ? 10 ** Math.ceil(Math.log10(yHi0)) : yHi0 * 1.1;
  const xs = logX
    ? logScale(xLo, xHi, M.left + 10, W - M.right - 10)
    : linScale(xLo, xHi, M.left + 10, W - M.right - 10);
  const ys = logY ? logScale(yLo, yHi, H - M.bottom, M.top) : linScale(yLo, yHi, H - M.bottom, M.top);
  const label = metric.endsWith('Ns') ? tickNs : fmtRate;
  const body = axes(
    { scale: xs, ticks: [...new Set(xsVals)].sort((a, b) => a - b), label: (v) => String(v) },
    {
      scale: ys,
      ticks: logY ? logTicks(yLo, yHi) : linearTicks(yLo, yHi),
      label: (v) => (metric.endsWith('PerMessage') ? v.toFixed(2) : label(v)),
    },
  );
  const entries: { label: string; color: string }[] = [];
  transports.forEach((tr, i) => {
    const color = PALETTE[i % PALETTE.length];
    const pts = points.filter((p) => p.transport === tr).sort((a, b) => a.params[field] - b.params[field]);
    body.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.4" points="${pts.map((p) => `${num(xs(p.params[field]))},${num(ys(value(p)))}`).join(' ')}"/>`,
    );
    for (const p of pts)
      body.push(
        `<circle cx="${num(xs(p.params[field]))}" cy="${num(ys(value(p)))}" r="4" fill="${color}" stroke="#fff" stroke-width="1.2"><title>${esc(`${tr} ${field}=${p.params[field]}: ${label(value(p))}`)}</title></circle>`,
      );
    entries.push({ label: tr, color });
  });
  body.push(...legend(entries));
  const sub = `${points[0].results.scenario}, seed ${points[0].results.seed}${logY ? '; log scale' : ''}`;
  return frame(t, sub, field + (logX ? ' (log scale)' : ''), metric, body);
}

/** Read a metric by name from results: a top-level number or latency.p50Ns style path. */
export function metricOf(r: SimResults, metric: string): number {
  if (metric.startsWith('latency')) {
    const key = metric.slice('latency'.length);
    const k = key.charAt(0).toLowerCase() + key.slice(1);
    return (r.latency as unknown as Record<string, number>)[k] ?? NaN;
  }
  const v = (r as unknown as Record<string, unknown>)[metric];
  if (typeof v === 'number') return v;
  const t = (r.totals as unknown as Record<string, number>)[metric];
  return typeof t === 'number' ? t : NaN;
}

/** Per-thread timeline of the first `windowNs` of a run: running, spinning, and idle (blank). */
export function timelineSvg(r: SimResults, windowNs?: number, title = 'Per-thread timeline'): string {
  const lines: PeerTimeline[] = (r.timeline ?? []).filter((l) => l.spans.length > 0).slice(0, 24);
  const end =
    windowNs ??
    Math.min(r.workloadNs, Math.max(...lines.map((l) => l.spans[Math.min(l.spans.length - 1, 14)]?.[1] ?? 0), 1));
  const rowH = Math.max(14, Math.min(34, (H - M.top - M.bottom) / Math.max(1, lines.length)));
  const height = Math.max(H, M.top + M.bottom + rowH * lines.length);
  const left = 130;
  const xs = linScale(0, end, left, W - 40);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" ${FONT}>`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="26" font-size="18" font-weight="bold" fill="#222">${esc(title)}</text>`,
    `<text x="${left}" y="45" font-size="12" fill="#666">${esc(`${r.scenario} on ${r.transport}, ${r.cpus} CPUs, first ${fmtNs(end)}; blank = off CPU (sleeping or runnable)`)}</text>`,
  ];
  const colors: Record<string, string> = { run: '#0072B2', spin: '#E69F00' };
  lines.forEach((l, i) => {
    const y = M.top + i * rowH;
    out.push(
      `<rect x="${left}" y="${num(y + 2)}" width="${W - 40 - left}" height="${num(rowH - 4)}" fill="${i % 2 ? '#fafafa' : '#f3f3f3'}"/>`,
    );
    out.push(
      `<text x="${left - 8}" y="${num(y + rowH / 2 + 4)}" font-size="12" text-anchor="end" fill="#222">${esc(l.thread)}</text>`,
    );
    for (const [a, b, s] of l.spans) {
      if (a >= end) break;
      const x0 = xs(a),
        x1 = xs(Math.min(b, end));
      out.push(
        `<rect x="${num(x0)}" y="${num(y + 4)}" width="${num(Math.max(0.8, x1 - x0))}" height="${num(rowH - 8)}" fill="${colors[s] ?? '#999'}"/>`,
      );
    }
  });
  const y0 = M.top + lines.length * rowH + 4;
  out.push(`<line x1="${left}" y1="${y0}" x2="${W - 40}" y2="${y0}" stroke="#333"/>`);
  for (const t of linearTicks(0, end, 6)) {
    out.push(`<line x1="${num(xs(t))}" y1="${y0}" x2="${num(xs(t))}" y2="${y0 + 5}" stroke="#333"/>`);
    out.push(
      `<text x="${num(xs(t))}" y="${y0 + 19}" font-size="11" text-anchor="middle" fill="#555">${esc(tickNs(t))}</text>`,
    );
  }
  const ly = y0 + 38;
  out.push(
    `<rect x="${left}" y="${ly - 10}" width="14" height="12" fill="${colors.run}"/><text x="${left + 20}" y="${ly}" font-size="12">running (op costs, switches, service)</text>`,
  );
  out.push(
    `<rect x="${left + 270}" y="${ly - 10}" width="14" height="12" fill="${colors.spin}"/><text x="${left + 290}" y="${ly}" font-size="12">spinning while waiting</text>`,
  );
  out.push('</svg>', '');
  return out
    .join('\n')
    .replace(`height="${height}" viewBox="0 0 ${W} ${height}"`, `height="${ly + 20}" viewBox="0 0 ${W} ${ly + 20}"`);
}
