// Setting up a run: attach the peers, create their nodes and give bootstrap handles
// (BUS-2, BUS-3) through the model, at time 0 and no cost; then make each peer's threads.
import type { Credentials, Operation } from '../../spec/types';
import type { PeerSpec, Step } from '../types';
import type { Simulation } from './engine';
import { ScenarioError } from './errors';
import { newThread, type PeerRt } from './records';

export function setupPeers(sim: Simulation, specs: PeerSpec[]): void {
  const byName = new Map<string, PeerRt>();
  specs.forEach((spec, index) => {
    if (byName.has(spec.name)) throw new ScenarioError('SETUP', `peer ${spec.name}`, 'two peers with the same name');
    const peer = attachPeer(sim, spec, index, byName);
    byName.set(spec.name, peer);
    sim.byModelPeer.set(peer.id, peer);
    sim.peers.push(peer);
    const programs: [Step[], boolean][] = [];
    for (let i = 0; i < peer.programThreads; i++) programs.push([spec.program, false]);
    for (const h of spec.helpers ?? []) programs.push([h, true]);
    programs.forEach(([program, helper], i) => {
      const t = newThread(
        sim.threads.length,
        `${spec.name}#${i}`,
        peer,
        helper,
        program,
        sim.timelineOn,
        sim.profile.spin.budget.ns,
      );
      sim.threads.push(t);
      peer.threads.push(t);
    });
  });
  for (const f of sim.faults) {
    if (!byName.has(f.peer)) throw new ScenarioError('SETUP', `fault at ${f.atNs} ns`, `no peer ${f.peer}`);
  }
}

/** Attach one peer with its bootstrap grants and create its nodes; its names bound in env. */
function attachPeer(sim: Simulation, spec: PeerSpec, index: number, byName: Map<string, PeerRt>): PeerRt {
  const bootstrap = (spec.bootstrap ?? []).map((g) => {
    const [peerName, nodeName] = g.node.split('.');
    const from = byName.get(peerName);
    const handle = from?.env.get(nodeName);
    if (!from || handle === undefined)
      throw new ScenarioError(
        'SETUP',
        `peer ${spec.name} bootstrap ${g.node}`,
        `no node ${g.node} among the peers listed before ${spec.name}`,
      );
    return {
      fromPeer: from.id,
      handle,
      ...(g.rights ? { rights: g.rights } : {}),
      ...(g.badge !== undefined ? { badge: g.badge } : {}),
    };
  });
  const credentials: Credentials = spec.credentials ?? { uid: 1000 + index, gid: 1000, pid: 100 + index };
  const attached = setupOp(sim, { op: 'attach', credentials, bootstrap }, `peer ${spec.name} attach`) as {
    peer: number;
    handles: number[];
  };
  const peer: PeerRt = {
    index,
    name: spec.name,
    id: attached.peer,
    credentials,
    env: new Map(),
    replyQueue: [],
    programThreads: spec.threads ?? 1,
    closed: false,
    stoppedUntilNs: 0,
    threads: [],
  };
  (spec.bootstrap ?? []).forEach((g, i) => peer.env.set(g.as, attached.handles[i]));
  for (const node of spec.nodes ?? []) {
    const made = setupOp(
      sim,
      { op: 'createNode', peer: peer.id, credentials: node.credentials === true },
      `peer ${spec.name} node ${node.name}`,
    ) as { handle: number };
    peer.env.set(node.name, made.handle);
  }
  return peer;
}

/** A setup operation the model must accept. */
function setupOp(sim: Simulation, op: Operation, where: string): unknown {
  const r = sim.door.apply(op, null);
  if ('pending' in r || !r.ok)
    throw new ScenarioError(
      'pending' in r ? 'SETUP' : r.error,
      `setup: ${where}`,
      `the model rejected ${op.op} with ${'pending' in r ? 'pending' : r.error}`,
    );
  return r.value;
}
