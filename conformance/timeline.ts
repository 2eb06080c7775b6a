// A concurrent failure as a picture, as Porcupine draws one: one lane per
// client, each operation an interval from its invocation to its response (and on
// to its completion), numbered in the order the longest linearization found could
// place them; the operation that could not be placed after them is highlighted.
// The headline is read from the smallest failing history itself, so it names
// operations the picture shows.
import type { Limits } from '../spec/types';
import { checkLinearizable, type HistoryOp } from './linearizability';
import { formatInvocation, formatOp } from './format';

export interface HistoryDiagnosis {
  /** Why the smallest history has no linearization, naming its operations. */
  reason: string;
  /** Operation ids in the order the longest linearization placed them. */
  placed: number[];
  /** The operation the reason blames (could not be placed next), if it names one. */
  blamed: number | null;
}

/** Search the smallest failing history again: its own deepest linearization and why it stops. */
export function diagnoseHistory(history: HistoryOp[], limits: Partial<Limits> | undefined): HistoryDiagnosis {
  const check = checkLinearizable(history, { limits, minimize: false });
  const reason = check.deepest?.reason ?? 'no linearization';
  const named = /#(\d+)/.exec(reason);
  return { reason, placed: check.deepest?.linearized ?? [], blamed: named ? Number(named[1]) : null };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A label cut to what fits in `px` pixels (about 5.2 px per character at 9 px). */
const fit = (text: string, px: number) => {
  const n = Math.floor((px - 6) / 5.2);
  return n >= text.length ? text : n > 3 ? `${text.slice(0, n - 1)}…` : '';
};

/** Words in lines of at most `width` characters. */
function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

const LANE = 54;
const LEFT = 90;
const WIDTH = 960;
const TOP = 34;

/** The smallest failing history as an SVG timeline (self-contained; no script). */
export function timelineSvg(history: HistoryOp[], d: HistoryDiagnosis): string {
  const ops = [...history].sort((a, b) => a.call - b.call);
  const clients = [...new Set(ops.map((o) => o.client))].sort((a, b) => a - b);
  // An ordinal time axis, as Porcupine draws one: only the order of events matters, so each
  // distinct event time gets an even step (gaps where removed operations ran close up).
  const times = [...new Set(ops.flatMap((o) => [o.call, o.return ?? o.call, o.completed ?? o.call]))].sort(
    (a, b) => a - b,
  );
  const rank = new Map(times.map((t, k) => [t, k]));
  const step = (WIDTH - LEFT - 20) / Math.max(1, times.length - 1);
  const x = (t: number) => LEFT + (rank.get(t) ?? times.length - 1) * step;
  const t1 = times[times.length - 1];
  const headline = wrapText(`smallest failing history (${ops.length} operations): ${d.reason}`, 150).slice(0, 3);
  const top = TOP + (headline.length - 1) * 15;
  const height = top + clients.length * LANE + 40;
  const order = new Map(d.placed.map((id, k) => [id, k + 1]));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<title>The smallest failing history: one lane per client; numbers: the order of the longest linearization; red: the operation that cannot be placed</title>`,
    ...headline.map((line, k) => `<text x="8" y="${18 + k * 15}" font-size="12">${esc(line)}</text>`),
  ];
  clients.forEach((c, k) => {
    const y = top + k * LANE;
    parts.push(
      `<line x1="${LEFT - 6}" y1="${y + LANE / 2}" x2="${WIDTH - 10}" y2="${y + LANE / 2}" stroke="#ddd"/>`,
      `<text x="8" y="${y + LANE / 2 + 4}">client ${c}</text>`,
    );
  });
  for (const o of ops) {
    const lane = clients.indexOf(o.client);
    const y = top + lane * LANE + 10;
    const a = x(o.call);
    const b = Math.max(a + 6, x(o.return ?? t1));
    const blamed = o.id === d.blamed;
    const placed = order.get(o.id);
    const fill = blamed ? '#f8c4c4' : placed !== undefined ? '#cfe3f7' : '#eee';
    const stroke = blamed ? '#c0392b' : '#4a78a8';
    const label = `#${o.id} ${formatOp(o.op)} -> ${o.invocation ? formatInvocation(o.invocation) : '?'}`;
    const cls = blamed ? 'op blamed' : 'op';
    parts.push(
      `<g class="${cls}" data-op="${o.id}"><title>${esc(`${label}${o.outcome ? ` => ${formatInvocation(o.outcome)}` : ''}`)}</title>`,
      `<rect x="${a.toFixed(1)}" y="${y}" width="${(b - a).toFixed(1)}" height="${LANE - 22}" rx="3" fill="${fill}" stroke="${stroke}" stroke-width="${blamed ? 2 : 1}"/>`,
    );
    if (o.completed !== undefined)
      parts.push(
        `<line x1="${b.toFixed(1)}" y1="${y + (LANE - 22) / 2}" x2="${x(o.completed).toFixed(1)}" y2="${y + (LANE - 22) / 2}" stroke="${stroke}" stroke-dasharray="3 2"/>`,
      );
    parts.push(
      `<text x="${(a + 3).toFixed(1)}" y="${y + 13}">${esc(`${placed !== undefined ? `${placed}. ` : ''}#${o.id}`)}</text>`,
      `<text x="${(a + 3).toFixed(1)}" y="${y + 26}" font-size="9">${esc(fit(label.slice(label.indexOf(' ') + 1), b - a))}</text>`,
      '</g>',
    );
  }
  parts.push(
    `<text x="8" y="${height - 12}" font-size="10">intervals: invocation to response (dashed: on to the completion); blue: placed, in the numbered order; red: cannot be placed next; grey: not reached</text>`,
    '</svg>',
  );
  return parts.join('\n');
}
