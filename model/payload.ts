// Base64 payload helpers shared by the model and the tools around it.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isBase64(text: unknown): text is string {
  return typeof text === 'string' && BASE64.test(text);
}

/** Decoded length of a valid base64 string, without decoding it. */
export function base64Bytes(text: string): number {
  if (text.length === 0) return 0;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

/** Gather segments into one payload (SEND-2). */
export function gather(segments: readonly string[]): string {
  if (segments.length === 1) return segments[0];
  return Buffer.concat(segments.map((s) => Buffer.from(s, 'base64'))).toString('base64');
}

export function toBase64(text: string | Uint8Array): string {
  return (typeof text === 'string' ? Buffer.from(text, 'utf8') : Buffer.from(text)).toString('base64');
}

/** A payload as a person reads it: text when printable, else hex. */
export function describePayload(payload: string): string {
  const bytes = Buffer.from(payload, 'base64');
  const text = bytes.toString('utf8');
  if (/^[\x20-\x7e]*$/.test(text)) return JSON.stringify(text);
  return `0x${bytes.toString('hex').slice(0, 64)}${bytes.length > 32 ? '...' : ''} (${bytes.length} B)`;
}
