// Bounded JSON-lines reading, for both sides of the stdio driver protocol. A line
// may be at most maxLineBytes long: a longer one is reported as soon as it passes
// the bound (a peer that writes without end never grows our memory without end),
// and the rest of it, up to its newline, is skipped. readline has no such bound:
// a 512 MiB line ends in `RangeError: Invalid string length`.
import type { Readable } from 'stream';

/** The longest line either side reads (bytes, newline excluded): 16 MiB. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** How much of an over-long line an error message shows. */
const HEAD_BYTES = 120;

export interface LineHandlers {
  /** One complete line, UTF-8 decoded, without its newline (a trailing CR is dropped too). */
  line(text: string): void;
  /** A line passed maxLineBytes: `head` is its beginning; the rest of it is skipped. */
  overlong(head: string, maxLineBytes: number): void;
  /** The input ended (after the last line). */
  end?(): void;
}

/**
 * Split `input` into lines, at most `maxLineBytes` each. Returns a function that
 * stops reading (the input is then left alone: the caller ends or destroys it).
 */
export function readLines(input: Readable, handlers: LineHandlers, maxLineBytes = MAX_LINE_BYTES): () => void {
  let parts: Buffer[] = [];
  let size = 0;
  let skipping = false;
  let stopped = false;

  const emit = (last: Buffer) => {
    const buffer = parts.length === 0 ? last : Buffer.concat([...parts, last]);
    parts = [];
    size = 0;
    const text = buffer.toString('utf8');
    handlers.line(text.endsWith('\r') ? text.slice(0, -1) : text);
  };
  const tooLong = (last: Buffer) => {
    const head = Buffer.concat([...parts, last.subarray(0, HEAD_BYTES)]).subarray(0, HEAD_BYTES);
    parts = [];
    size = 0;
    skipping = true;
    handlers.overlong(head.toString('utf8'), maxLineBytes);
  };

  const onData = (data: Buffer | string) => {
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let start = 0;
    while (!stopped && start <= chunk.length) {
      const newline = chunk.indexOf(10, start);
      const piece = chunk.subarray(start, newline < 0 ? chunk.length : newline);
      if (skipping) {
        if (newline >= 0) skipping = false;
      } else if (size + piece.length > maxLineBytes) {
        tooLong(piece);
        if (newline >= 0) skipping = false;
      } else if (newline >= 0) {
        emit(piece);
      } else if (piece.length > 0) {
        parts.push(piece);
        size += piece.length;
      }
      if (newline < 0) break;
      start = newline + 1;
    }
  };
  const onEnd = () => {
    if (stopped) return;
    if (size > 0 && !skipping) emit(Buffer.alloc(0));
    handlers.end?.();
  };
  input.on('data', onData);
  input.on('end', onEnd);
  return () => {
    stopped = true;
    input.off('data', onData);
    input.off('end', onEnd);
  };
}
