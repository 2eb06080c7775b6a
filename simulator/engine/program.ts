// The program interpreter: a thread's steps (the scenario's script language) turned into
// protocol operations one at a time, and each operation's result turned back into the
// program's state (bound handles, replies owed, the serve loop's batch) and the run's
// metrics (outcomes, latency samples). Steps that cost no bus operation (compute, timers,
// repeat) are folded in; CPU time they use adds to the running thread's local clock.
import type { CallOp, Delivery, Message, MintOp, Operation, Result, SendOp, Transfer } from '../../spec/types';
import type { Step, TransferSpec } from '../types';
import type { Simulation } from './engine';
import { ScenarioError } from './errors';
import { noticeKey } from './metrics';
import { Action, FOREVER_MS, type ThreadRt } from './records';
import type { ErrorCode } from '../../spec/types';

/** Outcomes a correct program must be ready for: faults and races cause them (CALL-2, SEND-7, QUOTA-2). */
const OUTCOMES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'DEAD',
  'REVOKED',
  'NO_REPLY',
  'TIMED_OUT',
  'CLOSED',
  'CALLER_GONE',
]);

export class Interpreter {
  private readonly payloads = new Map<number, string>();
  private readonly messages0 = new Map<number, Message>();
  /** The message without transfers made last, and its payload size (-1: none yet). */
  private lastMessageBytes = -1;
  private lastMessage: Message | null = null;

  constructor(private readonly sim: Simulation) {}

  /** The thread's next action; sets prog.op for Action.Op. Zero-cost steps and compute are folded in. */
  nextAction(t: ThreadRt): Action {
    const peer = t.peer;
    const prog = t.prog;
    if (prog.closing) return peer.closed ? Action.None : Action.Op;
    for (;;) {
      if (peer.closed) return Action.None;
      if (prog.bindNames) return this.receiveOp(t, 1, FOREVER_MS);
      if (prog.serve) return this.serveAction(t);
      const step = this.nextStep(t);
      if (!step) return Action.None;
      prog.step = step;
      const action = this.stepAction(t, step);
      if (action !== null) return action;
    }
  }

  /** The next action of a serve loop: answer the batch's calls (and messages), or receive the next batch. */
  private serveAction(t: ThreadRt): Action {
    const prog = t.prog;
    const peer = t.peer;
    const s = prog.serve!;
    while (prog.batchIndex < prog.batch.length) {
      const d = prog.batch[prog.batchIndex++];
      if (d.kind === 'notice') {
        if (d.notice.type === 'no-senders' && (s.until ?? 'no-senders') === 'no-senders') {
          prog.serve = null;
          prog.batch = [];
          prog.op = { op: 'close', peer: peer.id };
          prog.step = null;
          return Action.Op;
        }
        continue;
      }
      this.compute(s.serviceNs ?? 0);
      if (d.kind === 'call') {
        if (s.calls !== undefined && ++prog.served >= s.calls) prog.serve = null; // answer this one, then go on
        // The last call of a batch: with replyReceive, the answer and the next receive are one step (CALL-10).
        if (
          s.replyReceive &&
          prog.serve !== null &&
          prog.batchIndex >= prog.batch.length &&
          !(peer.stoppedUntilNs > this.sim.now)
        )
          return this.replyReceiveOp(t, d.replyHandle, s.replyBytes ?? 0, s.max ?? 1);
        return this.messageOp(t, 'reply', d.replyHandle, s.replyBytes ?? 0, undefined, undefined, null);
      }
      if (d.kind === 'message' && s.answerTo !== undefined)
        return this.messageOp(t, 'send', this.resolve(t, s.answerTo), s.replyBytes ?? 0, undefined, undefined, null);
    }
    const now = this.sim.now;
    if (peer.stoppedUntilNs > now) {
      prog.opBytes = peer.stoppedUntilNs - now;
      return Action.Sleep;
    }
    return this.receiveOp(t, s.max ?? 1, FOREVER_MS);
  }

