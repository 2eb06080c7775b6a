// Making the sequential property's commands concrete: a command is plain data with abstract picks
// ("the 3rd node handle of the 2nd open peer", conformance/property.ts), turned into an operation
// with model names against the model state when it runs, so shrinking keeps it meaningful.
// The steering towards rare situations lives here too, each commented with the clauses it serves.
import type { Operation, Right, Transfer } from '../spec/types';
import type { BusState } from '../model';
import { queueLoad } from '../model';
import { destOf } from '../model/rules';
import { FOREIGN_BASE } from './names';
import type { Session } from './session';

export const COMMAND_KINDS = [
  'attach',
  'createNode',
  'mint',
  'release',
  'revoke',
  'destroyNode',
  'sameNode',
  'send',
  'call',
  'reply',
  'replyReceive',
  'multicast',
  'receive',
  'cancel',
  'close',
  'tick',
] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];

export const FAULTS = [
  'stale',
  'forged',
  'foreign',
  'wrongKind',
  'closedPeer',
  'unknownPeer',
  'badArgs',
  'oversize',
  'tooMany',
] as const;
export type Fault = (typeof FAULTS)[number];

/** One command: which kind, and abstract picks made concrete against the model when it runs. */
export interface Command {
  kind: CommandKind;
  peer: number;
  pick: number;
  /** 'ok' for a normal pick, or the fault this command injects. */
  mode: 'ok' | Fault;
  aux: number[];
  /** 0..3: a subset of {send, grant} as a bit mask; 4: rights not given. */
  rights: number;
  badge: number;
  size: number;
  move: boolean;
  /** 0: may not wait; -1: timeoutMs left out, no limit; more: waits that long (TIME-4). */
  timeoutMs: number;
  max: number;
  flag: boolean;
}

/** What an implementation lets the property use. */
export interface Capabilities {
  operations: Set<string>;
  features: Set<string>;
}

// ------------------------------------------------------------------ making commands concrete

const RIGHT_MASKS: Right[][] = [[], ['send'], ['grant'], ['send', 'grant']];

function rightsOf(mask: number): Right[] | undefined {
  return mask >= 4 ? undefined : RIGHT_MASKS[mask];
}

function letters(n: number, seed: number): string {
  let s = '';
  for (let j = 0; j < n; j++) s += String.fromCharCode(97 + ((seed + j) % 26));
  return s;
}

/** Turns commands into operations with model names, reading the model state (and the renaming for foreign names). */
export class Concretizer {
  private step = 0;
  /** Names that were reply handles, per peer: stale reply names make the best one-shot tests (CALL-3). */
  private readonly replyNamesSeen = new Map<number, Set<number>>();
  constructor(
    private readonly session: Session,
    private readonly caps: Capabilities,
  ) {}

  private get s(): BusState {
    return this.session.model;
  }

  openPeers(): number[] {
    return Object.values(this.s.peers)
      .filter((p) => p.status === 'open')
      .map((p) => p.id);
  }

  private names(peer: number, kind?: 'node' | 'reply'): number[] {
    const p = this.s.peers[peer];
    if (!p) return [];
    return Object.entries(p.table)
      .filter(([, id]) => kind === undefined || this.s.handles[id].kind === kind)
      .map(([n]) => Number(n));
  }

  private peerFor(c: Command): number | null {
    const open = this.openPeers();
    if (c.mode === 'closedPeer') {
      const closed = Object.values(this.s.peers)
        .filter((p) => p.status === 'closed')
        .map((p) => p.id);
      if (closed.length > 0) return closed[c.peer % closed.length];
    }
    if (c.mode === 'unknownPeer') return this.s.nextPeer + (c.peer % 3);
    if (open.length === 0) return null;
    // Steer towards peers where the command can do something interesting: replies (and
    // delegations) from peers holding reply handles, receives from peers with a queue.
    const holdsReply = open.filter((p) => this.names(p, 'reply').length > 0);
    const hasQueue = open.filter((p) => this.s.peers[p].queue.length > 0);
    const waiting = open.filter((p) => this.s.peers[p].pending > 0);
    let pool = open;
    if ((c.kind === 'reply' || c.kind === 'replyReceive') && holdsReply.length > 0) pool = holdsReply;
    if (c.kind === 'cancel' && c.pick % 5 !== 4 && waiting.length > 0) pool = waiting;
    if ((c.kind === 'send' || c.kind === 'close') && c.flag && holdsReply.length > 0) pool = holdsReply;
    if (c.kind === 'receive' && (c.flag || c.pick % 4 !== 0) && hasQueue.length > 0) pool = hasQueue;
    return pool[c.peer % pool.length];
  }

