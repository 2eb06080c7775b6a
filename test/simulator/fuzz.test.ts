// The fuzz target for scenario and profile files: fast-check makes near-valid files (a
// bundled one with a few mutations, test/simulator/fuzz/inputs.ts), a worker thread reads
// and runs each one as the simulator's command would (fuzz/worker.ts), and a watchdog
// counts one that takes too long as a hang. Every input must be rejected with an InputError
// naming the field, or run to an end: no crash, no hang, no NaN in the results, no
// invariant violated. Brief in `npm test`; TESSERA_LONG=1 runs many more inputs, each run
// with the engine's full event budget. Replay a failure with the printed command.
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { Worker } from 'worker_threads';
import fc from 'fast-check';
import { bundledProfiles, bundledScenarios, PROFILE_DIR, SCENARIO_DIR } from '../../simulator/load';
import type { Scenario } from '../../simulator/types';
import { mutatedText } from './fuzz/inputs';
import type { FuzzAnswer, FuzzInput } from './fuzz/worker';

const LONG = process.env.TESSERA_LONG === '1';
const SEED = Number(process.env.TESSERA_SEED ?? 17_2026);
const PATH = process.env.TESSERA_PATH;
const SCENARIO_RUNS = Number(process.env.TESSERA_RUNS ?? (LONG ? 3000 : 150));
const PROFILE_RUNS = Math.ceil(SCENARIO_RUNS / 3);
/** Engine events a run may take (the engine stops a run past it with a clear error). */
const MAX_EVENTS = LONG ? 5_000_000 : 30_000;
/** A run that has not answered by then is a hang (generous: the machine is shared). */
const HANG_MS = LONG ? 300_000 : 60_000;

/** One worker thread at a time, restarted after a hang or a crash of the thread itself. */
class Runner {
  private worker: Worker | null = null;

  run(input: FuzzInput): Promise<FuzzAnswer | { id: number; kind: 'hang' }> {
    const worker = (this.worker ??= new Worker(path.join(__dirname, 'fuzz', 'worker.js'), {
      resourceLimits: { maxOldGenerationSizeMb: 2048 },
    }));
    return new Promise((resolve) => {
      const done = (answer: FuzzAnswer | { id: number; kind: 'hang' }) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(answer);
      };
      const restart = () => {
        void worker.terminate();
        this.worker = null;
      };
      const onMessage = (answer: FuzzAnswer) => done(answer);
      const onError = (err: Error) => {
        restart();
        done({ id: input.id, kind: 'crash', message: `worker died: ${err.stack ?? err.message}` });
      };
      const onExit = (code: number) => {
        this.worker = null;
        done({ id: input.id, kind: 'crash', message: `worker exited with code ${code}` });
      };
      const timer = setTimeout(() => {
        restart();
        done({ id: input.id, kind: 'hang' });
      }, HANG_MS);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage(input);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}

/** Counts by kind of what the target did with its inputs. */
class Tally {
  tried = 0;
  readonly rejected = new Map<string, number>();
  readonly ran = new Map<string, number>();
  crashes = 0;
  hangs = 0;

  add(answer: FuzzAnswer | { id: number; kind: 'hang' }): void {
    this.tried++;
    if (answer.kind === 'hang') this.hangs++;
    else if (answer.kind === 'crash') this.crashes++;
    else if (answer.kind === 'rejected') bump(this.rejected, errorKind(answer.message));
    else bump(this.ran, answer.outcome);
  }

  report(what: string): string {
    const list = (m: Map<string, number>) =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `        ${String(n).padStart(6)}  ${k}`)
        .join('\n');
    const rejected = [...this.rejected.values()].reduce((a, b) => a + b, 0);
    return [
      `    ${what}: ${this.tried} inputs tried, ${rejected} rejected, ${this.tried - rejected - this.crashes - this.hangs} ran, ${this.crashes} crashes, ${this.hangs} hangs`,
      `      ran, by outcome:\n${list(this.ran)}`,
      `      rejected, by error kind:\n${list(this.rejected)}`,
    ].join('\n');
  }
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** An error's kind: its message without the file, the field's indexes, numbers and quoted names. */
function errorKind(message: string): string {
  return message
    .replace(/^fuzz: (invalid \w+ at [^:]*: )?/, '')
    .replace(/\/\d+/g, '/N')
    .replace(/(\/N|\/body){4,}/g, '/…')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/(?<![A-Za-z]-?)-?\d+(\.\d+)?(e[+-]?\d+)?/g, 'N')
    .replace(/\(its (names|nodes): [^)]*\)/, '(…)')
    .replace(/\(peers: [^)]*\)/, '(…)')
    .replace(/not JSON \(.*$/, 'not JSON')
    .replace(/^((must|tag|value of tag) .*?) \(.*\)$/, '$1')
    .replace(/'[^']*'/g, "'…'")
    .slice(0, 110);
}

const readBase = (dir: string, name: string) => JSON.parse(fs.readFileSync(path.join(dir, `${name}.json`), 'utf8'));

