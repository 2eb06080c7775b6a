// What the schemas cannot say about a scenario, profile or sweep, checked before anything
// runs: how deep a file nests, how much work a scenario asks for in all (steps, threads,
// peers, background periods), payloads against the scenario's own maxPayloadBytes (SEND-2),
// names (every handle a program uses is one its peer can have; bootstrap grants and faults
// name real peers and nodes), and profile rules that keep a run making progress. Together
// with the schema bounds, a scenario that passes runs to an end: it cannot hang, crash, run
// out of memory or print NaN. Each problem names the field (a JSON pointer) and the bound.
import { resolveLimits } from '../spec/registry/limits';
import { expandWorkload } from './workloads';
import { findMetric, metricIds } from './metrics';
import type { PeerSpec, Profile, Scenario, Step, Sweep } from './types';

/** The bounds the static checks hold (the schemas hold the per-field ones). */
export const SIM_BOUNDS = {
  /** Size of a scenario, profile or sweep file. */
  fileBytes: 16 * 1024 * 1024,
  /** Nesting of objects and arrays in any input. */
  jsonDepth: 64,
  /** Nesting of repeat steps. */
  repeatDepth: 16,
  /** Steps all threads execute in all (each repetition of a repeat counts, a multicast counts per destination). */
  steps: 5_000_000,
  /** Threads of all peers. */
  threads: 8192,
  /** Background periods x CPUs over the time the programs sleep and compute at least. */
  backgroundPeriods: 10_000_000,
  /** Distinct payload sizes of a scenario, added up (each is made once and kept), bytes. */
  distinctPayloadBytes: 256 * 1024 * 1024,
  /** Runs of a sweep (transports x the values of every axis x seeds). */
  sweepPoints: 4096,
  /** A time slice (when there is one) is at least this long, ns. */
  minSliceNs: 10_000,
  /**
   * Simulated time, ns (10^15: 11.6 days): what one thread sleeps and computes in all is
   * checked against it before the run, and the run stops there (the model's clock and every
   * "forever" deadline stay far beyond it).
   */
  simulatedNs: 1e15,
} as const;

