// The script step language: what a simulated thread's program is made of (a workload's
// generator writes programs in it too). The Scenario JSON Schema under simulator/schema/ is
// generated from these (through simulator/types.ts).
import type { Badge, ErrorCode, Right } from '../spec/types';
import type { BatchSize, Name, Nanos, PayloadBytes, TimeoutMs, Times } from './types';

/** A handle a message carries (SEND-4). */
export interface TransferSpec {
  /** The name of the handle to pass on. */
  handle: Name;
  /** Rights the receiver gets, a subset of the handle's (absent: the same). */
  rights?: Right[];
  /**
   * Pass the handle itself (the sender loses it) rather than a copy.
   * @default false
   */
  move?: boolean;
}

/** Fields every step shares. */
export interface StepBase {
  /**
   * Error codes this step may get without failing the scenario (in addition to fault outcomes).
   * @maxItems 32
   */
  expect?: ErrorCode[];
}

export type Step =
  | CallStep
  | SendStep
  | ReplyStep
  | ReceiveStep
  | ServeStep
  | MulticastStep
  | MintStep
  | ReleaseStep
  | RevokeStep
  | DestroyNodeStep
  | CloseStep
  | ComputeStep
  | SleepStep
  | RepeatStep
  | TimerStartStep
  | TimerStopStep;

/** call (CALL-1); the call's latency is recorded. */
export interface CallStep extends StepBase {
  do: 'call';
  /** The name of the handle it goes through. */
  to: Name;
  /** Payload bytes. */
  bytes: PayloadBytes;
  /**
   * Handles the message carries.
   * @maxItems 64
   */
  transfers?: TransferSpec[];
  /** Give up with TIMED_OUT after this long without a reply (CALL-2); absent: wait without limit. */
  timeoutMs?: TimeoutMs;
}
/** send (SEND-1); timeoutMs > 0 waits for room (SEND-7). */
export interface SendStep extends StepBase {
  do: 'send';
  /** The name of the handle it goes through. */
  to: Name;
  /** Payload bytes. */
  bytes: PayloadBytes;
  /**
   * Handles the message carries.
   * @maxItems 64
   */
  transfers?: TransferSpec[];
  /**
   * When the queue is full, wait this long for room (SEND-7); 0: fail QUEUE_FULL at once.
   * @default 0
   */
  timeoutMs?: TimeoutMs;
}
/** Answer the oldest call this peer has received and not answered (CALL-3). */
export interface ReplyStep extends StepBase {
  do: 'reply';
  /** Payload bytes of the reply. */
  bytes: PayloadBytes;
  /**
   * Handles the reply carries.
   * @maxItems 64
   */
  transfers?: TransferSpec[];
}
/**
 * receive (RECV-1); without timeoutMs it waits without limit. With `bind`, it receives until a
 * message or call arrives (notices are counted and skipped) and binds the handles it carries, in
 * order, to those names; a handle that arrives revoked or dead binds as such (later uses are
 * skipped with that outcome, as a program reading the delivery flag would).
 */
export interface ReceiveStep extends StepBase {
  do: 'receive';
  /**
   * Deliveries one receive may take (where the profile has batch receive; else 1).
   * @default 1
   */
  max?: BatchSize;
  /** Give up with TIMED_OUT after this long; absent: wait without limit. */
  timeoutMs?: TimeoutMs;
  /**
   * Names for the handles the next message carries, in order.
   * @minItems 1
   * @maxItems 64
   * @items.type string
   * @items.pattern ^[A-Za-z_][A-Za-z0-9_.-]*$
   * @items.maxLength 64
   */
  bind?: string[];
}
/**
 * A server loop: receive batches, spend serviceNs per delivery, reply to calls;
 * ends when a no-senders notice arrives (then the peer closes) or the peer closes.
 */
export interface ServeStep extends StepBase {
  do: 'serve';
  /**
   * Deliveries one receive may take (where the profile has batch receive; else 1).
   * @default 1
   */
  max?: BatchSize;
  /**
   * CPU time spent on each delivery before answering it.
   * @default 0
   */
  serviceNs?: Nanos;
  /**
   * Payload bytes of each reply (and of each answer through answerTo).
   * @default 0
   */
  replyBytes?: PayloadBytes;
  /** Answer plain messages through this handle (send + receive ping-pong). */
  answerTo?: Name;
  /**
   * no-senders (default): a no-senders notice ends the loop and closes the peer; closed: run until the peer closes.
   * @default "no-senders"
   */
  until?: 'no-senders' | 'closed';
  /** End the loop (without closing) after answering this many calls; the program goes on. */
  calls?: Times;
  /** Answer the last call of a batch with replyReceive, which takes the next batch in the same step (CALL-10). */
  replyReceive?: boolean;
}
export interface MulticastStep extends StepBase {
  do: 'multicast';
  /** Skip destinations whose queue is full (MCAST-6); without it a full one fails the whole multicast. */
  skipFull?: boolean;
  /**
   * The names of the handles it goes through, one copy each (ORDER-3).
   * @minItems 1
   * @maxItems 1024
   * @items.type string
   * @items.pattern ^[A-Za-z_][A-Za-z0-9_.-]*$
   * @items.maxLength 64
   */
  to: string[];
  /** Payload bytes. */
  bytes: PayloadBytes;
  /**
   * Handles every copy carries.
   * @maxItems 64
   */
  transfers?: TransferSpec[];
}
export interface MintStep extends StepBase {
  do: 'mint';
  /** The handle to derive from. */
  from: Name;
  /** The name the new handle gets in the program. */
  as: Name;
  /**
   * The new handle's rights, a subset of the source's (MINT-2).
   * @maxItems 2
   */
  rights: Right[];
  /** A badge for the new handle (MINT-3). */
  badge?: Badge;
}
export interface ReleaseStep extends StepBase {
  do: 'release';
  /** The name of the handle it acts on. */
  handle: Name;
}
export interface RevokeStep extends StepBase {
  do: 'revoke';
  /** The name of the handle it acts on. */
  handle: Name;
}
export interface DestroyNodeStep extends StepBase {
  do: 'destroyNode';
  /** The name of the handle it acts on. */
  handle: Name;
}
export interface CloseStep extends StepBase {
  do: 'close';
}
/** CPU work of the thread's own (not IPC). */
export interface ComputeStep extends StepBase {
  do: 'compute';
  /** CPU time the thread spends (it keeps its CPU). */
  ns: Nanos;
}
/** Off-CPU pause (a timer sleep). */
export interface SleepStep extends StepBase {
  do: 'sleep';
  /** Time the thread sleeps (off its CPU), then it wakes after the wake latency. */
  ns: Nanos;
}
export interface RepeatStep extends StepBase {
  do: 'repeat';
  /** Runs of the body. */
  times: Times;
  /**
   * The steps repeated (repeats nest at most 16 deep).
   * @maxItems 10000
   */
  body: Step[];
}
/** Latency probe: the time from timerStart to the next timerStop is one latency sample. */
export interface TimerStartStep extends StepBase {
  do: 'timerStart';
}
export interface TimerStopStep extends StepBase {
  do: 'timerStop';
}
