// What every backend's public API shares: the error it throws for a spec error
// code, and the message input callers give (text, bytes or segments, gathered as
// SEND-2 says). Backends import this, never each other.
import type { ErrorCode, Message, Transfer } from '../spec/types';

/** An operation failed with a spec error code (ERR-2). */
export class TesseraError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly op: string,
  ) {
    super(`${op} failed: ${code}`);
    this.name = 'TesseraError';
  }
}

/** A payload as callers like to give it: text, bytes, or a list of segments (gathered, SEND-2). */
export type PayloadInput = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

export interface MessageInput {
  payload?: PayloadInput;
  handles?: Transfer[];
}

export function toMessage(input: MessageInput = {}): Message {
  const p = input.payload ?? [];
  const parts = typeof p === 'string' || p instanceof Uint8Array ? [p] : p;
  const segments = parts.map((part) =>
    (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part)).toString('base64'),
  );
  return input.handles && input.handles.length > 0 ? { segments, transfers: input.handles } : { segments };
}

/** The payload of a delivery as bytes / as UTF-8 text. */
export function payloadBytes(d: { payload: string }): Uint8Array {
  return new Uint8Array(Buffer.from(d.payload, 'base64'));
}
export function payloadText(d: { payload: string }): string {
  return Buffer.from(d.payload, 'base64').toString('utf8');
}
