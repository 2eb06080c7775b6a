// The driver protocol on the wire: JSON lines over a child process's stdio
// (conformance/README.md). The suite writes requests on the child's stdin;
// the child writes responses and completions on stdout, one JSON object per
// line, and logs on stderr. JSON Schemas are generated from these types
// (conformance/schema/, `npm run schemas`) and every line is validated.
import type { Completion, Invocation, Limits, OperationName } from '../spec/types';
import type { Feature } from './driver';

/**
 * A request or response id, chosen by the suite.
 * @TJS-type integer
 * @minimum 0
 * @maximum 9007199254740991
 */
export type RequestId = number;

/**
 * An operation of the spec (spec/schema/Operation.json). The suite sends
 * deliberately malformed operations too (to test INVALID_ARGUMENT), so the
 * envelope only requires the `op` field; the implementation answers a
 * malformed operation with its INVALID_ARGUMENT result, not a protocol error.
 */
export interface WireOperation {
  op: string;
  [field: string]: unknown;
}

/** The handshake: the first request. */
export interface InitRequest {
  type: 'init';
  id: RequestId;
  protocolVersion: string;
}
/** Start a fresh bus with these limits (honoured with the 'configurable-limits' feature). */
export interface ResetRequest {
  type: 'reset';
  id: RequestId;
  limits: Limits;
}
/** Perform one operation; with the implementation's names. */
export interface InvokeRequest {
  type: 'invoke';
  id: RequestId;
  op: WireOperation;
}
/** The last request: answer, then exit. */
export interface ShutdownRequest {
  type: 'shutdown';
  id: RequestId;
}
export type DriverRequest = InitRequest | ResetRequest | InvokeRequest | ShutdownRequest;

export interface DriverInfoWire {
  name: string;
  protocolVersion: string;
  limits: Limits;
  operations: OperationName[];
  features: Feature[];
}
export interface InitResponse {
  type: 'init_ok';
  id: RequestId;
  info: DriverInfoWire;
}
export interface ResetResponse {
  type: 'reset_ok';
  id: RequestId;
  /** The limits in force. */
  limits: Limits;
}
/**
 * The result of an operation: a result, or pending with the implementation's
 * ticket. Completions an operation causes are written before its response.
 */
export interface InvokeResponse {
  type: 'invoke_ok';
  id: RequestId;
  invocation: Invocation;
}
export interface ShutdownResponse {
  type: 'shutdown_ok';
  id: RequestId;
}
/** A pending operation completed (TIME-2). Not an answer to a request: it has no id. */
export interface CompletionMessage {
  type: 'completion';
  completion: Completion;
}
/** The implementation could not handle a request (a bug in it or in the suite, never a protocol result). */
export interface ErrorResponse {
  type: 'error';
  /** null when the request could not be read at all. */
  id: RequestId | null;
  message: string;
}
export type DriverResponse =
  InitResponse | ResetResponse | InvokeResponse | ShutdownResponse | CompletionMessage | ErrorResponse;
