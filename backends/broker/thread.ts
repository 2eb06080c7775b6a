// The broker's thread: a worker thread of the bus owner's process that owns the bus and serves
// every peer's rings. It never returns to its event loop while serving: it polls the rings,
// spins while idle (spin.ts), and sleeps in one futex_waitv on the bell word of every peer's
// segment plus its own control word (native waitAny), so a request wakes it without any word
// being shared between two peers. The owner's thread talks to it through a MessagePort it reads
// synchronously when the control word moves (server.ts).
import { receiveMessageOnPort, workerData, type MessagePort } from 'worker_threads';
import { capabilities, notify, wait, waitAny, type WaitWord } from '../../native';
import type { Operation, PeerId } from '../../spec/types';
import { BrokerCore, zeroTimes, type BrokerBusOptions } from './core';
import type { SegmentLayout } from './layout';
import { W } from './layout';
import { IdleSpin, SpinBudget, type SpinOptions } from './spin';

/** Control messages from the owner's thread. */
export type ToBroker =
  | { t: 'run'; id: number; op: Operation }
  | { t: 'bind'; id: number; peer: PeerId; sab: SharedArrayBuffer; layout: SegmentLayout }
  | { t: 'gone'; id: number; peer: PeerId }
  | { t: 'audit'; id: number }
  | { t: 'counters'; id: number; peer: PeerId }
  | { t: 'given'; id: number }
  | { t: 'times'; id: number; timed: boolean }
  | { t: 'reset'; id: number; bus: BrokerBusOptions }
  | { t: 'stop'; id: number };

/** Answers: `id` of the message answered, and its value or the error it threw. */
export type FromBroker = { id: number; value?: unknown; error?: string };

export interface BrokerThreadData {
  port: MessagePort;
  /** Int32 words: [0] the control sequence, bumped (and notified) after every message posted. */
  control: SharedArrayBuffer;
  bus: BrokerBusOptions;
  spin: SpinOptions;
}

/** A peer whose bell woke the broker for nothing this many sleeps in a row is not slept on for a while. */
const IDLE_BELLS_TOLERATED = 64;
/** How long a peer whose bell rang for nothing that often is polled instead of slept on, ms. */
const MUTE_MS = 100;
/** How long such a peer, and peers beyond futex_waitv's 128 words, wait for a poll at most, ms. */
const POLL_MS = 2;
const WAITV_MAX = 128;

/** A control message other than stop and reset, on the current core; its answer. */
function control1(core: BrokerCore, msg: Exclude<ToBroker, { t: 'stop' } | { t: 'reset' }>): unknown {
  switch (msg.t) {
    case 'run':
      return core.ownerRun(msg.op);
    case 'bind':
      return core.addSession(msg.peer, msg.sab, msg.layout);
    case 'gone':
      return core.peerGone(msg.peer);
    case 'audit':
      return core.bus.audit();
    case 'counters':
      return core.counters(msg.peer);
    case 'given':
      return core.completionsGiven();
    case 'times': {
      const t = { ...core.times };
      core.timed = msg.timed;
      Object.assign(core.times, zeroTimes());
      return t;
    }
  }
}

function serve(data: BrokerThreadData): void {
  const { port } = data;
  const control = new Int32Array(data.control);
  const wake = (i32: Int32Array, index: number) => {
    if (notify(i32, index) > 0) core.times.wakes++;
  };
  let core = new BrokerCore(data.bus, wake);
  const budget = new SpinBudget(data.spin);
  const idle = new IdleSpin(budget);
  const waitv = capabilities().futexWaitv;
  let seenControl = Atomics.load(control, 0);
  /** Idle bells per peer at the last sleep, and peers not slept on until a time (ms). */
  const bellsAt = new Map<PeerId, number>();
  const muted = new Map<PeerId, number>();
  const strikes = new Map<PeerId, number>();

  const answer = (id: number, f: () => unknown): void => {
    try {
      port.postMessage({ id, value: f() } satisfies FromBroker);
    } catch (e) {
      port.postMessage({ id, error: (e as Error)?.stack ?? String(e) } satisfies FromBroker);
    }
  };

  /** Handles every control message posted; false once told to stop. */
  const drainControl = (): boolean => {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
      const msg = m.message as ToBroker;
      if (msg.t === 'stop') {
        answer(msg.id, () => true);
        return false;
      }
      if (msg.t === 'reset') {
        answer(msg.id, () => {
          core = new BrokerCore(msg.bus, wake);
          bellsAt.clear();
          muted.clear();
          strikes.clear();
          return core.limits;
        });
        continue;
      }
      answer(msg.id, () => control1(core, msg));
    }
    return true;
  };

  const sleep = (): void => {
    const prep = core.prepareSleep();
    if (prep === null) return;
    const now = performance.now();
    const words: WaitWord[] = [{ i32: control, index: 0, value: seenControl }];
    let polled = false;
    prep.sessions.forEach((s, k) => {
      const until = muted.get(s.peer);
      if (until !== undefined && until > now) return void (polled = true);
      if (words.length >= WAITV_MAX) return void (polled = true);
      words.push({ i32: s.i32, index: W.BELL, value: prep.bells[k] });
    });
    let timeoutMs = core.msToDeadline();
    if (polled || !waitv) timeoutMs = Math.min(timeoutMs, POLL_MS);
    core.times.sleeps++;
    if (waitv) waitAny(words, timeoutMs);
    else wait(control, 0, seenControl, timeoutMs);
    core.wake();
    // A peer whose bell keeps ringing with nothing to read is polled instead of slept on for a while.
    for (const s of prep.sessions) {
      const rang = s.counters.idleBells > (bellsAt.get(s.peer) ?? 0);
      bellsAt.set(s.peer, s.counters.idleBells);
      const n = rang ? (strikes.get(s.peer) ?? 0) + 1 : 0;
      strikes.set(s.peer, n);
      if (n >= IDLE_BELLS_TOLERATED) {
        muted.set(s.peer, performance.now() + MUTE_MS);
        strikes.set(s.peer, 0);
      }
    }
  };

  // An idle stretch: from a round without work to the next round with work. It spins first
  // (IdleSpin), then sleeps; the budget grows back when work came while spinning (SpinBudget).
  let idleStretch = false,
    slept = false;
  // Messages posted before this thread started moved the control word before it was read.
  if (!drainControl()) return;
  for (;;) {
    const c = Atomics.load(control, 0);
    if (c !== seenControl) {
      seenControl = c;
      if (!drainControl()) return;
    }
    if (core.round() > 0) {
      if (idleStretch && !slept) budget.won();
      idleStretch = slept = false;
      continue;
    }
    if (!idleStretch) {
      idle.start();
      idleStretch = true;
    }
    if (idle.tick() || Atomics.load(control, 0) !== seenControl) continue;
    if (!slept) budget.lost();
    slept = true;
    sleep();
  }
}

serve(workerData as BrokerThreadData);
