// Base64 payload helpers shared by the model and the tools around it.
// Canonical RFC 4648 base64 with padding (SEND-2), checked with a char-code table: every message
// passes through here, and this loop is several times faster than a regex.
const DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** A character's base64 digit value plus one; 0 for characters outside the alphabet. */
const ALPHABET = new Uint8Array(128);
for (let i = 0; i < DIGITS.length; i++) ALPHABET[DIGITS.charCodeAt(i)] = i + 1;
const PAD = 61; // '='

// The last few strings found valid. A simulation sends the same payload strings over and
// over; comparing with one already checked is a pointer or memcmp compare, far cheaper than
// the scan. Only valid strings are remembered, so a hit can only answer true.
const RECENT = 4;
const recentValid: string[] = [];
let recentNext = 0;

export function isBase64(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  for (let i = 0; i < recentValid.length; i++) if (recentValid[i] === text) return true;
  if (!scanBase64(text)) return false;
  recentValid[recentNext] = text;
  recentNext = (recentNext + 1) % RECENT;
  return true;
}

/** SEND-2: canonical base64: length a multiple of 4, padding only at the end, unused bits zero. */
function scanBase64(text: string): boolean {
  const n = text.length;
  if (n % 4 !== 0) return false;
  let end = n;
  if (n > 0 && text.charCodeAt(n - 1) === PAD) end = text.charCodeAt(n - 2) === PAD ? n - 2 : n - 1;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c > 127 || ALPHABET[c] === 0) return false;
  }
  // The last character before the padding carries bits no byte uses: 4 of them before "==", 2 before "=".
  if (end < n) {
    const last = ALPHABET[text.charCodeAt(end - 1)] - 1;
    if ((last & (end === n - 2 ? 15 : 3)) !== 0) return false;
  }
  return true;
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
