// Sequence diagrams as SVG, drawn by the generator from the marks a recorded
// step holds (cli/docs/story.ts): one lifeline per participant, time going
// down, one row per mark. A message runs from the row of the operation that
// queued it to the row of the receive that delivered it, so a slanted arrow is
// time spent in a queue; notices come from the bus; a reply goes straight to
// the caller; a cross marks a failed operation or an entry discarded unread.
// Text is monospace, so its width is known without a browser, and the output
// is a pure function of the marks (same marks, same bytes).
import { esc } from './html';
import { type ArrowStyle, BUS, type Mark, type StoryStep } from './story';

const CHAR_PX = 6.6; // 11px monospace
const LINE_PX = 13;
/** The width a diagram aims for (the page's text column), and room kept right of the last lifeline. */
const TARGET_WIDTH_PX = 880;
const RIGHT_ROOM_PX = 200;
const FIRST_X = 56;
const HEAD_TOP = 8;
const HEAD_PX = 26;
const SELF_CHARS = { min: 22, max: 58 };
const BELOW_PX = 14; // baseline of a label under an arrowhead
const FONT = 'ui-monospace, SFMono-Regular, DejaVu Sans Mono, Menlo, Consolas, monospace';

const INK = '#14213d';
const BLUE = '#2f54a3';
const AMBER = '#b45309';
const RED = '#b91c1c';
const GREY = '#94a3b8';

const n = (v: number) => String(Math.round(v * 10) / 10);

