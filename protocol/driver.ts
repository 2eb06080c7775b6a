// The one narrow door through which the suite drives an implementation under
// test: implementations plug in through this one interface. The same
// interface is served in-process (backends/<name>/driver.ts) and over JSON
// lines on stdio (conformance/stdio.ts, documented in conformance/README.md).
//
// Names: an implementation may number handles, peers and tickets any way that
// never reuses a name (HANDLE-2, PEER-1, TIME-2); the suite keeps a bijection
// between model names and implementation names and translates both ways.
import type { Completion, Invocation, Limits, Operation, OperationName } from '../spec/types';

/** The driver protocol version this suite speaks: protocol 2 is Tessera v2 (spec/spec.md). */
export const PROTOCOL_VERSION = '2';

/**
 * The one message for a driver of another protocol version, as both sides of the stdio
 * protocol and the in-process harness give it.
 */
export function protocolMismatch(driverVersion: unknown, suiteVersion: unknown = PROTOCOL_VERSION): string {
  const what =
    String(driverVersion) === '1' && suiteVersion === '2'
      ? ': protocol 2 is Tessera v2, which adds the limits maxNodesPerPeer, maxPendingPerPeer and senderQuotaHandles; ' +
        "the operations sameNode, cancel and replyReceive; createNode's acceptsHandles, destroyNode's derivedCount, " +
        "call's replierCredentials and multicast's skipFull (with a full list in its result); the notices " +
        'call-abandoned and room; a peerKey in every credentials record; the errors STALE, TOO_MANY_PENDING and ' +
        'CANCELLED; and changes no-senders notices (NOTICE-6), blocked sends (SEND-8), timeouts (a timeoutMs left ' +
        'out means no limit, 0 no waiting, TIME-4) and calls that end without a reply (withdrawn or told, CALL-8; ' +
        'a received call survives destroyNode, DESTROY-4); see conformance/README.md, "Protocol 2"'
      : '';
  return `the driver speaks protocol version ${JSON.stringify(driverVersion)} and the suite ${JSON.stringify(suiteVersion)}${what}`;
}

/**
 * Optional features an implementation may declare. A case or property command
 * that needs an undeclared feature is reported UNSUPPORTED, never FAIL.
 */
export type Feature =
  /** Time moves only by the `tick` operation (TIME-1): timeouts are testable deterministically. */
  | 'virtual-clock'
  /** `reset` honours the limits asked for (BUS-1); otherwise the declared limits are used. */
  | 'configurable-limits'
  /** createNode({credentials: true}) stamps credentials (CRED-1). */
  | 'credentials'
  /** Messages may carry handles (SEND-4..SEND-6). */
  | 'transfers'
  /** send with timeoutMs > 0 waits for room (SEND-7). */
  | 'blocking-send'
  /** receive with timeoutMs > 0 waits for a batch (RECV-2). */
  | 'blocking-receive'
  /** Operations of different peers really run concurrently (linearizability is meaningful). */
  | 'concurrency';

export const FEATURES: readonly Feature[] = [
  'virtual-clock',
  'configurable-limits',
  'credentials',
  'transfers',
  'blocking-send',
  'blocking-receive',
  'concurrency',
];

/** What an implementation says about itself in the init handshake. */
export interface DriverInfo {
  /** A short name, e.g. "reference" or "shm". */
  name: string;
  /** The driver protocol version it speaks (PROTOCOL_VERSION). */
  protocolVersion: string;
  /** The limits it enforces by default (BUS-1). */
  limits: Limits;
  /** The operations it implements; the suite never sends others. */
  operations: OperationName[];
  /** Optional features it supports. */
  features: Feature[];
}

/**
 * An implementation under test. Every method may reject: the suite reports a
 * rejection as a driver error, never as a conformance failure of the protocol.
 */
export interface Driver {
  /** The handshake. Called once, first. */
  init(): Promise<DriverInfo>;
  /**
   * Start a fresh bus with these limits (only honoured with 'configurable-limits').
   * Resolves with the limits actually in force; the model uses those.
   */
  reset(limits: Limits): Promise<Limits>;
  /**
   * Perform one operation of the spec, with the implementation's own names.
   * A blocking operation that cannot complete now resolves `{pending, ticket}`
   * with the implementation's ticket; its outcome arrives later as a completion.
   * In sequential use, every completion an operation causes should be reported
   * before (or shortly after) the operation resolves; the suite waits a grace
   * period for completions it expects.
   */
  invoke(op: Operation): Promise<Invocation>;
  /** Register the listener for completions of pending operations (TIME-2). */
  onCompletion(listener: (completion: Completion) => void): void;
  /** Release the implementation (ends the child process of a stdio driver). */
  close(): Promise<void>;
}

/** A fault of the driver itself (protocol violation, crash, silence), not of the protocol's semantics. */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly offendingLine?: string,
  ) {
    super(
      offendingLine === undefined
        ? message
        : `${message}\n  offending line: ${offendingLine.length > 300 ? offendingLine.slice(0, 300) + '...' : offendingLine}`,
    );
    this.name = 'DriverError';
  }
}
