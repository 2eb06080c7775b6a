// Aimed commands: generation that builds up state and then tears it down at the hard corners.
//
// A uniformly random mix of operations rarely fills a queue, so a blocked send, its wake-up and
// its deadline, a delegated reply handle whose holder closes, or a handle revoked while it travels
// are reached a few times in a thousand runs. A command may carry an aim; it is then made concrete
// by reading the model state and taking the next step towards that corner: fill a queue, block on
// it, wake, time out or cancel the blocked send; serve a call, delegate its reply handle, abandon
// the call; send a handle and revoke or destroy it in flight; multicast to dead and full members;
// pile up pending operations; tick to a deadline, one before it or one past it. An aim that finds
// nothing to do falls back to the step before it (unblock -> block, abandon -> serve), or to the
// plain command. Everything is read from the state when the command runs, so a shrunk run stays
// meaningful and a seed and path replay it (TIME-2).
import type { Operation, Right } from '../spec/types';
import type { HandleRec, PendingRec } from '../model';
import { destOf, lookup, roomError } from '../model/rules';
import { AimState, DEADLINES_MS, at } from './aim-state';
import type { Capabilities, Command } from './concretizer';

export const AIMS = [
  'block',
  'unblock',
  'stall',
  'serve',
  'delegate',
  'abandon',
  'inflight',
  'multicast',
  'pending',
  'deadline',
] as const;
export type Aim = (typeof AIMS)[number];

/** What each aim needs of the implementation (operations, then features). */
export const AIM_NEEDS: Record<Aim, { operations: string[]; features: string[] }> = {
  block: { operations: ['send', 'receive'], features: [] },
  unblock: { operations: ['send', 'receive'], features: [] },
  stall: { operations: ['send', 'receive', 'call', 'cancel'], features: ['blocking-send'] },
  serve: { operations: ['call', 'receive', 'reply'], features: [] },
  delegate: { operations: ['call', 'receive', 'reply', 'send', 'attach', 'close'], features: ['transfers'] },
  abandon: { operations: ['call', 'receive', 'reply', 'cancel'], features: [] },
  inflight: { operations: ['send', 'receive', 'revoke', 'destroyNode'], features: ['transfers'] },
  multicast: { operations: ['multicast', 'destroyNode'], features: [] },
  pending: { operations: ['receive', 'cancel'], features: ['blocking-receive'] },
  deadline: { operations: ['tick'], features: ['virtual-clock'] },
};

export function aimUsable(aim: Aim, caps: Capabilities): boolean {
  const n = AIM_NEEDS[aim];
  return n.operations.every((o) => caps.operations.has(o)) && n.features.every((f) => caps.features.has(f));
}

export class Aimer extends AimState {
  /** Replies this run's aimed commands made: the used name, and the call's caller and ticket (CALL-3, CANCEL-3). */
  private readonly replies: { peer: number; handle: number; caller: number; ticket: number }[] = [];

  /** The operation a command aims at now, or null to make the command as usual. */
  aimed(c: Command): Operation | null {
    const op = this.aim(c);
    if (op !== null && (op.op === 'reply' || op.op === 'replyReceive')) {
      const call = this.st.calls[this.handle(op.peer, op.handle)?.call ?? -1];
      if (call) this.replies.push({ peer: op.peer, handle: op.handle, caller: call.caller, ticket: call.ticket });
    }
    return op;
  }

  /** After an answer: the caller cancels the answered call, or the replier answers again through the used name. */
  private afterAnswer(c: Command): Operation | null {
    const s = this.st;
    const done = this.replies.filter(
      (r) => s.peers[r.caller].status === 'open' && !s.pending.some((p) => p.ticket === r.ticket),
    );
    if (done.length === 0) return null;
    const r = at(done, c.pick);
    if (c.size % 2 === 0 && this.caps.operations.has('cancel'))
      return { op: 'cancel', peer: r.caller, ticket: r.ticket };
    if (s.peers[r.peer].status !== 'open' || s.peers[r.peer].table[r.handle] !== undefined) return null;
    return c.flag && this.caps.operations.has('release')
      ? { op: 'release', peer: r.peer, handle: r.handle }
      : { op: 'reply', peer: r.peer, handle: r.handle, message: { segments: [] } };
  }