/** A small script scenario using most steps, so mutations reach the interpreter's corners. */
const SCRIPT_BASE = {
  name: 'fuzz-script',
  description: 'a small script for the fuzz target',
  cpus: 2,
  jitter: 0.1,
  workload: {
    kind: 'script',
    peers: [
      {
        name: 'server',
        nodes: [{ name: 'svc', credentials: true }],
        program: [{ do: 'serve', max: 4, replyBytes: 8 }],
      },
      {
        name: 'client',
        threads: 2,
        nodes: [{ name: 'inbox' }],
        bootstrap: [{ node: 'server.svc', as: 'svc', rights: ['send', 'grant'] }],
        program: [
          { do: 'mint', from: 'inbox', as: 'back', rights: ['send'] },
          {
            do: 'repeat',
            times: 5,
            body: [
              { do: 'call', to: 'svc', bytes: 16 },
              { do: 'compute', ns: 500 },
            ],
          },
          { do: 'send', to: 'svc', bytes: 4, transfers: [{ handle: 'back' }], timeoutMs: 2 },
          { do: 'sleep', ns: 10_000 },
          { do: 'revoke', handle: 'back' },
        ],
        helpers: [[{ do: 'receive', timeoutMs: 1 }]],
      },
    ],
  },
  faults: [{ atNs: 30_000, peer: 'client', action: 'stop-receiving', forNs: 5000 }],
};

/** Small scenarios a mutated profile runs. */
const PROFILE_SCENARIOS: Scenario[] = [
  {
    name: 'fuzz-pool',
    description: 'a small RPC pool',
    workload: { kind: 'rpc-pool', clients: 3, serverThreads: 2, callsPerClient: 40, payloadBytes: 256 },
  },
  {
    name: 'fuzz-fanout',
    description: 'a small fan-out with background load',
    cpus: 3,
    background: { cpus: 1 },
    workload: { kind: 'fanout', subscribers: 4, messages: 60, payloadBytes: 64 },
  },
];

async function campaign(
  name: string,
  runs: number,
  arb: fc.Arbitrary<Omit<FuzzInput, 'id' | 'maxEvents'>>,
  tally: Tally,
): Promise<void> {
  const runner = new Runner();
  let id = 0;
  const failures: string[] = [];
  try {
    const details = await fc.check(
      fc.asyncProperty(arb, async (input) => {
        const answer = await runner.run({ ...input, id: id++, maxEvents: MAX_EVENTS });
        tally.add(answer);
        const bad =
          answer.kind === 'crash' || answer.kind === 'hang'
            ? `${answer.kind}${answer.kind === 'crash' ? `: ${answer.message}` : ''}`
            : answer.kind === 'ran' && (answer.outcome === 'invariant' || answer.nonFinite.length > 0)
              ? `${answer.outcome}: ${answer.detail} ${answer.nonFinite.join(' ')}`
              : null;
        if (bad) failures.push(`${bad}\n  input: ${input.text.slice(0, 2000)}`);
        return bad === null;
      }),
      { seed: SEED, numRuns: runs, endOnFailure: true, ...(PATH ? { path: PATH } : {}) },
    );
    if (details.failed) {
      const replay = `TESSERA_SEED=${details.seed} TESSERA_PATH="${details.counterexamplePath}" npx mocha dist/test/simulator/fuzz.test.js -g "${name}"`;
      assert.fail(`${failures[failures.length - 1] ?? details.errorInstance}\nreplay: ${replay}`);
    }
  } finally {
    await runner.close();
  }
}

describe('fuzz target: scenario and profile files', function () {
  this.timeout(LONG ? 6 * 3600_000 : 600_000);

  it('every mutated scenario file is rejected naming the field and bound, or runs to an end: no crash, hang, NaN or violated invariant', async () => {
    const bases = [...bundledScenarios().map((n) => readBase(SCENARIO_DIR(), n)), SCRIPT_BASE, SCRIPT_BASE];
    const tally = new Tally();
    await campaign(
      'scenario',
      SCENARIO_RUNS,
      mutatedText(bases).map((text) => ({ kind: 'scenario' as const, text })),
      tally,
    );
    console.log(`\n${tally.report(`scenario files (seed ${SEED}, max ${MAX_EVENTS} events a run)`)}`);
    assert.equal(tally.crashes + tally.hangs, 0);
    assert.ok(tally.rejected.size > 3, 'the inputs never reached more than three kinds of error');
    assert.ok((tally.ran.get('ok') ?? 0) > 0, 'no input ran to a clean end');
  });

  it('every mutated profile file is rejected naming the field and bound, or runs its scenario to an end: no crash, hang, NaN or violated invariant', async () => {
    const bases = bundledProfiles().map((n) => readBase(PROFILE_DIR(), n));
    const tally = new Tally();
    await campaign(
      'profile',
      PROFILE_RUNS,
      fc
        .tuple(mutatedText(bases), fc.constantFrom(...PROFILE_SCENARIOS))
        .map(([text, scenario]) => ({ kind: 'profile' as const, text, scenario })),
      tally,
    );
    console.log(`\n${tally.report(`profile files (seed ${SEED}, max ${MAX_EVENTS} events a run)`)}`);
    assert.equal(tally.crashes + tally.hangs, 0);
    assert.ok(tally.rejected.size > 2, 'the inputs never reached more than two kinds of error');
    assert.ok((tally.ran.get('ok') ?? 0) > 0, 'no input ran to a clean end');
  });
});