  /** A handle name of `peer` for a use that needs `kind`, bent by the command's fault. */
  private handleFor(peer: number, kind: 'node' | 'reply' | undefined, pick: number, mode: Command['mode']): number {
    if (mode === 'stale') {
      const table = this.s.peers[peer]?.table ?? {};
      let stale = [...this.session.renaming.handlesOf(peer).modelToImpl.keys()].filter((m) => table[m] === undefined);
      const replies = stale.filter((m) => this.replyNamesSeen.get(peer)?.has(m));
      if (kind === 'reply' && replies.length > 0) stale = replies;
      if (stale.length > 0) return stale[pick % stale.length];
    }
    if (mode === 'forged') {
      const next = this.s.peers[peer]?.nextName ?? 1;
      return [next, next + 1, next + 7, 2 ** 31, Number.MAX_SAFE_INTEGER][pick % 5];
    }
    if (mode === 'foreign') {
      const others = this.openPeers().filter((q) => q !== peer && this.names(q).length > 0);
      if (others.length > 0) {
        const q = others[pick % others.length];
        const qNames = this.names(q);
        const m = qNames[Math.floor(pick / others.length) % qNames.length];
        const i = this.session.renaming.handlesOf(q).toImpl(m);
        if (i !== undefined) {
          const mine = this.session.renaming.handlesOf(peer).toModel(i);
          if (mine !== undefined) return mine; // the implementation gave this peer the same number: not foreign to it
          // One placeholder per implementation name, so a name used twice stays the same name.
          const foreign = this.session.renaming.foreign;
          for (const [placeholder, impl] of foreign) if (impl === i) return placeholder;
          const placeholder = FOREIGN_BASE + foreign.size;
          foreign.set(placeholder, i);
          return placeholder;
        }
      }
    }
    const wanted = mode === 'wrongKind' ? (kind === 'node' ? 'reply' : kind === 'reply' ? 'node' : undefined) : kind;
    let pool = this.names(peer, wanted);
    if (pool.length === 0) pool = this.names(peer);
    if (pool.length === 0) return this.s.peers[peer]?.nextName ?? 1;
    return pool[pick % pool.length];
  }

  private message(
    peer: number,
    c: Command,
    allowReply: boolean,
    exclude?: number,
  ): { segments: string[]; transfers?: Transfer[] } {
    const max = this.s.limits.maxPayloadBytes;
    const size = c.mode === 'oversize' ? max + 1 : Math.min(c.size, max);
    const text = letters(size, this.step);
    const cut = size > 1 && c.pick % 2 === 1 ? Math.floor(size / 2) : size;
    const segments = (cut < size ? [text.slice(0, cut), text.slice(cut)] : [text]).map((t) =>
      Buffer.from(t).toString('base64'),
    );
    if (!this.caps.features.has('transfers')) return { segments };
    let transfers: Transfer[] = [];
    if (c.mode === 'tooMany') {
      const names = this.names(peer);
      const n = this.s.limits.maxHandlesPerMessage + 1;
      const next = this.s.peers[peer]?.nextName ?? 1;
      for (let k = 0; k < n; k++) transfers.push({ handle: k < names.length ? names[k] : next + k });
    } else {
      const used = new Set<number>();
      // Steering towards delegation (CALL-5, CALL-9): a peer holding a reply handle passes it on even when
      // the command picked no transfers.
      const delegates = allowReply && c.flag && c.aux.length === 0 && this.names(peer, 'reply').length > 0;
      (delegates ? [c.pick] : c.aux).forEach((a, k) => {
        const name = this.handleFor(peer, 'node', a, k === 0 ? c.mode : 'ok');
        const replyPool = this.names(peer, 'reply');
        const handle = allowReply && c.flag && k === 0 && replyPool.length > 0 ? replyPool[a % replyPool.length] : name;
        if ((used.has(handle) && c.mode !== 'badArgs') || (handle === exclude && c.mode !== 'badArgs')) return;
        used.add(handle);
        const isReply = this.s.handles[this.s.peers[peer]?.table[handle] ?? -1]?.kind === 'reply';
        const t: Transfer = { handle };
        const rights = rightsOf((c.rights + k) % 5);
        if (rights && !isReply) t.rights = rights;
        if ((c.move && k === 0) || (isReply && c.mode !== 'badArgs')) t.move = true;
        transfers.push(t);
      });
    }
    if (transfers.length === 0) return { segments };
    transfers = transfers.slice(0, this.s.limits.maxHandlesPerMessage + (c.mode === 'tooMany' ? 1 : 0));
    return { segments, transfers };
  }