  private aim(c: Command): Operation | null {
    if (!c.aim || c.mode !== 'ok') return null;
    switch (c.aim) {
      case 'block':
        return this.block(c);
      case 'unblock':
        return this.unblock(c);
      case 'stall':
        return this.stall(c);
      case 'serve':
        return this.serve(c);
      case 'delegate':
        return this.delegate(c);
      case 'abandon':
        return this.abandon(c);
      case 'inflight':
        return this.inflight(c);
      case 'multicast':
        return this.multicast(c);
      case 'pending':
        return this.pending(c);
      case 'deadline':
        return this.deadline(c);
    }
  }

  /**
   * Fill a queue with full-size messages (QUOTA-1, QUOTA-2), then block on it with a deadline
   * (SEND-7), then send again behind the blocked send (SEND-8).
   */
  private block(c: Command): Operation | null {
    const s = this.st;
    const blocked = this.openPending('send');
    if ((c.flag || c.pick % 3 === 0) && blocked.length > 0) {
      // Mostly behind a send an empty message would not have to wait for (SEND-8 decides alone).
      const roomyBlocked = (blocked as Extract<PendingRec, { kind: 'send' }>[]).filter(
        (b) =>
          lookup(s, b.peer, b.op.handle)?.kind === 'node' &&
          roomError(s, { ...b.op, message: { segments: [] } }) === 'order',
      );
      const b = at(roomyBlocked.length > 0 ? roomyBlocked : blocked, c.pick) as Extract<PendingRec, { kind: 'send' }>;
      return {
        op: 'send',
        peer: b.peer,
        handle: b.op.handle,
        message: { segments: [] },
        ...(c.flag ? { timeoutMs: 0 } : this.wait(c, 'blocking-send')),
      };
    }
    const big = this.full();
    const candidates: { peer: number; handle: number; full: boolean; roomy: boolean; load: number }[] = [];
    for (const peer of this.open())
      for (const handle of this.sendable(peer)) {
        const probe = { op: 'send' as const, peer, handle, message: { segments: [big] } };
        const dest = destOf(s, this.handle(peer, handle)!);
        const full = roomError(s, probe) !== null;
        // Full for this message, with room for an empty one: a later empty send is held back by order alone (SEND-8).
        const roomy = full && roomError(s, { ...probe, message: { segments: [] } }) === null;
        candidates.push({ peer, handle, full, roomy, load: dest.queue.length });
      }
    if (candidates.length === 0) return null;
    const roomy = candidates.filter((x) => x.roomy);
    const full = roomy.length > 0 && c.pick % 2 === 0 ? roomy : candidates.filter((x) => x.full);
    if (full.length > 0 && this.caps.features.has('blocking-send') && c.pick % 3 !== 0) {
      const x = at(full, c.pick);
      return {
        op: 'send',
        peer: x.peer,
        handle: x.handle,
        message: { segments: [big] },
        ...this.wait(c, 'blocking-send'),
      };
    }
    // Fill the fullest queue not yet full (or refuse one more: a room watch, QUOTA-5).
    const fill = candidates.filter((x) => !x.full);
    const pool = fill.length > 0 && c.pick % 4 !== 3 ? fill : candidates;
    const most = Math.max(...pool.map((x) => x.load));
    const x = at(
      pool.filter((y) => y.load === most),
      c.pick,
    );
    // Now and then the room goes to a call: cancelling it later frees the room in the cancel's own step (CANCEL-2).
    if (c.max === 0 && this.caps.operations.has('call'))
      return { op: 'call', peer: x.peer, handle: x.handle, message: { segments: [big] } };
    return { op: 'send', peer: x.peer, handle: x.handle, message: { segments: [big] }, timeoutMs: 0 };
  }

