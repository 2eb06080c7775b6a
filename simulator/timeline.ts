// Per-thread timeline charts: what each thread did over a time window, one row per thread,
// the five states of the results told apart (running, spinning, spinning for the bus lock,
// runnable, sleeping). Runs compared side by side share one window (sharedWindowNs), so a
// glance compares the transports at the same scale. Each row is drawn at half-pixel
// resolution: within a half pixel the state that took most of the time wins, and runs of one
// state are one rectangle, so a chart of a million spans stays a few hundred rectangles a row.
import type { PeerTimeline, SimResults } from './types';
import { fmtNs } from './report';
import { esc, FONT, linearTicks, num, tickNs, W } from './svg';

/** The states of a timeline, drawing order and style. */
export const TIMELINE_STATES: { state: string; label: string; color: string; height: number }[] = [
  { state: 'run', label: 'running', color: '#0072B2', height: 1 },
  { state: 'spin', label: 'spinning (waiting for a reply or message)', color: '#E69F00', height: 1 },
  { state: 'lock', label: 'spinning for the bus lock', color: '#D55E00', height: 1 },
  { state: 'ready', label: 'runnable (woken, waiting for a CPU)', color: '#9E9E9E', height: 0.5 },
  { state: 'sleep', label: 'sleeping (blocked)', color: '#D9D9D9', height: 0.18 },
];
const STATE_INDEX = new Map(TIMELINE_STATES.map((s, i) => [s.state, i]));

/** Threads drawn at most (the busiest first ones, in thread order). */
const MAX_ROWS = 32;
/** Columns per pixel. */
const RESOLUTION = 2;

/** State changes of its busiest thread a run's own window holds. */
const CHANGES = 40;

/** The window a run's timeline shows by itself: until its busiest thread has changed state CHANGES times (or its end). */
export function defaultWindowNs(r: SimResults): number {
  const lines = (r.timeline ?? []).filter((l) => l.spans.length > 0);
  const busy = lines.filter((l) => l.spans.length > CHANGES);
  const reach =
    busy.length > 0
      ? Math.min(...busy.map((l) => l.spans[CHANGES][1]))
      : Math.max(1, ...lines.map((l) => l.spans[l.spans.length - 1][1]));
  return Math.max(1, Math.min(r.workloadNs || reach, reach));
}

/** One window for several runs: the longest of their own windows, so the slowest shows a few dozen state changes. */
export function sharedWindowNs(runs: SimResults[]): number {
  return Math.max(1, ...runs.map(defaultWindowNs));
}

/** A row's spans clipped to [0, end), as rectangles of one state each at half-pixel resolution. */
function rowRects(spans: [number, number, string][], end: number, widthPx: number): [number, number, number][] {
  const cols = Math.max(1, Math.round(widthPx * RESOLUTION));
  const perCol = end / cols;
  const share = new Float64Array(cols * TIMELINE_STATES.length);
  for (const [a, b, s] of spans) {
    if (a >= end) break;
    const k = STATE_INDEX.get(s);
    if (k === undefined) continue;
    const from = a / perCol;
    const to = Math.min(b, end) / perCol;
    for (let c = Math.floor(from); c < Math.min(cols, Math.ceil(to)); c++) {
      const covered = Math.min(to, c + 1) - Math.max(from, c);
      if (covered > 0) share[c * TIMELINE_STATES.length + k] += covered;
    }
  }
  const rects: [number, number, number][] = [];
  for (let c = 0; c < cols; c++) {
    let best = -1;
    let most = 0.25; // a column less than a quarter covered stays blank
    for (let k = 0; k < TIMELINE_STATES.length; k++) {
      const v = share[c * TIMELINE_STATES.length + k];
      if (v > most) {
        most = v;
        best = k;
      }
    }
    if (best < 0) continue;
    const last = rects[rects.length - 1];
    if (last && last[2] === best && last[1] === c) last[1] = c + 1;
    else rects.push([c, c + 1, best]);
  }
  return rects;
}

