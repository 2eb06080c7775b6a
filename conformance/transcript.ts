// Transcripts: the wire exchange of a run, line by line, so a failure can be
// replayed into the driver alone (`tessera replay FILE --driver CMD`), or fed to
// it by hand under a debugger (`grep '^> ' FILE | cut -c3- | my-driver`).
//
// A transcript is text: `#` lines say what it is, `> ` lines are the requests
// the suite wrote, `< ` lines what the driver wrote back (responses and
// completions), each exactly as it went over the wire. A stdio driver's lines are
// recorded as they are read and written; an in-process driver's calls are
// written as the same JSON messages.
import type { Completion, Invocation, Limits, Operation } from '../spec/types';
import type { Driver, DriverInfo } from '../protocol/driver';

export type WireDirection = '>' | '<';
export type WireListener = (direction: WireDirection, line: string) => void;

/** A driver that can show its wire lines (the stdio driver). */
export interface WireTap {
  tapWire(listener: WireListener): void;
}

export function hasWireTap(d: Driver): d is Driver & WireTap {
  return typeof (d as Partial<WireTap>).tapWire === 'function';
}

/**
 * The lines of a run, kept in segments: the handshake, and each bus from its
 * reset on (a case, a property run, a concurrent run). With `keepAll`, the whole
 * exchange is kept as well.
 */
export class WireLog {
  private readonly handshake: string[] = [];
  private current: string[] = [];
  private inHandshake = true;
  readonly all: string[] = [];

  constructor(private readonly keepAll = false) {}

  readonly listener: WireListener = (direction, line) => {
    const text = `${direction} ${line}`;
    if (this.keepAll) this.all.push(text);
    if (direction === '>' && /^\{"type":"reset"/.test(line)) {
      this.inHandshake = false;
      this.current = [];
    }
    (this.inHandshake ? this.handshake : this.current).push(text);
  };

  /** The handshake and the exchange of the current bus (since its reset). */
  segment(): string[] {
    return [...this.handshake, ...this.current];
  }
}

/** Wrap an in-process driver so its calls are logged as the wire messages a stdio driver would exchange. */
export function recordingDriver(driver: Driver, listener: WireListener): Driver {
  let id = 0;
  // A plain object forwarding to the driver (bound, so the driver's own state stays its own),
  // with what else it offers (clients run inside it: runClients, now) forwarded too.
  const wrapped = { close: () => driver.close() } as Driver;
  for (const key of ['runClients', 'now'] as const) {
    const f = (driver as unknown as Record<string, unknown>)[key];
    if (typeof f === 'function') (wrapped as unknown as Record<string, unknown>)[key] = f.bind(driver);
  }
  const exchange = async <T>(request: object, call: () => Promise<T>, response: (r: T, id: number) => object) => {
    const n = ++id;
    listener('>', JSON.stringify({ ...request, id: n }));
    const r = await call();
    listener('<', JSON.stringify(response(r, n)));
    return r;
  };
  wrapped.init = () =>
    exchange<DriverInfo>(
      { type: 'init', protocolVersion: '2' },
      () => driver.init(),
      (info, n) => ({ type: 'init_ok', id: n, info }),
    );
  wrapped.reset = (limits: Limits) =>
    exchange(
      { type: 'reset', limits },
      () => driver.reset(limits),
      (l, n) => ({ type: 'reset_ok', id: n, limits: l }),
    );
  wrapped.invoke = (op: Operation) =>
    exchange<Invocation>(
      { type: 'invoke', op },
      () => driver.invoke(op),
      (invocation, n) => ({ type: 'invoke_ok', id: n, invocation }),
    );
  wrapped.onCompletion = (l: (c: Completion) => void) =>
    driver.onCompletion((c) => {
      listener('<', JSON.stringify({ type: 'completion', completion: c }));
      l(c);
    });
  return wrapped;
}

export interface TranscriptHeader {
  driver: string;
  /** What the run found, one line. */
  outcome: string;
  /** The command that replays the transcript into the driver alone. */
  replay?: string;
}

/** A transcript's text: a header, then the lines. */
export function formatTranscript(lines: string[], h: TranscriptHeader): string {
  return [
    '# tessera transcript: the wire exchange of a conformance run (driver protocol 2)',
    '# "> " lines: what the suite wrote to the driver; "< " lines: what the driver wrote back',
    `# driver: ${h.driver}`,
    `# ${h.outcome}`,
    ...(h.replay ? [`# replay: ${h.replay}`] : []),
    "# by hand: grep '^> ' THIS_FILE | cut -c3- | <your driver command>",
    ...lines,
    '',
  ].join('\n');
}

export interface TranscriptLine {
  direction: WireDirection;
  line: string;
  /** 1-based line number in the file. */
  at: number;
}

/** The lines of a transcript file; throws with the line number on anything else. */
export function parseTranscript(text: string): TranscriptLine[] {
  const out: TranscriptLine[] = [];
  text.split('\n').forEach((raw, k) => {
    if (raw === '' || raw.startsWith('#')) return;
    const m = /^([<>]) (.*)$/.exec(raw);
    if (!m)
      throw new Error(`line ${k + 1} is neither a comment (#) nor a wire line ("> " or "< "): ${raw.slice(0, 60)}`);
    out.push({ direction: m[1] as WireDirection, line: m[2], at: k + 1 });
  });
  return out;
}