  /** The action of one step, or null when the step costs no operation and the program goes on. */
  private stepAction(t: ThreadRt, step: Step): Action | null {
    const sim = this.sim;
    const prog = t.prog;
    const peer = t.peer;
    switch (step.do) {
      case 'timerStart':
        prog.timerStartNs = sim.now + sim.d;
        return null;
      case 'timerStop':
        sim.metrics.sample(sim.now + sim.d - prog.timerStartNs);
        return null;
      case 'compute':
        this.compute(step.ns);
        return null;
      case 'sleep':
        prog.opBytes = step.ns;
        return Action.Sleep;
      case 'serve':
        prog.serve = step;
        prog.batch = [];
        prog.batchIndex = 0;
        prog.served = 0;
        return null;
      case 'call':
      case 'send': {
        const h = this.resolve(t, step.to);
        if (h < 0) return this.skip(h);
        const flagged = this.flaggedTransfer(t, step.transfers);
        if (flagged < 0) return this.skip(flagged); // it arrived revoked/dead (RECV-3)
        return this.messageOp(t, step.do, h, step.bytes, step.transfers, step.timeoutMs, step);
      }
      case 'reply':
        return this.messageOp(t, 'reply', peer.replyQueue.shift() ?? 0, step.bytes, step.transfers, undefined, step);
      case 'multicast': {
        const handles = step.to.map((n) => this.resolve(t, n));
        const live = handles.filter((h) => h >= 0);
        if (live.length === 0) return this.skip(handles[0]);
        prog.opBytes = step.bytes;
        prog.op = {
          op: 'multicast',
          peer: peer.id,
          handles: live,
          message: this.message(t, step.bytes, step.transfers),
          ...(step.skipFull ? { skipFull: true } : {}),
        };
        return Action.Op;
      }
      case 'receive':
        if (peer.stoppedUntilNs > sim.now) {
          prog.frames[prog.frames.length - 1].i--;
          prog.opBytes = peer.stoppedUntilNs - sim.now;
          return Action.Sleep;
        }
        if (step.bind) prog.bindNames = step.bind;
        return this.receiveOp(t, step.max ?? 1, step.timeoutMs ?? FOREVER_MS);
      case 'mint': {
        const h = this.resolve(t, step.from);
        if (h < 0) return this.skip(h);
        const mint: MintOp = { op: 'mint', peer: peer.id, handle: h, rights: step.rights };
        if (step.badge !== undefined) mint.badge = step.badge;
        prog.op = mint;
        return Action.Op;
      }
      case 'release':
      case 'revoke':
      case 'destroyNode': {
        const h = this.resolve(t, step.handle);
        if (h < 0) return this.skip(h);
        prog.op = { op: step.do, peer: peer.id, handle: h };
        return Action.Op;
      }
      case 'close':
        prog.op = { op: 'close', peer: peer.id };
        return Action.Op;
      case 'repeat':
        return null; // handled by nextStep
    }
  }

  /** CPU work of the thread's own: it adds to the running thread's local clock. */
  private compute(ns: number): void {
    if (ns <= 0) return;
    const sim = this.sim;
    const c = sim.cost(ns);
    sim.metrics.computeNs += c;
    sim.metrics.busyNs += c;
    sim.d += c;
  }

  /** A step through a handle that arrived revoked (-1) or dead (-2) is skipped with that outcome. */
  private skip(marker: number): null {
    this.sim.metrics.count(marker === -1 ? 'REVOKED' : 'DEAD');
    return null;
  }

  /** A name in the peer's program: a handle name; -1/-2 for a handle that arrived revoked/dead; 0 (never issued) when unknown. */
  private resolve(t: ThreadRt, name: string): number {
    return t.peer.env.get(name) ?? 0;
  }

  private payload(bytes: number): string {
    let p = this.payloads.get(bytes);
    if (p === undefined) this.payloads.set(bytes, (p = Buffer.alloc(bytes).toString('base64')));
    return p;
  }

  private message(t: ThreadRt, bytes: number, transfers: TransferSpec[] | undefined): Message {
    if (!transfers || transfers.length === 0) {
      // The model never changes a message it is given (a blocked send keeps its own clone, SEND-7).
      if (bytes === this.lastMessageBytes) return this.lastMessage!;
      let m = this.messages0.get(bytes);
      if (!m) this.messages0.set(bytes, (m = { segments: [this.payload(bytes)] }));
      this.lastMessageBytes = bytes;
      this.lastMessage = m;
      return m;
    }
    const m: Message = { segments: [this.payload(bytes)] };
    const list: Transfer[] = [];
    for (let i = 0; i < transfers.length; i++) {
      const x = transfers[i];
      const tr: Transfer = { handle: this.resolve(t, x.handle) };
      if (x.rights) tr.rights = x.rights;
      if (x.move) tr.move = true;
      list.push(tr);
    }
    m.transfers = list;
    return m;
  }

  /** The first transfer whose handle arrived revoked (-1) or dead (-2), or 0 when none did. */
  private flaggedTransfer(t: ThreadRt, transfers: TransferSpec[] | undefined): number {
    if (transfers === undefined) return 0;
    for (let i = 0; i < transfers.length; i++) {
      const h = this.resolve(t, transfers[i].handle);
      if (h < 0) return h;
    }
    return 0;
  }

