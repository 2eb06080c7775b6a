// Outcomes inside the bus are small integers, so that the operations return them
// without allocating: 0 is success, and an error is its place in the spec's error
// registry (ERR-2) plus one. The codes themselves are never written here: they
// come from the registry, and the compiler checks every name used.
import type { ErrorCode } from '../../spec/types';
import { ERROR_CODES } from '../../spec/registry/errors';

/** An operation's outcome in the bus: OK, or an error code's status. */
export type Status = number;

export const OK: Status = 0;

/** The status of each error code of the registry. */
export const STATUS: Readonly<Record<ErrorCode, Status>> = Object.freeze(
  Object.fromEntries(ERROR_CODES.map((code, i) => [code, i + 1])) as Record<ErrorCode, Status>,
);

/**
 * Not an outcome the spec knows: a send found no room and its caller waits (SEND-7); nothing
 * changed. The cause tells a waiter whether later sends to the same queue must wait behind it
 * (capacity) or only this sender is over its share (quota).
 */
export const BLOCKED_BY_CAPACITY: Status = 100;
export const BLOCKED_BY_QUOTA: Status = 101;

export function isBlocked(status: Status): boolean {
  return status === BLOCKED_BY_CAPACITY || status === BLOCKED_BY_QUOTA;
}

/** The error code of a failed status. */
export function errorCodeOf(status: Status): ErrorCode {
  const code = ERROR_CODES[status - 1];
  if (code === undefined) throw new RangeError(`shm bus: ${status} is not an error status`);
  return code;
}
