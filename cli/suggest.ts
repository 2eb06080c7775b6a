// "Did you mean": the known name nearest a mistyped one, by edit distance
// (insertions, deletions, substitutions and transpositions of adjacent letters).

/** Optimal string alignment distance between a and b. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => [i, ...new Array<number>(cols - 1).fill(0)]);
  for (let j = 0; j < cols; j++) d[0][j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The known names nearest `given` (case-insensitive): within a third of its length
 * (at least 1, at most 3 edits), or a name it is a prefix of (3 letters or more).
 */
export function nearest(given: string, known: readonly string[]): string[] {
  const g = given.toLowerCase();
  if (g.length === 0 || g.length > 200) return [];
  const budget = Math.min(3, Math.max(1, Math.floor(g.length / 3)));
  let best = Infinity;
  let names: string[] = [];
  for (const name of known) {
    const n = name.toLowerCase();
    const distance = g.length >= 3 && n.startsWith(g) ? 0.5 : editDistance(g, n);
    if (distance > budget) continue;
    if (distance < best) {
      best = distance;
      names = [name];
    } else if (distance === best) names.push(name);
  }
  return names.slice(0, 3);
}

/** ` (did you mean X?)`, or nothing when no known name is near. */
export function didYouMean(
  given: string,
  known: readonly string[],
  format: (name: string) => string = (n) => n,
): string {
  const names = nearest(given, known);
  return names.length === 0 ? '' : ` (did you mean ${names.map(format).join(' or ')}?)`;
}