  private messageOp(
    t: ThreadRt,
    kind: 'send' | 'call' | 'reply',
    handle: number,
    bytes: number,
    transfers: TransferSpec[] | undefined,
    timeoutMs: number | undefined,
    step: Step | null,
  ): Action {
    const prog = t.prog;
    prog.opBytes = bytes;
    prog.step = step;
    const message = this.message(t, bytes, transfers);
    // The same send or call as the thread's last one (a loop): its op again (the model keeps no
    // reference to an op and changes none; a blocked send keeps its own copy, SEND-7).
    const last = prog.lastMsgOp;
    if (
      kind !== 'reply' &&
      last !== null &&
      last.op === kind &&
      last.handle === handle &&
      last.message === message &&
      prog.lastMsgTimeout === timeoutMs
    ) {
      prog.op = last;
      return Action.Op;
    }
    const peer = t.peer.id;
    if (kind === 'reply') prog.op = { op: 'reply', peer, handle, message };
    else if (kind === 'call')
      prog.op =
        timeoutMs === undefined
          ? { op: 'call', peer, handle, message }
          : { op: 'call', peer, handle, message, timeoutMs };
    // A send step without timeoutMs does not wait for room: timeoutMs 0 in the model (TIME-4).
    else prog.op = { op: 'send', peer, handle, message, timeoutMs: timeoutMs ?? 0 };
    if (kind !== 'reply') {
      prog.lastMsgOp = prog.op as SendOp | CallOp;
      prog.lastMsgTimeout = timeoutMs;
    }
    return Action.Op;
  }

  /** CALL-10: answer a call and receive the next batch in one operation; its result is the receive's. */
  private replyReceiveOp(t: ThreadRt, handle: number, bytes: number, max: number): Action {
    const prog = t.prog;
    prog.opBytes = bytes;
    prog.step = null;
    const m = this.sim.profile.batchReceive ? max : 1;
    const message = this.message(t, bytes, undefined);
    prog.op = { op: 'replyReceive', peer: t.peer.id, handle, message, max: m, timeoutMs: FOREVER_MS };
    return Action.Op;
  }

  private receiveOp(t: ThreadRt, max: number, timeoutMs: number): Action {
    const prog = t.prog;
    const m = this.sim.profile.batchReceive ? max : 1;
    const last = prog.lastRecvOp;
    prog.op =
      last !== null && last.max === m && last.timeoutMs === timeoutMs
        ? last
        : (prog.lastRecvOp = { op: 'receive', peer: t.peer.id, max: m, timeoutMs });
    prog.opBytes = 0;
    return Action.Op;
  }