  /** The handle of `peer` (live, with `send`) to the queue where it holds the most bytes, or null. */
  private fullestTarget(peer: number): number | null {
    const p = this.s.peers[peer];
    let best: number | null = null;
    let most = -1;
    for (const name of this.names(peer, 'node')) {
      const h = this.s.handles[p.table[name]];
      if (h.status !== 'live' || !h.rights.includes('send')) continue;
      const held = queueLoad(destOf(this.s, h).queue).bySender.get(peer)?.bytes ?? 0;
      if (held > most) [best, most] = [name, held];
    }
    return best;
  }

  /** An open peer's blocked send, if there is one: its peer and target handle. */
  private blockedSend(): { peer: number; handle: number } | null {
    for (const p of this.s.pending)
      if (p.kind === 'send' && this.s.peers[p.peer].status === 'open') return { peer: p.peer, handle: p.op.handle };
    return null;
  }

  /**
   * TIME-4: the timeoutMs of a send, receive or replyReceive: 0 (no waiting) unless the implementation
   * can wait (`feature`); then left out (no limit) or, with a virtual clock, a deadline.
   */
  private timeout(c: Command, feature: string): { timeoutMs?: number } {
    if (!this.caps.features.has(feature) || c.timeoutMs === 0) return { timeoutMs: 0 };
    if (c.timeoutMs < 0) return {};
    return this.caps.features.has('virtual-clock') ? { timeoutMs: c.timeoutMs } : { timeoutMs: 0 };
  }

  private createNode(peer: number, c: Command): Operation {
    const credentials = this.caps.features.has('credentials') ? c.flag : undefined;
    // Now and then a node that refuses handles (NODE-5); a bad value is INVALID_ARGUMENT.
    const refuses = c.badge % 4 === 1 ? { acceptsHandles: c.mode === 'badArgs' ? (0 as never) : false } : {};
    return {
      op: 'createNode',
      peer,
      ...(credentials !== undefined ? { credentials } : {}),
      ...refuses,
      ...(c.mode === 'badArgs' && c.badge % 4 !== 1 ? { credentials: 1 as never } : {}),
    };
  }

  private destroyNode(peer: number, c: Command): Operation {
    const handle = this.handleFor(peer, 'node', c.pick, c.mode);
    if (!c.flag) return { op: 'destroyNode', peer, handle };
    // Conditional (DESTROY-5): on the node's count now, or on one a derivation has made stale.
    const node = this.s.nodes[this.s.handles[this.s.peers[peer]?.table[handle] ?? -1]?.node ?? -1];
    const derivedCount = c.mode === 'badArgs' ? -1 : Math.max(0, (node?.derivedCount ?? 0) - (c.size % 2));
    return { op: 'destroyNode', peer, handle, derivedCount };
  }

  private sameNode(peer: number, c: Command): Operation {
    return {
      op: 'sameNode',
      peer,
      handle: this.handleFor(peer, 'node', c.pick, c.mode),
      other: this.handleFor(peer, 'node', c.aux[0] ?? c.pick, 'ok'),
    };
  }

  private send(peer: number, c: Command): Operation {
    const wait = this.timeout(c, 'blocking-send');
    const timeoutMs = wait.timeoutMs ?? 0;
    // Steering towards SEND-8: the sender of a blocked send now and then sends again through the same handle.
    // An empty message fits where the blocked one did not, so only the order can hold it back.
    const blocked = c.mode === 'ok' && c.pick % 2 === 0 ? this.blockedSend() : null;
    // And towards SEND-7: now and then a waiting send of a full-size message to the queue this peer
    // has filled most, which fills it or waits for room.
    const full = timeoutMs && blocked === null && c.pick % 4 === 1 ? this.fullestTarget(peer) : null;
    if (full !== null) {
      const big = Buffer.alloc(this.s.limits.maxPayloadBytes, 0x61).toString('base64');
      return { op: 'send', peer, handle: full, message: { segments: [big] }, timeoutMs: 40 };
    }
    if (blocked !== null)
      return { op: 'send', peer: blocked.peer, handle: blocked.handle, message: { segments: [] }, ...wait };
    return {
      op: 'send',
      peer,
      handle: this.handleFor(peer, 'node', c.pick, c.mode),
      message: this.message(peer, c, true),
      ...wait,
    };
  }

