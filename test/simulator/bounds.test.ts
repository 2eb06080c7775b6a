// Bounds on everything a scenario, profile or sweep file can ask of the simulator, checked
// before anything runs: each bad input is an InputError naming the field (a JSON pointer)
// and the bound; inputs at the bounds run to an end.
import { strict as assert } from 'assert';
import { InputError, loadProfile, loadScenario, parseProfile, parseScenario, parseSweep } from '../../simulator/load';
import { runScenario } from '../../simulator/run';
import type { Profile, Scenario } from '../../simulator/types';

const pingpong = (patch: (s: any) => void = () => undefined): Scenario => {
  const s: any = structuredClone(loadScenario('pingpong'));
  s.workload.rounds = 10;
  patch(s);
  return s;
};

/** A two-peer script: a server serving and a client running `program`. */
const script = (program: unknown[], patch: (s: any) => void = () => undefined): Scenario => {
  const s: any = {
    name: 'script',
    description: 'a client and a server',
    workload: {
      kind: 'script',
      peers: [
        { name: 'server', nodes: [{ name: 'svc' }], program: [{ do: 'serve' }] },
        { name: 'client', bootstrap: [{ node: 'server.svc', as: 'svc' }], program },
      ],
    },
  };
  patch(s);
  return s;
};

function rejects(what: () => unknown, field: string, bound: RegExp): void {
  assert.throws(what, (err: Error) => {
    assert.ok(err instanceof InputError, `${err.name}: ${err.message}`);
    assert.ok(err.message.includes(`at ${field}:`), `expected the field ${field}: ${err.message}`);
    assert.match(err.message, bound);
    return true;
  });
}

/** Repeats nested `depth` deep around one compute step. */
function nested(depth: number): unknown {
  let step: unknown = { do: 'compute', ns: 1 };
  for (let i = 0; i < depth; i++) step = { do: 'repeat', times: 1, body: [step] };
  return step;
}