  /**
   * Resolve a blocked send every way it can go: woken by a receive (SEND-7), timed out at its
   * deadline (TIME-1), cancelled (CANCEL-2), woken by a cancelled call freeing room, or torn
   * down (DESTROY, CLOSE). Without one, serve a room watch (QUOTA-5).
   */
  private unblock(c: Command): Operation | null {
    const s = this.st;
    const blocked = this.openPending('send') as Extract<PendingRec, { kind: 'send' }>[];
    if (blocked.length === 0) {
      const watches = s.roomWatches.filter(
        (w) => s.peers[w.dest].status === 'open' && s.peers[w.sender].status === 'open',
      );
      if (watches.length > 0 && c.pick % 2 === 0) {
        const w = at(watches, c.pick);
        return { op: 'receive', peer: w.status === 'armed' ? w.dest : w.sender, max: 1 + c.max, timeoutMs: 0 };
      }
      return this.block(c);
    }
    const b = at(blocked, c.pick);
    const choice = (c.aux[0] ?? c.size) % 6;
    if (choice === 1 && b.deadline !== null && this.caps.operations.has('tick'))
      return { op: 'tick', ms: Math.max(1, b.deadline - s.nowMs + ((c.size % 3) - 1)) };
    if (choice === 2 && this.caps.operations.has('cancel')) return { op: 'cancel', peer: b.peer, ticket: b.ticket };
    if (choice === 3 && this.caps.operations.has('cancel')) {
      // A call whose message takes the room the blocked send waits for: cancelling it wakes the send in its step.
      const call = this.openPending('call').find((p) => {
        const rec = p.kind === 'call' ? s.calls[p.call] : undefined;
        return rec?.message !== null && rec !== undefined && s.nodes[rec.node]?.owner === b.dest;
      });
      if (call) return { op: 'cancel', peer: call.peer, ticket: call.ticket };
    }
    if (choice === 4 && this.caps.operations.has('destroyNode')) {
      const target = this.handle(b.peer, b.op.handle);
      const root = target ? this.rootOf(target.node) : null;
      // Now and then on a count a derivation moved past (DESTROY-5: STALE, the send still waits).
      const count = target ? this.st.nodes[target.node].derivedCount : 0;
      if (root) return { op: 'destroyNode', ...root, ...(c.flag && count > 0 ? { derivedCount: count - 1 } : {}) };
    }
    if (choice === 5 && this.caps.operations.has('close') && c.flag) return { op: 'close', peer: b.dest };
    return { op: 'receive', peer: b.dest, max: 1 + c.max, timeoutMs: 0 };
  }

