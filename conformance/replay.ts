// Replaying a transcript (conformance/transcript.ts) into a driver alone: the
// recorded requests are written exactly as they were, one at a time, each once
// the driver has answered the one before; every response is compared with the
// recorded one (as JSON, key order aside), and the completions in the order they
// came. The first response that differs is reported, with the first field that
// differs. No model, no suite: an implementer can step through it in a debugger.
import { DriverError } from '../protocol/driver';
import { readResponseLine } from '../protocol/validate';
import { readLines } from '../protocol/lines';
import { startDriverProcess } from './driver-process';
import { deepEqual } from './names';
import { stderrExcerpt } from './stderr';
import type { TranscriptLine } from './transcript';

export interface ReplayOptions {
  command: string;
  /** How long each request may wait for its response (ms). */
  timeoutMs: number;
  /** Each line as it goes (for --verbose). */
  onLine?: (direction: '>' | '<', line: string) => void;
}

export interface ReplayOutcome {
  /** Every response and completion as recorded. */
  same: boolean;
  requests: number;
  /** The first difference, in a few lines. */
  difference?: string;
}

interface Recorded {
  request: TranscriptLine;
  id: number;
  response?: TranscriptLine;
}

/** The first path where two JSON values differ ("invocation.value.deliveries.0.payload"). */
function firstPath(a: unknown, b: unknown, path: string[] = []): string[] | null {
  if (deepEqual(a, b)) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const k of keys) {
      const d = firstPath((a as any)[k], (b as any)[k], [...path, k]);
      if (d) return d;
    }
  }
  return path;
}

/** A response as compared: an init_ok's name is the implementation's own (a fixed build may rename it). */
function comparable(line: string): unknown {
  const msg = JSON.parse(line) as { type?: string; info?: Record<string, unknown> };
  if (msg.type === 'init_ok' && msg.info && typeof msg.info === 'object')
    return { ...msg, info: { ...msg.info, name: '' } };
  return msg;
}

function describeDifference(what: string, recorded: string, now: string): string {
  const p = firstPath(JSON.parse(recorded), JSON.parse(now)) ?? [];
  return [
    `${what}: the response differs${p.length ? ` at ${p.join('.')}` : ''}`,
    `  recorded: ${recorded}`,
    `  now:      ${now}`,
  ].join('\n');
}

/** Pair each recorded request with its recorded response (by id); completions kept in order. */
function pairs(lines: TranscriptLine[]): { requests: Recorded[]; completions: TranscriptLine[] } {
  const requests: Recorded[] = [];
  const byId = new Map<number, Recorded>();
  const completions: TranscriptLine[] = [];
  for (const l of lines) {
    const msg = JSON.parse(l.line) as { type?: string; id?: unknown };
    if (l.direction === '>') {
      const r = { request: l, id: msg.id as number };
      requests.push(r);
      byId.set(r.id, r);
    } else if (msg.type === 'completion') completions.push(l);
    else if (typeof msg.id === 'number' && byId.has(msg.id)) byId.get(msg.id)!.response ??= l;
  }
  return { requests, completions };
}

export async function replayTranscript(lines: TranscriptLine[], o: ReplayOptions): Promise<ReplayOutcome> {
  const { requests, completions } = pairs(lines);
  const p = startDriverProcess({ command: o.command });
  const answers = new Map<number, string>();
  const completed: string[] = [];
  const stderr: string[] = [];
  let fault: string | null = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const stops = [
    readLines(
      p.child.stdout,
      {
        line: (line) => {
          if (line.trim() === '') return;
          o.onLine?.('<', line);
          const read = readResponseLine(line);
          if (!read.ok)
            fault ??= `the driver wrote a line it should not: ${read.message}\n  offending line: ${line.slice(0, 300)}`;
          else if (read.value.type === 'completion') completed.push(line);
          else if (read.value.id !== null) answers.set(read.value.id, line);
          poke();
        },
        overlong: () => {
          fault ??= 'the driver wrote a line longer than the bound';
          poke();
        },
      },
      16 * 1024 * 1024,
    ),
    readLines(p.child.stderr, { line: (l) => stderr.push(l), overlong: () => {} }, 16 * 1024 * 1024),
  ];
  p.child.once('exit', (code, signal) => {
    setTimeout(() => {
      fault ??= `the driver exited (${signal ?? `code ${code}`})`;
      poke();
    }, 50);
  });
  p.child.stdin.on('error', () => {});
  const excerpt = () => stderrExcerpt(stderr.slice(0, 40), stderr.slice(-200), stderr.length);
  try {
    for (const [k, r] of requests.entries()) {
      o.onLine?.('>', r.request.line);
      p.child.stdin.write(r.request.line + '\n');
      const deadline = Date.now() + o.timeoutMs;
      while (!answers.has(r.id) && fault === null && Date.now() < deadline)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      const what = `request ${k + 1} of ${requests.length} (transcript line ${r.request.at}, ${JSON.parse(r.request.line).type}${JSON.parse(r.request.line).op ? ` ${JSON.parse(r.request.line).op.op}` : ''})`;
      if (!answers.has(r.id))
        return {
          same: false,
          requests: k + 1,
          difference: `${what}: ${fault ?? `no response within ${o.timeoutMs} ms`}${excerpt()}`,
        };
      const now = answers.get(r.id)!;
      if (r.response && !deepEqual(comparable(r.response.line), comparable(now)))
        return { same: false, requests: k + 1, difference: describeDifference(what, r.response.line, now) };
      // The completions recorded so far must have come, in the same order.
      const expected = completions.filter((c) => c.at < (r.response?.at ?? r.request.at));
      for (let i = 0; i < Math.min(expected.length, completed.length); i++)
        if (!deepEqual(JSON.parse(expected[i].line), JSON.parse(completed[i])))
          return {
            same: false,
            requests: k + 1,
            difference: describeDifference(
              `completion ${i + 1} (transcript line ${expected[i].at})`,
              expected[i].line,
              completed[i],
            ),
          };
    }
    if (completed.length !== completions.length)
      return {
        same: false,
        requests: requests.length,
        difference: `the driver wrote ${completed.length} completion(s), the transcript has ${completions.length}`,
      };
    return { same: true, requests: requests.length };
  } finally {
    const shutdown = Math.max(0, ...requests.map((r) => r.id)) + 1;
    if (!fault && !requests.some((r) => /"type":"shutdown"/.test(r.request.line)))
      p.child.stdin.write(JSON.stringify({ type: 'shutdown', id: shutdown }) + '\n');
    p.child.stdin.end();
    await p.waitExit(2000);
    await p.terminate();
    stops.forEach((s) => s());
  }
}

export { DriverError };