/** Per-thread timeline of the first `windowNs` of a run (default: its own window, defaultWindowNs). */
export function timelineSvg(r: SimResults, windowNs?: number, title = 'Per-thread timeline'): string {
  const all: PeerTimeline[] = (r.timeline ?? []).filter((l) => l.spans.length > 0);
  const lines = all.slice(0, MAX_ROWS);
  const end = windowNs ?? defaultWindowNs(r);
  const left = 130;
  const right = W - 40;
  const plotW = right - left;
  const rowH = Math.max(14, Math.min(30, 440 / Math.max(1, lines.length)));
  const top = 58;
  const shown = lines.length < all.length ? `; the first ${lines.length} of ${all.length} threads` : '';
  const out: string[] = [
    `<title>${esc(title)}</title>`,
    `<text x="${left}" y="26" font-size="18" font-weight="bold" fill="#222">${esc(title)}</text>`,
    `<text x="${left}" y="45" font-size="12" fill="#666">${esc(`${r.scenario} on ${r.transport}, ${r.cpus} CPUs: the first ${fmtNs(end)} of ${fmtNs(r.workloadNs)}${shown}`)}</text>`,
  ];
  lines.forEach((l, i) => {
    const y = top + i * rowH;
    out.push(
      `<rect x="${left}" y="${num(y + 1)}" width="${plotW}" height="${num(rowH - 2)}" fill="${i % 2 ? '#fcfcfc' : '#f5f5f5'}"/>`,
    );
    out.push(
      `<text x="${left - 8}" y="${num(y + rowH / 2 + 4)}" font-size="12" text-anchor="end" fill="#222">${esc(l.thread)}</text>`,
    );
    for (const [c0, c1, k] of rowRects(l.spans, end, plotW)) {
      const s = TIMELINE_STATES[k];
      const h = (rowH - 6) * s.height;
      const x0 = left + c0 / RESOLUTION;
      out.push(
        `<rect x="${num(x0)}" y="${num(y + 3 + (rowH - 6 - h) / 2)}" width="${num((c1 - c0) / RESOLUTION)}" height="${num(h)}" fill="${s.color}"/>`,
      );
    }
  });
  const y0 = top + lines.length * rowH + 4;
  const xs = (t: number) => left + (t / end) * plotW;
  out.push(`<line x1="${left}" y1="${y0}" x2="${right}" y2="${y0}" stroke="#333"/>`);
  for (const t of linearTicks(0, end, 6)) {
    out.push(`<line x1="${num(xs(t))}" y1="${y0}" x2="${num(xs(t))}" y2="${y0 + 5}" stroke="#333"/>`);
    out.push(
      `<text x="${num(xs(t))}" y="${y0 + 19}" font-size="11" text-anchor="middle" fill="#555">${esc(tickNs(t))}</text>`,
    );
  }
  out.push(
    `<text x="${num((left + right) / 2)}" y="${y0 + 36}" font-size="13" text-anchor="middle" fill="#333">simulated time</text>`,
  );
  // The key, two entries a line.
  let ky = y0 + 58;
  TIMELINE_STATES.forEach((s, i) => {
    const kx = left + (i % 2) * 330;
    const h = 12 * s.height;
    out.push(
      `<rect x="${kx}" y="${num(ky - 4 - h / 2)}" width="14" height="${num(h)}" fill="${s.color}"/><text x="${kx + 20}" y="${ky}" font-size="12" fill="#222">${esc(s.label)}</text>`,
    );
    if (i % 2 === 1) ky += 18;
  });
  const height = Math.ceil(ky + 16);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" ${FONT}>`,
    out[0],
    `<rect x="0" y="0" width="${W}" height="${height}" fill="#ffffff"/>`,
    ...out.slice(1),
    '</svg>',
    '',
  ].join('\n');
}