  /**
   * A call served every way (CALL-1..7, CALL-10): received, replied, delegated to another peer
   * (which receives it, then replies or closes), answered by replyReceive, or released unanswered.
   */
  private serve(c: Command): Operation | null {
    const s = this.st;
    const open = this.open();
    const carriesReply = (e: { handles: number[] }) => e.handles.some((id) => s.handles[id]?.kind === 'reply');
    // 1. A reply handle travelling to a delegate: the delegate takes it.
    const delegateQueue = open.filter((p) => s.peers[p].queue.some(carriesReply));
    if (delegateQueue.length > 0 && c.pick % 4 !== 3) return this.receiveUpTo(at(delegateQueue, c.pick), carriesReply);
    // 2. A holder answers, delegates, answers and waits, closes or releases.
    const holders = open.filter((p) => this.replyNames(p).length > 0);
    // First, a server whose node waits with a no-senders notice answers with a handle to it and receives:
    // the reply withdraws the notice before the receive looks (CALL-10, NOTICE-6).
    for (const peer of holders) {
      const node = Object.values(s.nodes).find((n) => n.owner === peer && n.notice !== null && n.status === 'live');
      const root = node ? this.rootOf(node.id) : null;
      if (root && this.caps.operations.has('replyReceive') && this.caps.features.has('transfers'))
        return {
          op: 'replyReceive',
          peer,
          handle: this.replyNames(peer)[0],
          message: { segments: [], transfers: [{ handle: root.handle, rights: ['send'] }] },
          max: 4,
          timeoutMs: 0,
        };
    }
    const isDelegated = (p: number, r: number) => s.nodes[s.calls[this.handle(p, r)!.call]?.node]?.owner !== p;
    const delegates = holders.filter((p) => this.replyNames(p).some((r) => isDelegated(p, r)));
    if (holders.length > 0 && c.pick % 4 !== 3) {
      // A delegate (CALL-5) replies, closes with the handle (CLOSE-2), answers and waits, or releases it.
      if (delegates.length > 0 && c.pick % 2 === 1) {
        const peer = at(delegates, c.pick);
        const r = at(
          this.replyNames(peer).filter((x) => isDelegated(peer, x)),
          c.size,
        );
        const choice = c.size % 3;
        if (choice === 0 && this.caps.operations.has('close')) return { op: 'close', peer };
        if (choice === 2 && c.flag && this.caps.operations.has('replyReceive'))
          return { op: 'replyReceive', peer, handle: r, message: { segments: [] }, max: 1, timeoutMs: 0 };
        if (choice === 2 && this.caps.operations.has('release')) return { op: 'release', peer, handle: r };
        return { op: 'reply', peer, handle: r, message: { segments: ['b2s='] } };
      }
      // The server delegates (half the time, when it can), answers and waits, answers, releases or closes.
      const peer = at(holders, c.pick);
      const r = at(this.replyNames(peer), c.size);
      const choice = c.size % 6;
      const via = this.delegateVia(peer);
      if (choice <= 2 && via === null && this.caps.features.has('transfers')) {
        const introduction = this.introduce(peer);
        if (introduction !== null) return introduction;
      }
      if (choice <= 2 && via !== null && this.caps.features.has('transfers') && this.caps.operations.has('send'))
        return {
          op: 'send',
          peer,
          handle: via,
          message: { segments: [], transfers: [{ handle: r, move: true }] },
          timeoutMs: 0,
        };
      if (choice === 3 && this.caps.operations.has('replyReceive'))
        return { op: 'replyReceive', peer, handle: r, message: { segments: ['b2s='] }, max: 1, timeoutMs: 0 };
      if (choice === 5 && c.flag && this.caps.operations.has('close')) return { op: 'close', peer };
      if (choice === 5 && this.caps.operations.has('release')) return { op: 'release', peer, handle: r };
      return { op: 'reply', peer, handle: r, message: { segments: ['b2s='] } };
    }
    // A third peer to delegate to, granted every open peer's node, when two are all there is.
    if (open.length < 3 && this.caps.operations.has('attach') && open.length < s.limits.maxPeers) {
      const bootstrap = open.flatMap((p) => {
        const n = this.sendable(p).find((x) => s.nodes[this.handle(p, x)!.node]?.owner === p);
        return n === undefined ? [] : [{ fromPeer: p, handle: n }];
      });
      const uid = 2000 + s.nextPeer;
      if (bootstrap.length > 0) return { op: 'attach', credentials: { uid, gid: uid, pid: uid }, bootstrap };
    }
    // 3. A call waiting in a queue: its node's owner takes it; first, now and then, the caller lets go of
    // its last handle to the node, so a no-senders notice waits behind the call (NOTICE-2).
    const withCall = open.filter((p) => s.peers[p].queue.some((e) => e.kind === 'call'));
    if (withCall.length > 0 && c.size % 4 === 0 && this.caps.operations.has('release')) {
      const e = s.peers[at(withCall, c.pick)].queue.find((x) => x.kind === 'call')!;
      const node = s.nodes[e.node];
      const h = Object.entries(s.peers[e.sender]?.table ?? {}).find(([, id]) => s.handles[id].node === node?.id);
      if (node?.senders === 1 && h && s.peers[e.sender].status === 'open' && !s.handles[h[1]].root)
        return { op: 'release', peer: e.sender, handle: Number(h[0]) };
    }
    if (withCall.length > 0 && c.pick % 6 !== 5)
      return this.receiveUpTo(at(withCall, c.pick), (e) => e.kind === 'call');
    // 4. A new call to another peer's node, mostly one whose owner could delegate it; with a deadline or
    // none, now and then asking for the replier's credentials (CRED-3).
    const pairs = open.flatMap((p) =>
      this.sendable(p)
        .filter((n) => s.nodes[this.handle(p, n)!.node]?.owner !== p)
        .map((n) => ({ peer: p, handle: n, owner: s.nodes[this.handle(p, n)!.node].owner })),
    );
    if (pairs.length === 0) return null;
    const delegable = pairs.filter((x) => this.delegateVia(x.owner) !== null);
    const { peer, handle } = at(delegable.length > 0 && c.pick % 3 !== 0 ? delegable : pairs, c.peer + c.pick);
    const wait =
      this.caps.features.has('virtual-clock') && c.timeoutMs >= 0 && c.size % 2 === 0
        ? { timeoutMs: at(DEADLINES_MS, c.pick + c.max) }
        : {};
    return {
      op: 'call',
      peer,
      handle,
      message: { segments: ['cQ=='] },
      ...wait,
      ...(this.caps.features.has('credentials') && c.flag ? { replierCredentials: true } : {}),
    };
  }

