// What a driver wrote on stderr, as a failure shows it. The last lines alone
// are often the runtime's own frames (Node's `node:internal/...`, the
// `Node.js v20` banner) with the exception and its location cut off above them;
// so the excerpt leads with the exception (the last line that looks like one, with
// the source location before it and the first frames after it), then the last lines.
const EXCEPTION =
  /^\s*(?:Uncaught\s+)?(?:[\w$.]*(?:Error|Exception)\b(?:\s*\[[\w-]+\])?\s*(?::|$)|Traceback \(most recent call last\)|panic:|thread '.*' panicked|Segmentation fault|Aborted|fatal error:)/;
/** Runtime frames and banners that say nothing about the driver's own code. */
const NOISE = /^\s*at .*\((?:node:internal|internal\/)|^\s*at node:internal|^Node\.js v\d/;

/** Lines shown around the exception: before it (the source line, the caret) and after it (frames). */
const BEFORE = 5;
const AFTER = 6;
const TAIL = 8;

/** The excerpt of a driver's stderr: the exception and its location first, then the last lines. */
export function stderrExcerpt(head: string[], tail: string[], totalLines: number): string {
  // head: the first lines kept; tail: the last lines kept; they overlap when the output was short.
  const overlap = Math.max(0, head.length + tail.length - totalLines);
  const all = totalLines <= tail.length ? tail : [...head, ...(overlap === 0 ? ['...'] : []), ...tail.slice(overlap)];
  if (all.length === 0) return '';
  let e = -1;
  for (let i = all.length - 1; i >= 0; i--)
    if (EXCEPTION.test(all[i])) {
      e = i;
      break;
    }
  const parts: string[] = [];
  let shownUntil = -1;
  if (e >= 0) {
    const from = Math.max(0, e - BEFORE);
    const block = all.slice(from, e + 1 + AFTER).filter((l) => !NOISE.test(l));
    parts.push('  driver stderr (the exception and where it was thrown):', ...block.map((l) => `    ${l}`));
    shownUntil = e + AFTER;
  }
  const last = all.slice(Math.max(shownUntil + 1, all.length - TAIL)).filter((l) => e < 0 || !NOISE.test(l));
  if (last.length) parts.push(`  driver stderr (last lines):`, ...last.map((l) => `    ${l}`));
  return `\n${parts.join('\n')}`;
}