/** A problem found: where (JSON pointer) and what. */
export interface Problem {
  path: string;
  message: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** The first place where `value` nests deeper than `max` (objects and arrays), walked without recursion. */
export function tooDeep(value: unknown, max: number = SIM_BOUNDS.jsonDepth): Problem | null {
  const stack: [unknown, number, string][] = [[value, 1, '']];
  while (stack.length > 0) {
    const [v, depth, path] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return { path: path || '/', message: `nests deeper than ${max} levels` };
    for (const [k, x] of Object.entries(v))
      if (typeof x === 'object' && x !== null) stack.push([x, depth + 1, `${path}/${k}`]);
  }
  return null;
}

/** Static checks of a scenario that passed its schema. */
export function scenarioProblem(s: Scenario): Problem | null {
  const limits = resolveLimits(s.limits ?? {});
  const cpus = s.cpus ?? 2;
  if (s.background && s.background.cpus > cpus)
    return { path: '/background/cpus', message: `must be at most the scenario's cpus (${cpus})` };
  const script = s.workload.kind === 'script';
  const specs = expandWorkload(s.workload);
  // Problems in peers a generator made are problems of the generator's fields.
  const at = (path: string) => {
    if (script) return path;
    return /\/(bytes|replyBytes)$/.test(path) && 'payloadBytes' in s.workload ? '/workload/payloadBytes' : '/workload';
  };
  if (specs.length > limits.maxPeers)
    return {
      path: at('/workload/peers'),
      message: `${specs.length} peers, more than limits.maxPeers (${limits.maxPeers})`,
    };
  let threads = 0;
  for (const p of specs) threads += (p.threads ?? 1) + (p.helpers?.length ?? 0);
  if (threads > SIM_BOUNDS.threads)
    return { path: at('/workload/peers'), message: `${threads} threads, more than ${SIM_BOUNDS.threads}` };
  const programs = new ProgramWalk(limits.maxPayloadBytes);
  for (let i = 0; i < specs.length; i++) {
    const found = programs.peer(specs[i], `/workload/peers/${i}`);
    if (found) return { ...found, path: at(found.path) };
  }
  if (programs.distinctPayloadBytes > SIM_BOUNDS.distinctPayloadBytes)
    return {
      path: at('/workload/peers'),
      message: `distinct payload sizes add up to ${programs.distinctPayloadBytes} bytes, more than ${SIM_BOUNDS.distinctPayloadBytes}`,
    };
  if (programs.steps > SIM_BOUNDS.steps)
    return { path: '/workload', message: `${programs.steps} steps to execute in all, more than ${SIM_BOUNDS.steps}` };
  if (programs.longestThreadNs > SIM_BOUNDS.simulatedNs)
    return {
      path: '/workload',
      message: `a thread sleeps and computes ${programs.longestThreadNs} ns, more than ${SIM_BOUNDS.simulatedNs} ns of simulated time`,
    };
  const named = peerNames(specs, script);
  if (named) return named;
  const faulty = faultProblem(s, specs);
  if (faulty) return faulty;
  if (s.background && s.background.cpus > 0) {
    const periodNs = s.background.periodNs ?? 4e6;
    const lastFaultNs = Math.max(0, ...(s.faults ?? []).map((f) => f.atNs + (f.forNs ?? 0)));
    const periods = (Math.max(programs.longestThreadNs, lastFaultNs) / periodNs) * cpus;
    if (periods > SIM_BOUNDS.backgroundPeriods)
      return {
        path: '/background/periodNs',
        message: `${Math.round(periods)} periods x CPUs over the scenario's sleeps, more than ${SIM_BOUNDS.backgroundPeriods}`,
      };
  }
  return null;
}

/** Steps, repeat depth, payload sizes and time of every program, walked once. */
class ProgramWalk {
  steps = 0;
  /** The most time one thread sleeps and computes, ns (a lower bound of the run's length). */
  longestThreadNs = 0;
  private readonly sizes = new Set<number>();
  /** The distinct payload sizes, added up. */
  distinctPayloadBytes = 0;

  constructor(private readonly maxPayloadBytes: number) {}

  peer(p: PeerSpec, path: string): Problem | null {
    const main = this.program(p.program, `${path}/program`, 0);
    if (typeof main !== 'number') return main;
    this.steps += main * (p.threads ?? 1);
    const helpers = p.helpers ?? [];
    for (let i = 0; i < helpers.length; i++) {
      const n = this.program(helpers[i], `${path}/helpers/${i}`, 0);
      if (typeof n !== 'number') return n;
      this.steps += n;
    }
    return null;
  }

  /** Steps one run of `steps` executes (and the time it sleeps and computes), or the first problem. */
  private program(steps: Step[], path: string, depth: number): number | Problem {
    this.timeNs = 0;
    return this.list(steps, path, depth, 1);
  }

  private timeNs = 0;

  private list(steps: Step[], path: string, depth: number, times: number): number | Problem {
    if (steps.length > 10_000) return { path, message: `${steps.length} steps, more than 10000` };
    let n = 0;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const here = `${path}/${i}`;
      if (step.do === 'repeat') {
        if (depth + 1 > SIM_BOUNDS.repeatDepth)
          return { path: here, message: `repeats nest more than ${SIM_BOUNDS.repeatDepth} deep` };
        const inner = this.list(step.body, `${here}/body`, depth + 1, times * step.times);
        if (typeof inner !== 'number') return inner;
        n += step.times * (1 + inner);
      } else n += step.do === 'multicast' ? step.to.length : 1;
      if (n > SIM_BOUNDS.steps)
        return { path: here, message: `more than ${SIM_BOUNDS.steps} steps to execute in one thread` };
      const bytes = 'bytes' in step ? step.bytes : step.do === 'serve' ? (step.replyBytes ?? 0) : 0;
      if (!this.sizes.has(bytes)) {
        this.sizes.add(bytes);
        this.distinctPayloadBytes += bytes;
      }
      if (bytes > this.maxPayloadBytes)
        return {
          path: `${here}/${'bytes' in step ? 'bytes' : 'replyBytes'}`,
          message: `${bytes} bytes, more than limits.maxPayloadBytes (${this.maxPayloadBytes}, SEND-2)`,
        };
      if (step.do === 'sleep' || step.do === 'compute') {
        this.timeNs += step.ns * times;
        this.longestThreadNs = Math.max(this.longestThreadNs, this.timeNs);
      }
    }
    return n;
  }
}