  /** The next step of the program (entering repeats), or null at its end. */
  private nextStep(t: ThreadRt): Step | null {
    const frames = t.prog.frames;
    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (f.i < f.body.length) {
        const s = f.body[f.i++];
        if (s.do === 'repeat') {
          frames.push({ body: s.body, i: 0, left: s.times - 1 });
          continue;
        }
        return s;
      }
      if (f.left > 0) {
        f.left--;
        f.i = 0;
        continue;
      }
      frames.pop();
    }
    return null;
  }

  /** Where a thread is in its program, for error messages: "peer#0 step 2.1 (send)". */
  where(t: ThreadRt): string {
    const prog = t.prog;
    const path = prog.frames.map((f) => f.i).join('.');
    const what = prog.serve ? 'serve' : prog.step ? prog.step.do : prog.op ? prog.op.op : '?';
    return `peer ${t.peer.name} thread ${t.name} step ${path || 'end'} (${what}${prog.op ? ` -> ${prog.op.op}` : ''})`;
  }

  /** The CPU cost of the thread's operation by the profile (before jitter); counts its system calls. */
  opCost(t: ThreadRt, op: Operation): number {
    const sim = this.sim;
    const P = sim.profile;
    const prog = t.prog;
    let c = 0;
    let sys = 0;
    switch (op.op) {
      case 'send':
      case 'call':
      case 'reply':
      case 'multicast': {
        const o = op.op === 'multicast' ? P.ops.send : P.ops[op.op];
        c = o.cpu.ns;
        sys = o.syscalls;
        const bytes = prog.opBytes;
        const transfers = op.message.transfers?.length ?? 0;
        const copies = op.op === 'multicast' ? op.handles.length : 1;
        c += sim.copyNs(bytes) * copies + transfers * P.handleTransfer.ns * copies;
        if (op.op === 'multicast') {
          c += (op.handles.length - 1) * P.ops.multicastPerDestination.ns;
          if (P.ops.multicastPerDestination.ns >= P.ops.send.cpu.ns * 0.5) sys *= op.handles.length; // one send per destination
        }
        prog.afterReply = op.op === 'reply';
        break;
      }
      case 'receive':
        c = P.ops.receive.cpu.ns;
        sys = P.ops.receive.syscalls;
        if (prog.afterReply && P.fuseReplyReceive && sys > 0) {
          sys = 0;
          c = Math.max(0, c - P.syscall.ns);
        }
        prog.afterReply = false;
        break;
      case 'replyReceive':
        // One operation: the reply's cost and the receive's, in one kernel entry where the transport has
        // one for both (fuseReplyReceive), else in two (a socket's sendmsg and recvmsg).
        c = P.ops.reply.cpu.ns + sim.copyNs(prog.opBytes) + P.ops.receive.cpu.ns;
        sys = P.ops.reply.syscalls + P.ops.receive.syscalls;
        if (P.fuseReplyReceive && P.ops.receive.syscalls > 0) {
          sys -= P.ops.receive.syscalls;
          c = Math.max(0, c - P.syscall.ns);
        }
        prog.afterReply = false;
        break;
      default:
        c = P.ops.control.cpu.ns;
        sys = P.ops.control.syscalls;
        prog.afterReply = false;
    }
    sim.metrics.syscalls += sys;
    return c;
  }

  /** Process an operation's result; returns the CPU time its processing costs (receive side). */
  finish(t: ThreadRt, result: Result): number {
    const prog = t.prog;
    const op = prog.op!;
    if (!result.ok) return this.failed(t, op, result.error);
    const sim = this.sim;
    const P = sim.profile;
    switch (op.op) {
      case 'call': {
        sim.metrics.calls++;
        sim.metrics.messages++;
        sim.metrics.replies++;
        const reply = (result.value as { reply: { payload: string } }).reply;
        const bytes = (reply.payload.length * 3) >> 2;
        const c = sim.cost(P.ops.receivePerMessage.ns + (P.copies >= 2 ? sim.copyNs(bytes) : 0));
        // The round trip: from issuing the call to having taken the reply in.
        sim.metrics.sample(sim.now + sim.d + c - prog.opStartNs);
        return c;
      }
      case 'receive':
      case 'replyReceive':
        return this.received(t, (result.value as { deliveries: Delivery[] }).deliveries);
      case 'mint':
        if (prog.step?.do === 'mint') t.peer.env.set(prog.step.as, (result.value as { handle: number }).handle);
        return 0;
      default:
        return 0;
    }
  }

  /** A failed operation: an outcome the program is ready for, or a scenario that breaks the spec. */
  private failed(t: ThreadRt, op: Operation, code: ErrorCode): number {
    const prog = t.prog;
    this.sim.metrics.count(code);
    if (prog.bindNames && code !== 'CLOSED') prog.bindNames = null;
    if (code === 'CLOSED') {
      prog.bindNames = null;
      prog.serve = null;
      return 0;
    }
    if (OUTCOMES.has(code) || (prog.step?.expect?.includes(code) ?? false)) return 0;
    if (code === 'QUEUE_FULL' && op.op === 'send' && (op.timeoutMs ?? 0) > 0) return 0;
    throw new ScenarioError(code, this.where(t), `the model rejected ${op.op} with ${code}`);
  }

  /** The deliveries of a receive: counted, bound, queued for replies or for the serve loop. */
  private received(t: ThreadRt, deliveries: Delivery[]): number {
    const sim = this.sim;
    const P = sim.profile;
    const prog = t.prog;
    let c = 0;
    let gotMessage = false;
    const bindNames = prog.bindNames;
    let bound = 0;
    for (const d of deliveries) {
      if (d.kind === 'notice') {
        sim.metrics.count(noticeKey(d.notice.type));
        continue;
      }
      if (d.kind === 'reply') continue;
      gotMessage = true;
      sim.metrics.messages++;
      const bytes = (d.payload.length * 3) >> 2;
      c +=
        P.ops.receivePerMessage.ns +
        (P.copies >= 2 ? sim.copyNs(bytes) : 0) +
        d.handles.length * P.handleTransfer.ns * 0.5;
      if (bindNames) {
        for (const h of d.handles) {
          if (bound < bindNames.length) t.peer.env.set(bindNames[bound++], h.name ?? (h.state === 'revoked' ? -1 : -2));
        }
      }
      if (d.kind === 'call' && !prog.serve) t.peer.replyQueue.push(d.replyHandle);
    }
    if (!prog.serve && !bindNames && deliveries.length === 0) sim.metrics.count('empty-receive');
    if (bindNames && gotMessage) prog.bindNames = null;
    if (prog.serve) {
      prog.batch = deliveries;
      prog.batchIndex = 0;
    }
    if (sim.oneWayLatency) {
      const done = sim.now + sim.d + c;
      const sent = prog.lastSent;
      for (let i = 0; i < prog.lastN; i++) if (sent[i] === sent[i]) sim.metrics.sample(done - sent[i]); // NaN: a notice
    }
    return sim.cost(c);
  }
}
