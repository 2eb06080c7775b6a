// The fuzz target's worker thread: reads one scenario or profile file's text the way the
// simulator's command does (JSON, then the checks of load.ts), runs what passes, and says
// what happened. Anything thrown that is not an InputError is a crash; the test's watchdog
// counts a worker that does not answer in time as a hang.
import { parentPort } from 'worker_threads';
import { InputError, loadProfile, parseJsonText, parseProfile, parseScenario } from '../../../simulator/load';
import { runScenario } from '../../../simulator/run';
import type { Scenario } from '../../../simulator/types';

export interface FuzzInput {
  id: number;
  /** Which file the text stands for; a profile runs `scenario` on it. */
  kind: 'scenario' | 'profile';
  text: string;
  scenario?: Scenario;
  maxEvents: number;
}

export type FuzzAnswer =
  | { id: number; kind: 'rejected'; message: string }
  | { id: number; kind: 'ran'; outcome: string; nonFinite: string[]; detail: string }
  | { id: number; kind: 'crash'; message: string };

/** Paths of numbers in the results that are not finite (NaN prints as null in JSON, so look before). */
function nonFinite(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [path || '/'];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => nonFinite(v, `${path}/${k}`));
}

function handle(input: FuzzInput): FuzzAnswer {
  const { id } = input;
  try {
    const value = parseJsonText(input.text, 'fuzz');
    const scenario = input.kind === 'scenario' ? parseScenario(value, 'fuzz') : input.scenario!;
    const profile = input.kind === 'profile' ? parseProfile(value, 'fuzz') : loadProfile('tessera_shm');
    const out = runScenario({ scenario, profile, seed: id + 1, maxEvents: input.maxEvents });
    return {
      id,
      kind: 'ran',
      outcome: out.failure?.kind ?? 'ok',
      nonFinite: nonFinite(out.results),
      detail: out.failure ? `${out.failure.message}; replay: ${out.failure.replay}` : '',
    };
  } catch (err) {
    if (err instanceof InputError) return { id, kind: 'rejected', message: err.message };
    return { id, kind: 'crash', message: (err as Error)?.stack ?? String(err) };
  }
}

parentPort?.on('message', (input: FuzzInput) => parentPort!.postMessage(handle(input)));