  private call(peer: number, c: Command): Operation {
    // Mostly no limit; with a virtual clock, deadlines; now and then 0, which times out at once (TIME-4).
    const timeoutMs =
      this.caps.features.has('virtual-clock') && c.timeoutMs > 0
        ? c.timeoutMs
        : c.timeoutMs === 0 && c.pick % 8 === 0
          ? 0
          : undefined;
    return {
      op: 'call',
      peer,
      handle: this.handleFor(peer, 'node', c.pick, c.mode),
      message: this.message(peer, c, true),
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(this.caps.features.has('credentials') && c.rights === 1 ? { replierCredentials: true } : {}),
      ...(c.mode === 'badArgs' && c.rights === 2 ? { replierCredentials: 1 as never } : {}),
    };
  }

  /**
   * CANCEL-1: mostly one of the peer's own pending tickets; else a recent one (completed, or another
   * peer's). Steering: now and then the call whose message a blocked send waits behind (the cancel frees
   * room in its step, CANCEL-2), or a call whose reply handle travels (it arrives flagged, CALL-9).
   */
  private cancel(peer: number, c: Command): Operation {
    if (c.mode === 'badArgs') return { op: 'cancel', peer, ticket: -1 };
    const s = this.s;
    const steer = (want: (call: { message: number | null; node: number; replyHandle: number | null }) => boolean) => {
      for (const p of s.pending)
        if (p.kind === 'call' && s.peers[p.peer].status === 'open' && want(s.calls[p.call]))
          return { op: 'cancel' as const, peer: p.peer, ticket: p.ticket };
      return null;
    };
    const blockedAt = new Set(s.pending.flatMap((p) => (p.kind === 'send' ? [p.dest] : [])));
    const steered =
      c.pick % 4 === 1
        ? steer((call) => call.message !== null && blockedAt.has(s.nodes[call.node]?.owner))
        : c.pick % 4 === 2
          ? steer((call) => call.message === null && s.handles[call.replyHandle ?? -1]?.name === null)
          : null;
    if (steered !== null) return steered;
    const mine = s.pending.filter((p) => p.peer === peer);
    const ticket =
      mine.length > 0 && c.pick % 4 !== 0
        ? mine[c.pick % mine.length].ticket
        : Math.max(1, s.nextTicket - 1 - (c.pick % 3));
    return { op: 'cancel', peer, ticket };
  }

  private attach(c: Command): Operation {
    const open = this.openPeers();
    const bootstrap = c.aux.flatMap((a) => {
      if (open.length === 0) return [];
      const from = open[a % open.length];
      const nodes = this.names(from, 'node');
      if (nodes.length === 0) return [];
      const g: { fromPeer: number; handle: number; rights?: Right[]; badge?: number } = {
        fromPeer: from,
        handle: nodes[Math.floor(a / open.length) % nodes.length],
      };
      const rights = rightsOf((c.rights + a) % 5);
      if (rights) g.rights = rights;
      if (c.badge > 0 && a % 2 === 0) g.badge = c.badge;
      return [g];
    });
    const uid = 1000 + this.s.nextPeer;
    return {
      op: 'attach',
      credentials: { uid: c.mode === 'badArgs' ? -1 : uid, gid: uid + 1, pid: uid + 2 },
      ...(bootstrap.length ? { bootstrap } : {}),
    };
  }

  private mint(peer: number, c: Command): Operation {
    const rights = c.mode === 'badArgs' ? (['admin'] as never) : rightsOf(c.rights % 4)!;
    const badge = c.mode === 'badArgs' ? 0 : c.badge;
    return {
      op: 'mint',
      peer,
      handle: this.handleFor(peer, 'node', c.pick, c.mode),
      rights,
      ...(badge > 0 || c.mode === 'badArgs' ? { badge } : {}),
    };
  }

