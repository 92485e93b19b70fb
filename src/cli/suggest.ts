/**
 * "did you mean …?" for a misspelt command or option: the known word at
 * the smallest edit distance, if it is close enough to be a typo.
 */

/**
 * Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of two neighbouring characters each count 1 (`evl` → `eval`: 1,
 * `sokcet` → `socket`: 1).
 */
export function editDistance(a: string, b: string): number {
  // rows i-2, i-1 and i of the table; row i holds the distances of a[0..i) to every b[0..j)
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The known word closest to `word`, when at most a third of it (at least
 * one, at most three characters) would have to change, the first in
 * `known`'s order on a tie; else the one known word `word` begins (of three
 * characters or more: `--assume-yes` for `--assume-yes-for-ask`).
 */
export function closest(word: string, known: Iterable<string>): string | null {
  const words = [...known];
  const limit = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const k of words) {
    const d = editDistance(word, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  if (best !== null || word.length < 3) return best;
  const longer = words.filter((k) => k.startsWith(word));
  return longer.length === 1 ? longer[0]! : null;
}

/** ` (did you mean PREFIX+WORD?)`, or nothing when no known word is close. */
export function didYouMean(word: string, known: Iterable<string>, prefix = ''): string {
  const k = closest(word, known);
  return k === null ? '' : ` (did you mean ${prefix}${k}?)`;
}