  /**
   * A call abandoned every way (CALL-8, CALL-9, CANCEL-1): cancelled, timed out, its caller
   * closed, its node destroyed (DESTROY-4); then the reply handle's holder meets it: the
   * call-abandoned notice, CALLER_GONE on reply or transfer, a replyReceive dropping the reply.
   */
  private abandon(c: Command): Operation | null {
    const s = this.st;
    const open = this.open();
    const stale = open.flatMap((p) =>
      this.replyNames(p)
        .filter((r) => this.handle(p, r)!.status === 'abandoned')
        .map((r) => ({ peer: p, handle: r })),
    );
    if (c.pick % 5 === 4) {
      const again = this.afterAnswer(c);
      if (again !== null) return again;
    }
    if (stale.length > 0 && c.pick % 2 === 0) {
      const x = at(stale, c.pick);
      const choice = c.size % 4;
      if (choice === 0 && this.caps.operations.has('replyReceive'))
        return {
          op: 'replyReceive',
          peer: x.peer,
          ...{ handle: x.handle },
          message: { segments: [] },
          max: 1,
          timeoutMs: 0,
        };
      if (choice === 1 && this.caps.features.has('transfers')) {
        const via = this.sendable(x.peer)[0];
        if (via !== undefined)
          return {
            op: 'send',
            peer: x.peer,
            handle: via,
            message: { segments: [], transfers: [{ handle: x.handle, move: true }] },
            timeoutMs: 0,
          };
      }
      if (choice === 2) return { op: 'receive', peer: x.peer, max: 2, timeoutMs: 0 };
      return { op: 'reply', peer: x.peer, handle: x.handle, message: { segments: [] } };
    }
    // A reply handle travelling to a delegate: its call abandoned before it arrives (CALL-9), then taken.
    const isTravellingReply = (id: number) => s.handles[id]?.kind === 'reply';
    const carrying = open.filter((p) => s.peers[p].queue.some((e) => e.handles.some(isTravellingReply)));
    if (carrying.length > 0 && c.pick % 3 === 1) {
      const peer = at(carrying, c.pick);
      const e = s.peers[peer].queue.find((x) => x.handles.some(isTravellingReply))!;
      const call = s.calls[s.handles[e.handles.find(isTravellingReply)!].call];
      if (call?.status === 'pending' && s.peers[call.caller].status === 'open')
        return { op: 'cancel', peer: call.caller, ticket: call.ticket };
      return this.receiveUpTo(peer, (x) => x === e);
    }
    const calls = this.openPending('call') as Extract<PendingRec, { kind: 'call' }>[];
    if (calls.length === 0) return this.serve(c);
    // Calls already received first when a destroy is next: they survive it (DESTROY-4).
    const served = calls.filter((p) => p.kind === 'call' && s.calls[p.call]?.message === null);
    const p = c.size % 6 === 3 && served.length > 0 ? at(served, c.pick) : at(calls, c.pick);
    const choice = c.size % 6;
    const timed = calls.filter((x) => x.deadline !== null);
    if (choice === 1 && timed.length > 0 && this.caps.operations.has('tick')) {
      const t = at(timed, c.pick);
      return { op: 'tick', ms: Math.max(1, t.deadline! - s.nowMs + (c.pick % 2)) };
    }
    if (choice === 2 && this.caps.operations.has('close') && c.flag) return { op: 'close', peer: p.peer };
    if (choice === 3 && this.caps.operations.has('destroyNode')) {
      const root = this.rootOf(s.calls[p.call].node);
      if (root) return { op: 'destroyNode', ...root };
    }
    if (choice >= 4) return this.serve(c);
    return { op: 'cancel', peer: p.peer, ticket: p.ticket };
  }