/** The names a peer's programs use, each one a name the peer can have; bootstrap grants from earlier peers' nodes. */
function peerNames(specs: PeerSpec[], script: boolean): Problem | null {
  const nodesOf = new Map<string, string[]>();
  for (let i = 0; i < specs.length; i++) {
    const p = specs[i];
    const path = script ? `/workload/peers/${i}` : '/workload';
    if (nodesOf.has(p.name)) return { path: script ? `${path}/name` : path, message: `two peers named "${p.name}"` };
    const grants = p.bootstrap ?? [];
    for (let g = 0; g < grants.length; g++) {
      const [peerName, nodeName] = grants[g].node.split('.');
      const nodes = nodesOf.get(peerName);
      if (!nodes || !nodes.includes(nodeName))
        return {
          path: script ? `${path}/bootstrap/${g}/node` : path,
          message: nodes
            ? `no node "${nodeName}" in peer ${peerName} (its nodes: ${nodes.join(', ') || 'none'})`
            : `no peer "${peerName}" listed before ${p.name}`,
        };
    }
    nodesOf.set(
      p.name,
      (p.nodes ?? []).map((n) => n.name),
    );
    const known = new Set<string>([...(p.nodes ?? []).map((n) => n.name), ...grants.map((g) => g.as)]);
    const programs: [Step[], string][] = [[p.program, `${path}/program`]];
    (p.helpers ?? []).forEach((h, k) => programs.push([h, `${path}/helpers/${k}`]));
    for (const [steps] of programs) collectBound(steps, known);
    for (const [steps, where] of programs) {
      const found = unknownName(steps, script ? where : path, known, p.name);
      if (found) return found;
    }
  }
  return null;
}

/** Names a program binds: received handles (receive bind) and minted ones (mint as). */
function collectBound(steps: Step[], into: Set<string>): void {
  for (const s of steps) {
    if (s.do === 'repeat') collectBound(s.body, into);
    else if (s.do === 'receive') for (const b of s.bind ?? []) into.add(b);
    else if (s.do === 'mint') into.add(s.as);
  }
}

/** The first use of a name the peer never has (or a malformed one). */
function unknownName(steps: Step[], path: string, known: Set<string>, peer: string): Problem | null {
  const check = (name: string, where: string): Problem | null => {
    if (typeof name !== 'string' || !NAME.test(name) || name.length > 64)
      return { path: where, message: `${JSON.stringify(name)} is not a name (${NAME.source}, at most 64 characters)` };
    if (known.has(name)) return null;
    const names = [...known].sort();
    return { path: where, message: `no handle "${name}" in peer ${peer} (its names: ${names.join(', ') || 'none'})` };
  };
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    const here = `${path}/${i}`;
    let found: Problem | null = null;
    switch (s.do) {
      case 'repeat':
        found = unknownName(s.body, `${here}/body`, known, peer);
        break;
      case 'call':
      case 'send':
        found = check(s.to, `${here}/to`);
        break;
      case 'multicast':
        for (let k = 0; k < s.to.length && !found; k++) found = check(s.to[k], `${here}/to/${k}`);
        break;
      case 'mint':
        found = check(s.from, `${here}/from`);
        break;
      case 'release':
      case 'revoke':
      case 'destroyNode':
        found = check(s.handle, `${here}/handle`);
        break;
      case 'serve':
        if (s.answerTo !== undefined) found = check(s.answerTo, `${here}/answerTo`);
        break;
      case 'receive':
        for (let k = 0; k < (s.bind ?? []).length && !found; k++) {
          const b = s.bind![k];
          if (!NAME.test(b) || b.length > 64)
            found = { path: `${here}/bind/${k}`, message: `${JSON.stringify(b)} is not a name` };
        }
        break;
    }
    if (!found && 'transfers' in s)
      for (let k = 0; k < (s.transfers ?? []).length && !found; k++)
        found = check(s.transfers![k].handle, `${here}/transfers/${k}/handle`);
    if (found) return found;
  }
  return null;
}

