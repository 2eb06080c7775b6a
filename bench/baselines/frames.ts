/** 4-byte little-endian length-prefixed framing over a byte stream. */

export type FrameHandler = (buf: Buffer, start: number, len: number) => void;

/** Incremental frame parser; calls onFrame(buf, payloadStart, payloadLength) per complete frame. */
export class FrameReader {
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** Length of the frame being assembled across chunks (-1 = header not complete yet). */
  private need = -1;

  constructor(private readonly onFrame: FrameHandler) {}

  push(chunk: Buffer): void {
    if (this.partsLen > 0) {
      this.parts.push(chunk);
      this.partsLen += chunk.length;
      if (this.need < 0 && this.partsLen >= 4) this.need = 4 + this.peekLen();
      if (this.need < 0 || this.partsLen < this.need) return;
      chunk = Buffer.concat(this.parts, this.partsLen);
      this.parts = [];
      this.partsLen = 0;
      this.need = -1;
    }
    const n = chunk.length;
    let off = 0;
    while (n - off >= 4) {
      const len = chunk.readUInt32LE(off);
      if (n - off - 4 < len) break;
      this.onFrame(chunk, off + 4, len);
      off += 4 + len;
    }
    if (off < n) {
      const rest = chunk.subarray(off); // chunks from net are fresh buffers, safe to keep
      this.parts.push(rest);
      this.partsLen = rest.length;
      this.need = rest.length >= 4 ? 4 + rest.readUInt32LE(0) : -1;
    }
  }

  private peekLen(): number {
    const head = Buffer.concat(this.parts, this.partsLen).subarray(0, 4);
    return head.readUInt32LE(0);
  }
}

export function makeFrame(payloadLen: number, fill: number): Buffer {
  const b = Buffer.alloc(4 + payloadLen, fill);
  b.writeUInt32LE(payloadLen, 0);
  return b;
}