  /**
   * A node handle in flight (SEND-4..6, RECV-3), revoked or destroyed before it arrives, or a
   * conditional destroy on a count a derivation moved on (DESTROY-5); then the receiver takes it.
   */
  private inflight(c: Command): Operation | null {
    const s = this.st;
    const open = this.open();
    const travelling: HandleRec[] = [];
    for (const p of open)
      for (const e of s.peers[p].queue)
        for (const id of e.handles) if (s.handles[id]?.kind === 'node') travelling.push(s.handles[id]);
    if (travelling.length > 0 && c.pick % 4 !== 3) {
      const h = at(travelling, c.pick);
      const choice = c.size % 6;
      const parent = h.parent === null ? undefined : s.handles[h.parent];
      if (h.status === 'live' && choice !== 5) {
        // The first handles in flight are revoked and destroyed, one each, then either (REVOKE-1, DESTROY-1).
        const revocable = parent?.name != null && s.peers[parent.holder].status === 'open';
        const revokeFirst =
          revocable &&
          !this.turned.has('revoked in flight') &&
          (this.turned.has('destroyed in flight') || c.pick % 2 === 1 || this.rootOf(h.node) === null);
        const destroyFirst = !revokeFirst && !this.turned.has('destroyed in flight') && this.rootOf(h.node) !== null;
        if (revokeFirst) this.turned.add('revoked in flight');
        if (destroyFirst) this.turned.add('destroyed in flight');
        if (revokeFirst || (!destroyFirst && choice <= 1 && revocable))
          return { op: 'revoke', peer: parent!.holder, handle: parent!.name! };
        const root = this.rootOf(h.node);
        if (root) {
          // Conditional now and then (DESTROY-5): on the count as it is, or on one a derivation moved past.
          const count = s.nodes[h.node].derivedCount;
          return {
            op: 'destroyNode',
            ...root,
            ...(c.flag && choice === 3 ? { derivedCount: Math.max(0, count - (c.pick % 2)) } : {}),
          };
        }
      }
      // Or the queue it waits in goes, with the handle (DESTROY-3, CLOSE-4): the handle is released.
      const entry = s.peers[h.holder].queue.find((e) => e.handles.includes(h.id));
      const at0 = entry ? this.rootOf(entry.node) : null;
      if (choice === 5 && c.flag && at0) return { op: 'destroyNode', ...at0 };
      if (choice === 5 && c.max === 3 && this.caps.operations.has('close')) return { op: 'close', peer: h.holder };
      return this.receiveUpTo(h.holder, (e) => e.handles.includes(h.id));
    }
    // A waiting no-senders notice withdrawn by a new derivation (NOTICE-6).
    const noticed = Object.values(s.nodes).filter((n) => n.notice !== null && n.status === 'live');
    if (noticed.length > 0 && c.pick % 3 === 2 && this.caps.operations.has('mint')) {
      const root = this.rootOf(at(noticed, c.pick).id);
      // Withdrawn by a reply carrying a handle to the node, in a replyReceive whose receive must not see it (CALL-10).
      const r = root && this.caps.operations.has('replyReceive') ? this.replyNames(root.peer)[0] : undefined;
      if (root && r !== undefined)
        return {
          op: 'replyReceive',
          peer: root.peer,
          handle: r,
          message: { segments: [], transfers: [{ handle: root.handle, rights: ['send'] }] },
          max: 4,
          timeoutMs: 0,
        };
      if (root) return { op: 'mint', ...root, rights: ['send'] };
    }
    // Send a grantable handle to another peer's node that accepts handles.
    for (const peer of [...open.slice(c.peer % Math.max(1, open.length)), ...open]) {
      const grantable = Object.entries(s.peers[peer].table)
        .map(([n, id]) => ({ n: Number(n), h: s.handles[id] }))
        .filter(({ h }) => h.kind === 'node' && h.status === 'live' && h.rights.includes('grant'));
      const via = this.sendable(peer).filter((n) => {
        const node = s.nodes[this.handle(peer, n)!.node];
        // Now and then a node that refuses handles (NODE-5).
        return node?.owner !== peer && node?.acceptsHandles === (c.max !== 3);
      });
      if (grantable.length === 0 || via.length === 0) continue;
      const g = at(grantable, c.pick).n;
      const rights: Right[] | undefined = c.rights === 1 ? ['send'] : undefined;
      return {
        op: 'send',
        peer,
        handle: at(via, c.pick),
        message: { segments: [], transfers: [{ handle: g, ...(rights ? { rights } : {}) }] },
        timeoutMs: 0,
      };
    }
    return null;
  }

  /** Multicast to live, dead and full members (MCAST-3, MCAST-6): a node destroyed first when all are live. */
  private multicast(c: Command): Operation | null {
    const s = this.st;
    const open = this.open();
    const members = (peer: number) =>
      Object.entries(s.peers[peer].table)
        .map(([n, id]) => ({ n: Number(n), h: s.handles[id] }))
        .filter(({ h }) => h.kind === 'node' && h.status !== 'revoked' && h.rights.includes('send'));
    // The order at each member, read (MCAST-3, ORDER-3): a member whose queue holds several entries receives them.
    const busy = open.filter((p) => s.peers[p].queue.length >= 2);
    if (busy.length > 0 && c.size % 3 === 0)
      return { op: 'receive', peer: at(busy, c.pick), max: 1 + c.max + c.size, timeoutMs: 0 };
    const senders = open.filter((p) => members(p).length >= 2);
    if (senders.length === 0) return null;
    const peer = at(senders, c.peer);
    const ms = members(peer);
    const dead = ms.filter((m) => m.h.status === 'dead');
    const liveOthers = ms.filter((m) => m.h.status === 'live' && s.nodes[m.h.node]?.owner !== peer);
    if (dead.length === 0 && liveOthers.length >= 2 && this.first('member destroyed', c.pick % 2 === 0)) {
      const root = this.rootOf(at(liveOthers, c.pick).h.node);
      if (root) return { op: 'destroyNode', ...root };
    }
    // A message queued ahead of the copy at a member (ORDER-3).
    const live = ms.filter((m) => m.h.status === 'live');
    if (c.size % 3 === 1 && live.length > 0 && this.caps.operations.has('send')) {
      // Mostly to the last member, where the copy is enqueued last.
      const to = c.pick % 2 === 0 ? live[live.length - 1] : at(live, c.pick);
      return { op: 'send', peer, handle: to.n, message: { segments: ['YQ=='] }, timeoutMs: 0 };
    }
    return {
      op: 'multicast',
      peer,
      handles: ms.map((m) => m.n),
      message: { segments: [this.full()] },
      ...(c.flag ? { skipFull: true } : {}),
    };
  }