/** Faults name a peer of the scenario and, where the action needs one, a handle that peer has. */
function faultProblem(s: Scenario, specs: PeerSpec[]): Problem | null {
  const faults = s.faults ?? [];
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i];
    const peer = specs.find((p) => p.name === f.peer);
    if (!peer)
      return {
        path: `/faults/${i}/peer`,
        message: `no peer "${f.peer}" (peers: ${specs.map((p) => p.name).join(', ')})`,
      };
    if (f.action === 'close' || f.action === 'stop-receiving') continue;
    if (f.handle === undefined) return { path: `/faults/${i}/handle`, message: `${f.action} needs a handle` };
    const known = new Set<string>([
      ...(peer.nodes ?? []).map((n) => n.name),
      ...(peer.bootstrap ?? []).map((g) => g.as),
    ]);
    collectBound(peer.program, known);
    for (const h of peer.helpers ?? []) collectBound(h, known);
    if (!known.has(f.handle))
      return {
        path: `/faults/${i}/handle`,
        message: `no handle "${f.handle}" in peer ${f.peer} (its names: ${[...known].sort().join(', ') || 'none'})`,
      };
  }
  return null;
}

/** Static checks of a profile that passed its schema. */
export function profileProblem(p: Profile): Problem | null {
  const slice = p.scheduler.slice?.ns ?? 0;
  if (slice > 0) {
    if (slice < SIM_BOUNDS.minSliceNs)
      return {
        path: '/scheduler/slice/ns',
        message: `a slice must be 0 (none) or at least ${SIM_BOUNDS.minSliceNs} ns`,
      };
    // A thread given a CPU must reach its next operation within its slice, jitter included (at
    // most e times a cost), or threads could take the CPU from each other forever.
    const switchNs = 3 * (p.scheduler.contextSwitch.ns + p.scheduler.migration.ns);
    if (slice < switchNs)
      return {
        path: '/scheduler/slice/ns',
        message: `a slice must be at least 3 x (contextSwitch + migration) = ${switchNs} ns`,
      };
  }
  return null;
}

/** Static checks of a sweep that passed its schema. */
export function sweepProblem(s: Sweep): Problem | null {
  if (s.seed !== undefined && BigInt(s.seed) >= 1n << 64n) return { path: '/seed', message: 'must be below 2^64' };
  const fields = new Set<string>();
  let points = s.transports.length;
  for (let i = 0; i < s.axes.length; i++) {
    if (fields.has(s.axes[i].field))
      return { path: `/axes/${i}/field`, message: `a second axis over "${s.axes[i].field}"` };
    fields.add(s.axes[i].field);
    points *= s.axes[i].values.length;
  }
  points *= s.seeds ?? 1;
  if (points > SIM_BOUNDS.sweepPoints)
    return {
      path: '/axes',
      message: `${points} runs (transports x axis values x seeds), more than ${SIM_BOUNDS.sweepPoints}`,
    };
  const metrics = s.metrics ?? [];
  for (let i = 0; i < metrics.length; i++)
    if (!findMetric(metrics[i]))
      return {
        path: `/metrics/${i}`,
        message: `no metric ${JSON.stringify(metrics[i])}; the metrics: ${metricIds().join(', ')}`,
      };
  return null;
}
