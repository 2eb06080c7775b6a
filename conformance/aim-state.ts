// The state reading the aimed commands share (conformance/aims.ts): which peers are open, which
// handles a peer can send through or reply with, the root of a node, a receive that reaches an
// entry, and the run's memory of the corners it has already turned.
import type { Operation } from '../spec/types';
import type { BusState, HandleRec, PendingRec } from '../model';
import { lookup } from '../model/rules';
import type { Capabilities, Command } from './concretizer';

export const at = <T>(xs: readonly T[], n: number): T => xs[n % xs.length];

/** Deadlines spread over the next few ticks, where the deadline aim and the random ticks meet them (TIME-1). */
export const DEADLINES_MS = [1, 2, 3, 5, 8, 13, 40];

export class AimState {
  /** Corners this run has already turned: the next command aimed there takes another way first. */
  protected readonly turned = new Set<string>();

  /** Whether to turn `corner` now: always the first time, then when `otherwise` says so. */
  protected first(corner: string, otherwise: boolean): boolean {
    if (this.turned.has(corner)) return otherwise;
    this.turned.add(corner);
    return true;
  }

  constructor(
    protected readonly s: () => BusState,
    protected readonly caps: Capabilities,
  ) {}

  protected get st(): BusState {
    return this.s();
  }

  protected open(): number[] {
    return Object.values(this.st.peers)
      .filter((p) => p.status === 'open')
      .map((p) => p.id);
  }

  protected handle(peer: number, name: number): HandleRec | undefined {
    return lookup(this.st, peer, name);
  }

  /** Names of `peer`'s live node handles with the send right, to live nodes. */
  protected sendable(peer: number): number[] {
    const p = this.st.peers[peer];
    return Object.entries(p.table)
      .filter(([, id]) => {
        const h = this.st.handles[id];
        return h.kind === 'node' && h.status === 'live' && h.rights.includes('send');
      })
      .map(([n]) => Number(n));
  }

  protected replyNames(peer: number): number[] {
    const p = this.st.peers[peer];
    return Object.entries(p.table)
      .filter(([, id]) => this.st.handles[id].kind === 'reply')
      .map(([n]) => Number(n));
  }

  /** The owner's name for a node (its root), or null once the root is gone. */
  protected rootOf(node: number): { peer: number; handle: number } | null {
    const n = this.st.nodes[node];
    const root = n?.root === null || n === undefined ? undefined : this.st.handles[n.root];
    if (!root || root.name === null || this.st.peers[n.owner].status !== 'open') return null;
    return { peer: n.owner, handle: root.name };
  }

  /** TIME-4: a deadline from the spread with a virtual clock, else no limit (or 0 without the feature). */
  protected wait(c: Command, feature: string): { timeoutMs?: number } {
    if (!this.caps.features.has(feature)) return { timeoutMs: 0 };
    if (!this.caps.features.has('virtual-clock') || c.timeoutMs < 0) return {};
    return { timeoutMs: at(DEADLINES_MS, c.size + c.pick) };
  }

  protected full(): string {
    return Buffer.alloc(this.st.limits.maxPayloadBytes, 0x61).toString('base64');
  }

  /** A receive at `peer` that takes everything up to the first entry `want` picks (RECV-1). */
  protected receiveUpTo(peer: number, want: (e: BusState['peers'][number]['queue'][number]) => boolean): Operation {
    const i = this.st.peers[peer].queue.findIndex(want);
    return { op: 'receive', peer, max: Math.max(1, i + 1), timeoutMs: 0 };
  }

  protected openPending(kind: PendingRec['kind']): PendingRec[] {
    return this.st.pending.filter((p) => p.kind === kind && this.st.peers[p.peer].status === 'open');
  }

  /**
   * A server with nowhere to delegate to gets somewhere (SEND-4): it takes a node handle waiting in
   * its queue, or another peer sends it a handle to that peer's own node.
   */
  protected introduce(server: number): Operation | null {
    const s = this.st;
    const carriesNode = (e: { handles: number[] }) => e.handles.some((id) => s.handles[id]?.kind === 'node');
    if (s.peers[server].queue.some(carriesNode)) return this.receiveUpTo(server, carriesNode);
    for (const q of this.open()) {
      if (q === server) continue;
      const to = this.sendable(q).find((n) => s.nodes[this.handle(q, n)!.node]?.owner === server);
      const own = this.sendable(q).find((n) => {
        const h = this.handle(q, n)!;
        return s.nodes[h.node]?.owner === q && s.nodes[h.node]?.acceptsHandles && h.rights.includes('grant');
      });
      if (to !== undefined && own !== undefined)
        return {
          op: 'send',
          peer: q,
          handle: to,
          message: { segments: [], transfers: [{ handle: own }] },
          timeoutMs: 0,
        };
    }
    return null;
  }

  /** A handle of `peer` through which it can pass a reply handle on: to another peer's node accepting handles. */
  protected delegateVia(peer: number): number | null {
    const s = this.st;
    if (s.peers[peer]?.status !== 'open') return null;
    const via = this.sendable(peer).find((n) => {
      const node = s.nodes[this.handle(peer, n)!.node];
      return node?.owner !== peer && node?.acceptsHandles;
    });
    return via ?? null;
  }
}