  /** Pending operations piled on one peer up to maxPendingPerPeer (BOUND-2), and a waiting receive cancelled (CANCEL-2). */
  private pending(c: Command): Operation | null {
    const s = this.st;
    const receives = this.openPending('receive');
    if (receives.length > 0 && c.size % 3 === 0) {
      const r = at(receives, c.pick);
      return { op: 'cancel', peer: r.peer, ticket: r.ticket };
    }
    const open = this.open();
    if (open.length === 0) return null;
    const most = Math.max(...open.map((p) => s.peers[p].pending));
    const peer = at(
      open.filter((p) => s.peers[p].pending === most),
      c.peer,
    );
    if (s.peers[peer].queue.length === 0 || !this.caps.operations.has('call'))
      return { op: 'receive', peer, max: 1, ...this.wait(c, 'blocking-receive') };
    const targets = this.sendable(peer);
    if (targets.length === 0) return { op: 'receive', peer, max: 1, ...this.wait(c, 'blocking-receive') };
    return { op: 'call', peer, handle: at(targets, c.pick), message: { segments: [] } };
  }

  /**
   * A blocked send waiting for room a queued call holds (SEND-7, CANCEL-2): calls fill a queue, another
   * peer's send blocks on it (and sends again behind itself, SEND-8), then a call is cancelled and
   * the blocked send completes in the cancel's own step.
   */
  private stall(c: Command): Operation | null {
    const s = this.st;
    const blocked = this.openPending('send') as Extract<PendingRec, { kind: 'send' }>[];
    const queuedCallsAt = (dest: number) =>
      this.openPending('call').filter((p) => {
        const rec = p.kind === 'call' ? s.calls[p.call] : undefined;
        return rec !== undefined && rec.message !== null && s.nodes[rec.node]?.owner === dest;
      });
    if (blocked.length > 0) {
      const b = at(blocked, c.pick);
      const calls = queuedCallsAt(b.dest).sort((x, y) => Number(y.peer === b.peer) - Number(x.peer === b.peer));
      if (calls.length > 0) return { op: 'cancel', peer: calls[0].peer, ticket: calls[0].ticket };
      return this.unblock(c);
    }
    const pairs = this.open().flatMap((peer) =>
      this.sendable(peer)
        .map((handle) => ({ peer, handle, dest: destOf(s, this.handle(peer, handle)!) }))
        .filter((x) => x.dest.id !== peer),
    );
    // A queue calls have filled (for everyone, or for this sender): a send blocks on it.
    const stuck = pairs.filter(
      (x) =>
        queuedCallsAt(x.dest.id).length > 0 &&
        roomError(s, { op: 'send', peer: x.peer, handle: x.handle, message: { segments: [] } }) !== null,
    );
    if (stuck.length > 0 && this.caps.features.has('blocking-send')) {
      const x = at(stuck, c.pick);
      return {
        op: 'send',
        peer: x.peer,
        handle: x.handle,
        message: { segments: [] },
        ...this.wait(c, 'blocking-send'),
      };
    }
    // Else one more call where it fits, to the fullest such queue.
    const fits = pairs.filter(
      (x) => roomError(s, { op: 'call', peer: x.peer, handle: x.handle, message: { segments: [] } }, 1) === null,
    );
    if (fits.length === 0) return null;
    const most = Math.max(...fits.map((x) => x.dest.queue.length));
    const x = at(
      fits.filter((y) => y.dest.queue.length === most),
      c.pick,
    );
    return { op: 'call', peer: x.peer, handle: x.handle, message: { segments: [] } };
  }