/** Greedy word wrap to at most `width` characters a line (a longer word stays whole). */
export function wrapLabel(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

interface Placed {
  mark: Mark;
  y: number;
  lines: string[];
}

interface Layout {
  x: Map<number, number>;
  rows: Placed[];
  /** Where each in-step attach put a lifeline's head. */
  heads: Map<number, number>;
  bottom: number;
}

function arrowEnds(mark: Mark): [number, number] | null {
  if (mark.kind === 'send' || mark.kind === 'reply') return [mark.from, mark.to];
  if (mark.kind === 'attach') return [BUS, mark.peer];
  return null;
}

/** Lay the marks out in rows: label lines above an arrow, beside a box or a cross. */
function layout(step: StoryStep): Layout {
  const k = step.participants.length;
  const column = Math.min(300, Math.max(150, Math.floor((TARGET_WIDTH_PX - FIRST_X - RIGHT_ROOM_PX) / Math.max(1, k - 1))));
  const x = new Map(step.participants.map((p, i) => [p.id, FIRST_X + i * column]));
  // Labels beside a lifeline wrap to stay within the target width where they can.
  const besideChars = (peer: number) =>
    Math.min(SELF_CHARS.max, Math.max(SELF_CHARS.min, Math.floor((TARGET_WIDTH_PX - 20 - (x.get(peer) ?? 0)) / CHAR_PX)));
  const rows: Placed[] = [];
  const heads = new Map<number, number>();
  let cursor = HEAD_TOP + HEAD_PX + 18;
  for (const mark of step.marks) {
    if (mark.kind === 'wait') {
      rows.push({ mark, y: rows.length ? rows[rows.length - 1].y : cursor, lines: [] });
      continue;
    }
    const ends = arrowEnds(mark);
    if (ends) {
      const head = mark.kind === 'attach' ? headWidthOf(step.participants.find((p) => p.id === mark.peer)?.name ?? '') : 0;
      const span = Math.abs((x.get(ends[1]) ?? 0) - (x.get(ends[0]) ?? 0)) - head / 2;
      const width = span === 0 ? besideChars(ends[0]) : Math.max(18, Math.floor((span - 16) / CHAR_PX));
      const lines = wrapLabel(mark.label, width);
      const y = cursor + lines.length * LINE_PX + (mark.kind === 'attach' ? 8 : 2);
      if (mark.kind === 'attach') heads.set(mark.peer, y);
      rows.push({ mark, y, lines });
      cursor = y + (mark.kind === 'attach' ? 22 : 10);
    } else if (mark.kind === 'deliver' || mark.kind === 'discard') {
      // The arrow arrives from above: its label goes below the arrowhead, clear of the line.
      const lines = wrapLabel(mark.label, besideChars(mark.peer));
      const y = cursor + 2;
      rows.push({ mark, y, lines });
      cursor = y + BELOW_PX + (lines.length - 1) * LINE_PX + 8;
    } else {
      const lines = wrapLabel('label' in mark ? mark.label : '', besideChars('peer' in mark ? mark.peer : BUS));
      const y = cursor + (lines.length - 1) * LINE_PX + 8;
      rows.push({ mark, y, lines });
      cursor = y + 14;
    }
  }
  return { x, rows, heads, bottom: cursor + 12 };
}

function text(lines: string[], x: number, lastBaseline: number, anchor: 'start' | 'end', color = INK): string {
  const first = lastBaseline - (lines.length - 1) * LINE_PX;
  const spans = lines
    .map((l, i) => `<tspan x="${n(x)}" y="${n(first + i * LINE_PX)}">${esc(l)}</tspan>`)
    .join('');
  return `<text text-anchor="${anchor}" fill="${color}" stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">${spans}</text>`;
}

function cross(x: number, y: number): string {
  return `<path d="M${n(x - 5)} ${n(y - 5)}L${n(x + 5)} ${n(y + 5)}M${n(x + 5)} ${n(y - 5)}L${n(x - 5)} ${n(y + 5)}" stroke="${RED}" stroke-width="2.2"/>`;
}

const STYLE_COLOR: Record<ArrowStyle | 'reply' | 'attach', string> = {
  message: BLUE,
  call: BLUE,
  reply: BLUE,
  notice: AMBER,
  attach: INK,
};

function arrowPath(x1: number, y1: number, x2: number, y2: number): string {
  if (x1 === x2) return `M${n(x1)} ${n(y1)}h28V${n(y2)}h-24`; // to a node of one's own
  const inset = x2 > x1 ? -6 : 6;
  return `M${n(x1)} ${n(y1)}L${n(x2 + inset)} ${n(y2)}`;
}

interface Drawing {
  prefix: string;
  layout: Layout;
  /** Rows by the sequence number of the entry they queue, deliver or discard. */
  ends: Map<number, Placed>;
  starts: Map<number, Placed>;
  origins: StoryStep['origins'];
  names: Map<number, string>;
}

/** One arrow of a queued entry, from its send row to its delivery, its discard, or the bottom. */
function queuedArrow(d: Drawing, seq: number): string {
  const start = d.starts.get(seq);
  const end = d.ends.get(seq);
  const origin = start?.mark.kind === 'send' ? start.mark : null;
  const from = origin?.from ?? d.origins.get(seq)?.from ?? BUS;
  const style: ArrowStyle = origin?.style ?? d.origins.get(seq)?.style ?? 'message';
  const to = origin?.to ?? (end && 'peer' in end.mark ? end.mark.peer : BUS);
  const x1 = d.layout.x.get(from) ?? FIRST_X;
  const x2 = d.layout.x.get(to) ?? FIRST_X;
  const y1 = start?.y ?? HEAD_TOP + HEAD_PX + 4;
  const y2 = end?.y ?? d.layout.bottom - 4;
  const color = STYLE_COLOR[style];
  const discarded = end?.mark.kind === 'discard';
  const dash = style === 'notice' || !end ? ' stroke-dasharray="5 3"' : '';
  const width = style === 'call' ? 2 : 1.3;
  const head = discarded ? '' : ` marker-end="url(#${d.prefix}-head-${style === 'notice' ? 'amber' : 'blue'})"`;
  const title = `${origin?.label ?? d.origins.get(seq)?.label ?? style}${end ? '' : ' (still queued when the step ends)'}`;
  const parts = [
    `<title>${esc(title)}</title>`,
    `<path d="${arrowPath(x1, y1, x2, y2)}" fill="none" stroke="${color}" stroke-width="${width}"${dash}${head}/>`,
  ];
  const right = x2 >= x1;
  if (start && origin) parts.push(text(start.lines, right ? x1 + 8 : x1 - 8, y1 - 4, right ? 'start' : 'end', color));
  else {
    // Queued in an earlier step: the arrow comes in from the top, labelled as it was sent.
    const earlier = `${d.origins.get(seq)?.label ?? style} (queued earlier)`;
    parts.push(text([earlier], right ? x1 + 8 : x1 - 8, y1 + 12, right ? 'start' : 'end', color));
  }
  if (discarded) parts.push(cross(x2, y2));
  return `<g class="arrow ${style}${discarded ? ' discarded' : ''}" data-seq="${seq}">${parts.join('')}</g>`;
}

/** Every mark other than queued arrows: boxes, crosses, replies, attaches, labels at arrow ends. */
function markShape(d: Drawing, row: Placed): string {
  const m = row.mark;
  const { y } = row;
  if (m.kind === 'wait' || m.kind === 'send') return '';
  if (m.kind === 'reply' || m.kind === 'attach') {
    const from = m.kind === 'reply' ? m.from : BUS;
    const to = m.kind === 'reply' ? m.to : m.peer;
    const x1 = d.layout.x.get(from) ?? FIRST_X;
    const x2 = d.layout.x.get(to) ?? FIRST_X;
    const right = x2 >= x1;
    const end = m.kind === 'attach' ? x2 + (right ? -headWidth(d, to) / 2 + 6 : headWidth(d, to) / 2 - 6) : x2;
    const dash = m.kind === 'reply' ? ' stroke-dasharray="5 3"' : '';
    const color = STYLE_COLOR[m.kind];
    return `<g class="arrow ${m.kind}"><title>${esc(m.label)}</title><path d="${arrowPath(x1, y, end, y)}" fill="none" stroke="${color}" stroke-width="1.3"${dash} marker-end="url(#${d.prefix}-head-${m.kind === 'reply' ? 'blue' : 'ink'})"/>${text(row.lines, right ? x1 + 8 : x1 - 8, y - 4, right ? 'start' : 'end', color)}</g>`;
  }
  const x = d.layout.x.get(m.peer) ?? FIRST_X;
  const below = m.kind === 'deliver' || m.kind === 'discard';
  const lastBaseline = below ? y + BELOW_PX + (row.lines.length - 1) * LINE_PX : y + 4;
  const color = m.kind === 'failure' || (m.kind === 'outcome' && m.failed) ? RED : INK;
  const label = text(row.lines, below ? x + 8 : x + 12, lastBaseline, 'start', color);
  if (m.kind === 'failure' || (m.kind === 'outcome' && m.failed))
    return `<g class="failure"><title>${esc(m.label)}</title>${cross(x, y)}${label}</g>`;
  if (m.kind === 'self' || m.kind === 'outcome')
    return `<g class="operation"><rect x="${n(x - 5)}" y="${n(y - 5)}" width="10" height="10" rx="2" fill="#eef2fb" stroke="${BLUE}"/>${label}</g>`;
  if (m.kind === 'close')
    return `<g class="operation close"><rect x="${n(x - 9)}" y="${n(y - 2)}" width="18" height="4" fill="${INK}"/>${label}</g>`;
  return `<g class="delivery">${label}</g>`; // deliver, discard: the arrow draws the rest
}

/** The head box of a lifeline: wide enough for its name in 12px bold. */
function headWidthOf(name: string): number {
  return Math.max(84, name.length * 7.4 + 24);
}

function headWidth(d: Drawing, id: number): number {
  return headWidthOf(d.names.get(id) ?? '');
}

/** Lifelines and their heads: at the top, or where an attach starts one; cut where a close ends one. */
function lifelines(d: Drawing, step: StoryStep): string {
  const out: string[] = [];
  for (const p of step.participants) {
    const x = d.layout.x.get(p.id)!;
    const headY = d.layout.heads.get(p.id) ?? HEAD_TOP + HEAD_PX / 2;
    const closed = d.layout.rows.find((r) => r.mark.kind === 'close' && r.mark.peer === p.id);
    const endY = closed ? closed.y : d.layout.bottom;
    const w = headWidth(d, p.id);
    const bus = p.id === BUS;
    out.push(
      `<g class="lifeline${bus ? ' bus' : ''}"><line x1="${n(x)}" y1="${n(headY + HEAD_PX / 2)}" x2="${n(x)}" y2="${n(endY)}" stroke="${GREY}" stroke-dasharray="${bus ? '2 3' : '4 4'}"/>` +
        `<rect x="${n(x - w / 2)}" y="${n(headY - HEAD_PX / 2)}" width="${n(w)}" height="${HEAD_PX}" rx="5" fill="${bus ? INK : '#eef2fb'}" stroke="${bus ? INK : BLUE}"/>` +
        `<text x="${n(x)}" y="${n(headY + 4)}" text-anchor="middle" font-family="${FONT}" font-size="12" font-weight="600" fill="${bus ? '#fff' : INK}">${esc(p.name)}</text></g>`,
    );
  }
  return out.join('\n');
}

/** Calls waiting for their outcome: a bar on the caller's lifeline. */
function waitBars(d: Drawing): string {
  const out: string[] = [];
  for (const row of d.layout.rows) {
    if (row.mark.kind !== 'wait') continue;
    const { peer, ticket } = row.mark;
    const done = d.layout.rows.find((r) => (r.mark.kind === 'reply' || r.mark.kind === 'outcome') && r.mark.ticket === ticket);
    const x = d.layout.x.get(peer) ?? FIRST_X;
    const y2 = done ? done.y : d.layout.bottom;
    out.push(
      `<rect class="waiting" x="${n(x - 4)}" y="${n(row.y)}" width="8" height="${n(y2 - row.y)}" fill="#dbe4f6" stroke="${BLUE}" stroke-width="0.8"><title>call #${ticket} waits for its one outcome</title></rect>`,
    );
  }
  return out.join('\n');
}

function width(d: Drawing, step: StoryStep): number {
  const last = Math.max(...d.layout.x.values());
  let right = last + Math.max(...step.participants.map((p) => headWidth(d, p.id))) / 2;
  for (const row of d.layout.rows) {
    const m = row.mark;
    if (!('peer' in m) || arrowEnds(m)) continue;
    const longest = Math.max(0, ...row.lines.map((l) => l.length));
    right = Math.max(right, (d.layout.x.get(m.peer) ?? 0) + 12 + longest * CHAR_PX + 8);
  }
  return Math.ceil(right + 8);
}

function markers(prefix: string): string {
  const head = (name: string, color: string) =>
    `<marker id="${prefix}-head-${name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="${color}"/></marker>`;
  return `<defs>${head('blue', BLUE)}${head('amber', AMBER)}${head('ink', INK)}</defs>`;
}

/** The sequence diagram of one recorded step, as an SVG element ready to inline. */
export function sequenceSvg(step: StoryStep, label: string): string {
  const prefix = `seq${step.index + 1}`;
  const d: Drawing = {
    prefix,
    layout: layout(step),
    ends: new Map(),
    starts: new Map(),
    origins: step.origins,
    names: new Map(step.participants.map((p) => [p.id, p.name])),
  };
  const seqs: number[] = [];
  for (const row of d.layout.rows) {
    const m = row.mark;
    if (m.kind === 'send') d.starts.set(m.seq, row);
    if (m.kind === 'deliver' || m.kind === 'discard') d.ends.set(m.seq, row);
    if ((m.kind === 'send' || m.kind === 'deliver' || m.kind === 'discard') && !seqs.includes(m.seq)) seqs.push(m.seq);
  }
  const w = width(d, step);
  const h = Math.ceil(d.layout.bottom);
  const body = [
    lifelines(d, step),
    waitBars(d),
    ...seqs.map((seq) => queuedArrow(d, seq)),
    ...d.layout.rows.map((row) => markShape(d, row)).filter(Boolean),
  ].join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" class="diagram sequence" role="img" aria-label="${esc(label)}" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}">
<title>${esc(label)}</title>
${markers(prefix)}
<g font-family="${FONT}" font-size="11">
${body}
</g>
</svg>`;
}