describe('simulator input bounds', () => {
  it('a scenario asking for endless work, huge machines or impossible payloads is rejected before it runs, naming the field and the bound [SEND-2]', () => {
    const scenario = (s: Scenario) => () => runScenario({ scenario: s, profile: loadProfile('af_unix') });
    rejects(
      scenario(script([{ do: 'repeat', times: 2 ** 53 - 1, body: [] }])),
      '/workload/peers/1/program/0/times',
      /<= 10000000/,
    );
    rejects(scenario(pingpong((s) => (s.workload.rounds = 1e9))), '/workload/rounds', /<= 10000000/);
    rejects(scenario(pingpong((s) => (s.cpus = 1e8))), '/cpus', /<= 1024/);
    rejects(
      scenario({
        ...loadScenario('rpc-pool'),
        workload: { ...(loadScenario('rpc-pool').workload as any), serverThreads: 1e7 },
      }),
      '/workload/serverThreads',
      /<= 1024/,
    );
    rejects(scenario(pingpong((s) => (s.workload.payloadBytes = 1e9))), '/workload/payloadBytes', /<= 16777216/);
    rejects(
      scenario(pingpong((s) => (s.workload.payloadBytes = 65537))),
      '/workload/payloadBytes',
      /maxPayloadBytes \(65536/,
    );
    rejects(
      scenario(script([{ do: 'send', to: 'svc', bytes: 300 }], (s) => (s.limits = { maxPayloadBytes: 256 }))),
      '/workload/peers/1/program/0/bytes',
      /more than limits.maxPayloadBytes \(256/,
    );
    rejects(scenario(pingpong((s) => (s.jitter = 1000))), '/jitter', /<= 1/);
    rejects(
      scenario(script([nested(17)])),
      '/workload/peers/1/program/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0',
      /nest more than 16 deep/,
    );
    rejects(
      scenario(script([nested(5000)])),
      '/workload/peers/1/program/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body/0/body',
      /deeper than 64 levels/,
    );
    rejects(
      scenario(
        script([
          { do: 'repeat', times: 3000, body: [{ do: 'repeat', times: 3000, body: [{ do: 'compute', ns: 1 }] }] },
        ]),
      ),
      '/workload/peers/1/program/0',
      /more than 5000000 steps/,
    );
    rejects(
      scenario(script([{ do: 'repeat', times: 1e6, body: [{ do: 'sleep', ns: 1e10 }] }])),
      '/workload',
      /more than 1000000000000000 ns of simulated time/,
    );
    rejects(
      scenario(pingpong((s) => (s.background = { cpus: 3 }))),
      '/background/cpus',
      /at most the scenario's cpus \(2\)/,
    );
    rejects(
      scenario(
        pingpong((s) => {
          s.background = { cpus: 1, periodNs: 10_000 };
          s.workload.thinkNs = 1e12;
          s.workload.rounds = 1000;
        }),
      ),
      '/background/periodNs',
      /more than 10000000/,
    );
    rejects(
      scenario({
        ...loadScenario('fanout'),
        workload: { kind: 'fanout', subscribers: 100, messages: 1, payloadBytes: 1 },
      }),
      '/workload',
      /101 peers, more than limits.maxPeers \(80\)/,
    );
    rejects(
      scenario(
        pingpong(
          (s) => (s.faults = Array.from({ length: 1025 }, () => ({ atNs: 1, peer: 'client', action: 'close' }))),
        ),
      ),
      '/faults',
      /must NOT have more than 1024 items/,
    );
  });

  it('a misspelled handle, node or peer name is found before the run, with the names there are [BUS-3]', () => {
    const profile = loadProfile('af_unix');
    const run = (s: Scenario) => () => runScenario({ scenario: s, profile });
    rejects(
      run(script([{ do: 'call', to: 'scv', bytes: 1 }])),
      '/workload/peers/1/program/0/to',
      /no handle "scv" in peer client \(its names: svc\)/,
    );
    rejects(
      run(
        script([
          { do: 'repeat', times: 2, body: [{ do: 'send', to: 'svc', bytes: 1, transfers: [{ handle: 'inbx' }] }] },
        ]),
      ),
      '/workload/peers/1/program/0/body/0/transfers/0/handle',
      /no handle "inbx"/,
    );
    rejects(
      run(script([], (s) => (s.workload.peers[1].bootstrap[0].node = 'server.scv'))),
      '/workload/peers/1/bootstrap/0/node',
      /no node "scv" in peer server \(its nodes: svc\)/,
    );
    rejects(
      run(script([], (s) => (s.workload.peers[1].bootstrap[0].node = 'sever.svc'))),
      '/workload/peers/1/bootstrap/0/node',
      /no peer "sever" listed before client/,
    );
    rejects(
      run(script([], (s) => (s.faults = [{ atNs: 5, peer: 'clent', action: 'close' }]))),
      '/faults/0/peer',
      /no peer "clent" \(peers: server, client\)/,
    );
    rejects(
      run(script([], (s) => (s.faults = [{ atNs: 5, peer: 'server', action: 'revoke', handle: 'scv' }]))),
      '/faults/0/handle',
      /no handle "scv" in peer server/,
    );
    rejects(
      run(script([], (s) => (s.faults = [{ atNs: 5, peer: 'server', action: 'revoke' }]))),
      '/faults/0/handle',
      /revoke needs a handle/,
    );
    // Names a program binds (receive bind, mint as) count, wherever they are bound.
    const bound = script([
      { do: 'receive', bind: ['given'] },
      { do: 'mint', from: 'svc', as: 'mine', rights: ['send'] },
      { do: 'send', to: 'given', bytes: 1, transfers: [{ handle: 'mine' }], expect: ['BAD_HANDLE', 'NO_RIGHTS'] },
    ]);
    assert.equal(parseScenario(bound).name, 'script');
  });

  it('a profile with negative, huge or progress-stopping costs is rejected naming the field and the bound', () => {
    const profile = (patch: (p: any) => void): Profile => {
      const p: any = structuredClone(loadProfile('tessera_shm'));
      patch(p);
      return p;
    };
    rejects(() => parseProfile(profile((p) => (p.copyPerKiB.ns = -5))), '/copyPerKiB/ns', />= 0/);
    rejects(() => parseProfile(profile((p) => (p.wake.latency.ns = 1e300))), '/wake/latency/ns', /<= 10000000000/);
    rejects(() => parseProfile(profile((p) => (p.copies = 1e9))), '/copies', /<= 16/);
    rejects(
      () => parseProfile(profile((p) => (p.scheduler.slice.ns = 500))),
      '/scheduler/slice/ns',
      /at least 10000 ns/,
    );
    rejects(
      () =>
        parseProfile(
          profile((p) => {
            p.scheduler.slice.ns = 20_000;
            p.scheduler.contextSwitch.ns = 9000;
          }),
        ),
      '/scheduler/slice/ns',
      /3 x \(contextSwitch \+ migration\) = 30000 ns/,
    );
    rejects(() => parseProfile(profile((p) => (p.spin.backoff.divisor = 0.5))), '/spin/backoff/divisor', />= 1/);
  });

  it('a sweep with no axis, a bad seed, too many runs or an unknown metric is rejected naming the field and the bound', () => {
    const sweep = {
      name: 's',
      scenario: 'pingpong',
      transports: ['af_unix'],
      axes: [{ field: 'rounds', values: [1, 2] }],
    };
    assert.equal(parseSweep(sweep).name, 's');
    rejects(() => parseSweep({ ...sweep, axes: [] }), '/axes', /must NOT have fewer than 1 items/);
    rejects(() => parseSweep({ ...sweep, seed: '-1' }), '/seed', /must match pattern/);
    rejects(() => parseSweep({ ...sweep, seed: '18446744073709551616' }), '/seed', /below 2\^64/);
    const many = Array.from({ length: 64 }, (_, i) => i + 1);
    rejects(
      () =>
        parseSweep({
          ...sweep,
          transports: ['af_unix', 'tessera_shm'],
          axes: [
            { field: 'rounds', values: many },
            { field: 'payloadBytes', values: many },
          ],
        }),
      '/axes',
      /8192 runs \(transports x axis values x seeds\), more than 4096/,
    );
    rejects(
      () => parseSweep({ ...sweep, axes: [{ field: 'rounds', values: many }], seeds: 65 }),
      '/axes',
      /4160 runs \(transports x axis values x seeds\), more than 4096/,
    );
    rejects(() => parseSweep({ ...sweep, seeds: 101 }), '/seeds', /must be <= 100/);
    rejects(
      () => parseSweep({ ...sweep, metrics: ['p99'] }),
      '/metrics/0',
      /no metric "p99"; the metrics: messagesPerSec/,
    );
    rejects(
      () =>
        parseSweep({
          ...sweep,
          axes: [
            { field: 'rounds', values: [1] },
            { field: 'rounds', values: [2] },
          ],
        }),
      '/axes/1/field',
      /a second axis over "rounds"/,
    );
  });

  it('scenarios at the bounds run to an end with finite results [TIME-1]', () => {
    const wide = pingpong((s) => {
      s.cpus = 1024;
      s.jitter = 1;
      s.workload.payloadBytes = 65536;
    });
    const big = runScenario({ scenario: wide, profile: loadProfile('tessera_shm'), seed: 3 });
    assert.equal(big.failure, null, big.failure?.message);
    const repeats = runScenario({
      scenario: script([{ do: 'repeat', times: 4e6, body: [] }, nested(16)]),
      profile: loadProfile('af_unix'),
    });
    assert.equal(repeats.failure, null, repeats.failure?.message);
    const finite = (v: unknown): boolean =>
      typeof v === 'number'
        ? Number.isFinite(v)
        : typeof v !== 'object' || v === null || Object.values(v).every(finite);
    assert.ok(finite(big.results) && finite(repeats.results));
  });
});