  /**
   * One delegated call played to its end (CALL-5, CALL-8, CALL-9, DESTROY-4): a third peer when
   * needed, a call to a server that can delegate, received, delegated, received by the delegate;
   * then the delegate replies or closes, the caller cancels or times out, or the server destroys
   * its node; the delegate meets the abandoned call (notice, CALLER_GONE, a dropped replyReceive).
   */
  private delegate(c: Command): Operation | null {
    const s = this.st;
    const open = this.open();
    const isDelegated = (p: number, r: number) => s.nodes[s.calls[this.handle(p, r)!.call]?.node]?.owner !== p;
    // 1. A delegate holds the reply handle.
    const held = open.flatMap((p) =>
      this.replyNames(p)
        .filter((r) => isDelegated(p, r))
        .map((r) => ({ peer: p, handle: r, rec: this.handle(p, r)! })),
    );
    if (held.length > 0) {
      const x = at(held, c.pick);
      const call = s.calls[x.rec.call];
      const choice = c.size % 7;
      if (x.rec.status === 'abandoned') {
        if (choice <= 1 && this.caps.operations.has('replyReceive'))
          return {
            op: 'replyReceive',
            peer: x.peer,
            handle: x.handle,
            message: { segments: [] },
            max: 1,
            timeoutMs: 0,
          };
        if (choice === 2) return { op: 'close', peer: x.peer };
        if (choice === 3) return { op: 'receive', peer: x.peer, max: 2, timeoutMs: 0 };
        return { op: 'reply', peer: x.peer, handle: x.handle, message: { segments: [] } };
      }
      if (this.first('delegate closes', choice === 0 || choice === 4 || choice === 6))
        return { op: 'close', peer: x.peer };
      if (choice === 1 && call?.status === 'pending') {
        const pending = s.pending.find((p) => p.kind === 'call' && p.call === call.id);
        if (pending?.deadline != null && this.caps.operations.has('tick'))
          return { op: 'tick', ms: Math.max(1, pending.deadline - s.nowMs) };
        if (this.caps.operations.has('cancel') && s.peers[call.caller].status === 'open')
          return { op: 'cancel', peer: call.caller, ticket: call.ticket };
      }
      if (choice === 2 && call && this.caps.operations.has('destroyNode')) {
        const root = this.rootOf(call.node);
        if (root) return { op: 'destroyNode', ...root };
      }
      if (choice === 3 && this.caps.operations.has('replyReceive'))
        return {
          op: 'replyReceive',
          peer: x.peer,
          handle: x.handle,
          message: { segments: ['b2s='] },
          max: 1,
          timeoutMs: 0,
        };
      return { op: 'reply', peer: x.peer, handle: x.handle, message: { segments: ['b2s='] } };
    }
    // 2. The reply handle travels to the delegate: now and then its call is abandoned first.
    const carriesReply = (e: { handles: number[] }) => e.handles.some((id) => s.handles[id]?.kind === 'reply');
    const carrying = open.filter((p) => s.peers[p].queue.some(carriesReply));
    if (carrying.length > 0) {
      const peer = at(carrying, c.pick);
      const e = s.peers[peer].queue.find(carriesReply)!;
      const call = s.calls[s.handles[e.handles.find((id) => s.handles[id]?.kind === 'reply')!].call];
      if (c.size % 4 === 0 && call?.status === 'pending' && s.peers[call.caller].status === 'open')
        return { op: 'cancel', peer: call.caller, ticket: call.ticket };
      return this.receiveUpTo(peer, carriesReply);
    }
    // 3. The server delegates (or first gets somewhere to delegate to).
    const servers = open.filter((p) => this.replyNames(p).length > 0);
    if (servers.length > 0) {
      const peer = at(servers, c.pick);
      const r = at(this.replyNames(peer), c.size);
      const via = this.delegateVia(peer);
      if (via === null) return this.introduce(peer) ?? { op: 'reply', peer, handle: r, message: { segments: [] } };
      return {
        op: 'send',
        peer,
        handle: via,
        message: { segments: [], transfers: [{ handle: r, move: true }] },
        timeoutMs: 0,
      };
    }
    // 4. A queued call: its server takes it.
    const withCall = open.filter((p) => s.peers[p].queue.some((e) => e.kind === 'call'));
    if (withCall.length > 0) return this.receiveUpTo(at(withCall, c.pick), (e) => e.kind === 'call');
    if (c.pick % 5 === 4) {
      const again = this.afterAnswer(c);
      if (again !== null) return again;
    }
    // 5. A new call (serve makes it, to a server that can delegate, with a third peer attached first).
    return this.serve({ ...c, pick: c.pick - (c.pick % 12) + 4 });
  }

  /** Time moved to a pending deadline, one tick before it or one past it (TIME-1, INV-6). */
  private deadline(c: Command): Operation | null {
    const s = this.st;
    const timed = s.pending.filter((p) => p.deadline !== null);
    if (timed.length === 0) return null;
    const p = at(timed, c.pick);
    return { op: 'tick', ms: Math.max(1, p.deadline! - s.nowMs + ((c.size % 3) - 1)) };
  }
}