  private reply(peer: number, c: Command): Operation {
    // Nobody can answer yet but a call waits in a queue: take it first (steering towards replies).
    const open = this.openPeers();
    if (c.mode === 'ok' && open.every((p) => this.names(p, 'reply').length === 0)) {
      const withCall = open.find((p) => this.s.peers[p].queue.some((e) => e.kind === 'call'));
      if (withCall !== undefined) return { op: 'receive', peer: withCall, max: 1 + c.max, timeoutMs: 0 };
    }
    const handle = this.handleFor(peer, 'reply', c.pick, c.mode);
    // Steering towards delegation (CALL-5, CALL-9): now and then the holder hands the answer on instead.
    const via = this.names(peer, 'node').find((n) => {
      const h = this.s.handles[this.s.peers[peer].table[n]];
      return h.status === 'live' && h.rights.includes('send') && this.s.nodes[h.node]?.acceptsHandles;
    });
    const isReply = this.s.handles[this.s.peers[peer]?.table[handle] ?? -1]?.kind === 'reply';
    if (
      c.mode === 'ok' &&
      c.flag &&
      c.pick % 2 === 0 &&
      isReply &&
      via !== undefined &&
      this.caps.features.has('transfers')
    )
      return {
        op: 'send',
        peer,
        handle: via,
        message: { segments: [], transfers: [{ handle, move: true }] },
        timeoutMs: 0,
      };
    return { op: 'reply', peer, handle, message: this.message(peer, c, false, handle) };
  }

  private multicast(peer: number, c: Command): Operation {
    const picks = [c.pick, ...c.aux];
    let handles = [...new Set(picks.map((a, k) => this.handleFor(peer, 'node', a, k === 0 ? c.mode : 'ok')))];
    if (c.mode === 'badArgs') handles = c.flag ? [] : [handles[0], handles[0]];
    const message = this.message(peer, { ...c, flag: false }, false);
    if (c.mode !== 'badArgs')
      message.transfers = message.transfers?.map((t) => ({ ...t, move: undefined })).map(({ move: _m, ...t }) => t);
    if (message.transfers?.length === 0) delete message.transfers;
    // Now and then skipping full destinations (MCAST-6).
    return { op: 'multicast', peer, handles, message, ...(c.move && c.mode === 'ok' ? { skipFull: true } : {}) };
  }

  /** The operation for a command now, or null when it makes no sense (no open peer). */
  concretize(c: Command): Operation | null {
    this.step++;
    for (const p of this.openPeers()) {
      const seen = this.replyNamesSeen.get(p) ?? new Set<number>();
      for (const n of this.names(p, 'reply')) seen.add(n);
      this.replyNamesSeen.set(p, seen);
    }
    if (c.kind === 'tick') return { op: 'tick', ms: c.mode === 'badArgs' ? -1 : 1 + ((c.size * 3 + c.pick) % 40) };
    if (c.kind === 'attach') return this.attach(c);
    const peer = this.peerFor(c);
    if (peer === null) return null;
    switch (c.kind) {
      case 'createNode':
        return this.createNode(peer, c);
      case 'mint':
        return this.mint(peer, c);
      case 'release':
        return { op: 'release', peer, handle: this.handleFor(peer, undefined, c.pick, c.mode) };
      case 'revoke':
        return { op: 'revoke', peer, handle: this.handleFor(peer, 'node', c.pick, c.mode) };
      case 'destroyNode':
        return this.destroyNode(peer, c);
      case 'sameNode':
        return this.sameNode(peer, c);
      case 'send':
        return this.send(peer, c);
      case 'call':
        return this.call(peer, c);
      case 'cancel':
        return this.cancel(peer, c);
      case 'replyReceive': {
        const handle = this.handleFor(peer, 'reply', c.pick, c.mode);
        const max = c.mode === 'badArgs' ? 0 : 1 + c.max;
        const message = this.message(peer, c, false, handle);
        return { op: 'replyReceive', peer, handle, message, max, ...this.timeout(c, 'blocking-receive') };
      }
      case 'reply':
        return this.reply(peer, c);
      case 'multicast':
        return this.multicast(peer, c);
      case 'receive':
        return {
          op: 'receive',
          peer,
          max: c.mode === 'badArgs' ? 0 : 1 + c.max,
          ...this.timeout(c, 'blocking-receive'),
        };
      case 'close':
        return { op: 'close', peer };
      default:
        return null;
    }
  }
}
