// Pinned outputs of the simulator: sha256 digests of the results (everything but the
// wall-clock performance figures), the trace and the failure report of a set of runs at
// fixed seeds: every bundled scenario on every bundled profile, plus runs that reach the
// platform's corners (time slices, background load, exact costs, full state checks) and
// the three ways a run can fail. A change to the engine that is meant to change nothing
// (a refactoring, a speed-up) must leave every digest as it is; one that is meant to
// change outputs updates the file and says so:
//   TESSERA_UPDATE_DIGESTS=1 npx mocha dist/test/simulator/digests.test.js
import { strict as assert } from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { BusEvent } from '../../model';
import { bundledProfiles, bundledScenarios, loadProfile, loadScenario } from '../../simulator/load';
import { runScenario, type RunRequest } from '../../simulator/run';
import type { Scenario } from '../../simulator/types';

const PINNED_FILE = path.join(__dirname, '..', '..', '..', 'test', 'simulator', 'output-digests.json');

/** sha256 over results (performance figures left out), trace lines and the failure report. */
export function outputDigest(req: RunRequest): string {
  const out = runScenario(req);
  const h = createHash('sha256');
  h.update(JSON.stringify({ ...out.results, performance: undefined }));
  h.update('\n');
  for (const line of out.trace ?? []) h.update(line + '\n');
  h.update(JSON.stringify(out.failure));
  return h.digest('hex');
}

function script(name: string, peers: Scenario['workload'] & { kind: 'script' }): Scenario {
  return { name, description: name, cpus: 2, workload: peers };
}

/** Drop the first dequeue event the monitors would see: a receive that "never happened". */
function dropFirstDequeue(): RunRequest['tamper'] {
  let dropped = false;
  return (events: BusEvent[]) => {
    if (dropped) return events;
    const i = events.findIndex((e) => e.type === 'dequeue');
    if (i < 0) return events;
    dropped = true;
    return events.filter((_, j) => j !== i);
  };
}

/** Every pinned run by name; each is built fresh (a tamper function keeps state). */
export function pinnedRuns(): Record<string, () => RunRequest> {
  const runs: Record<string, () => RunRequest> = {};
  for (const name of bundledScenarios())
    for (const transport of bundledProfiles())
      runs[`${name}/${transport}`] = () => ({
        scenario: loadScenario(name),
        profile: loadProfile(transport),
        seed: 7,
        trace: true,
        timeline: true,
        scenarioRef: name,
      });
  runs['rpc-pool/tessera_shm/3-cpus-background'] = () => ({
    scenario: { ...loadScenario('rpc-pool'), cpus: 3, background: { cpus: 1.4, periodNs: 2e6 } },
    profile: loadProfile('tessera_shm'),
    seed: '0xbeef',
    timeline: true,
  });
  runs['fanout/af_unix/1-cpu-background'] = () => ({
    scenario: { ...loadScenario('fanout'), cpus: 1, background: { cpus: 0.5 } },
    profile: loadProfile('af_unix'),
    seed: 3,
  });
  runs['pingpong/binder_like/exact-costs'] = () => ({
    scenario: { ...loadScenario('pingpong'), jitter: 0 },
    profile: loadProfile('binder_like'),
    seed: 1,
    trace: true,
  });
  runs['introduction-chain/tessera_kernel/state-check-every-step'] = () => ({
    scenario: loadScenario('introduction-chain'),
    profile: loadProfile('tessera_kernel'),
    seed: 5,
    stateCheckEvery: 1,
  });
  runs['failure/invariant'] = () => ({
    scenario: loadScenario('rpc-pool'),
    profile: loadProfile('tessera_shm'),
    seed: 11,
    trace: true,
    scenarioRef: 'rpc-pool',
    tamper: dropFirstDequeue(),
  });
  runs['failure/invariant-event'] = () => {
    let done = false;
    return {
      scenario: {
        ...loadScenario('pingpong'),
        workload: { kind: 'pingpong', mode: 'call', rounds: 20, payloadBytes: 64 },
      },
      profile: loadProfile('af_unix'),
      seed: 2,
      trace: true,
      // The stream delivers one message twice.
      tamper: (events: BusEvent[], step: number) => {
        if (step < 20 || done || !events.some((e) => e.type === 'dequeue')) return events;
        done = true;
        return [...events, ...events.filter((e) => e.type === 'dequeue')];
      },
    };
  };
  runs['failure/scenario'] = () => ({
    scenario: script('send-without-the-right', {
      kind: 'script',
      peers: [
        { name: 'server', nodes: [{ name: 'svc' }], program: [{ do: 'serve', max: 1 }] },
        {
          name: 'client',
          bootstrap: [{ node: 'server.svc', as: 'svc', rights: ['grant'] }],
          program: [
            { do: 'compute', ns: 500 },
            { do: 'send', to: 'svc', bytes: 8 },
          ],
        },
      ],
    }),
    profile: loadProfile('af_unix'),
    seed: 2,
    trace: true,
  });
  runs['failure/liveness'] = () => ({
    scenario: script('call-each-other', {
      kind: 'script',
      peers: [
        {
          name: 'a',
          nodes: [{ name: 'inbox' }],
          program: [
            { do: 'receive', bind: ['b'] },
            { do: 'call', to: 'b', bytes: 8 },
          ],
        },
        {
          name: 'b',
          nodes: [{ name: 'inbox' }],
          bootstrap: [{ node: 'a.inbox', as: 'a' }],
          program: [
            { do: 'send', to: 'a', bytes: 0, transfers: [{ handle: 'inbox' }] },
            { do: 'call', to: 'a', bytes: 8 },
          ],
        },
      ],
    }),
    profile: loadProfile('tessera_shm'),
    seed: 2,
    trace: true,
  });
  return runs;
}

describe('simulator outputs pinned by digest', function () {
  this.timeout(300_000);

  it('every pinned run (each bundled scenario on each profile, the platform corners, the three failures) gives the pinned results, trace and failure byte for byte [TIME-1, TIME-2]', () => {
    const digests: Record<string, string> = {};
    for (const [name, request] of Object.entries(pinnedRuns())) digests[name] = outputDigest(request());
    if (process.env.TESSERA_UPDATE_DIGESTS === '1') {
      fs.writeFileSync(PINNED_FILE, JSON.stringify(digests, null, 2) + '\n');
      return;
    }
    const pinned = JSON.parse(fs.readFileSync(PINNED_FILE, 'utf8')) as Record<string, string>;
    assert.deepEqual(Object.keys(digests).sort(), Object.keys(pinned).sort(), 'the set of pinned runs changed');
    const changed = Object.keys(pinned).filter((k) => pinned[k] !== digests[k]);
    assert.deepEqual(changed, [], `outputs changed for: ${changed.join(', ')}`);
  });
});
