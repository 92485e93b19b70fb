/**
 * A unified diff for `fmt --check`. The formatter keeps every line where it
 * is (it only drops blank lines at the end), so lines are compared by
 * position; a `\r` the formatter removes shows as a change of that line.
 */

const CONTEXT = 3;

function split(text: string): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function range(start: number, count: number): string {
  // unified diff convention: an empty range names the line before it
  return `${count === 0 ? start : start + 1},${count}`;
}

export function unifiedDiff(file: string, before: string, after: string): string {
  if (before === after) return '';
  const a = split(before);
  const b = split(after);
  const aNoEol = before !== '' && !before.endsWith('\n');
  const n = Math.max(a.length, b.length);
  const changed = (i: number) => a[i] !== b[i] || (aNoEol && i === a.length - 1);
  const hunks: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) {
    if (!changed(i)) continue;
    const lo = Math.max(0, i - CONTEXT);
    const last = hunks[hunks.length - 1];
    if (last && lo <= last[1]) last[1] = Math.min(n, i + 1 + CONTEXT);
    else hunks.push([lo, Math.min(n, i + 1 + CONTEXT)]);
  }
  const out = [`--- ${file}\n`, `+++ ${file} (formatted)\n`];
  const minus = (i: number) => `-${a[i]}\n` + (aNoEol && i === a.length - 1 ? '\\ No newline at end of file\n' : '');
  for (const [lo, hi] of hunks) {
    const aCount = Math.max(0, Math.min(hi, a.length) - lo);
    const bCount = Math.max(0, Math.min(hi, b.length) - lo);
    out.push(`@@ -${range(lo, aCount)} +${range(lo, bCount)} @@\n`);
    for (let i = lo; i < hi; ) {
      if (!changed(i)) {
        out.push(` ${a[i]}\n`);
        i++;
        continue;
      }
      let j = i;
      while (j < hi && changed(j)) j++;
      for (let k = i; k < j; k++) if (k < a.length) out.push(minus(k));
      for (let k = i; k < j; k++) if (k < b.length) out.push(`+${b[k]}\n`);
      i = j;
    }
  }
  return out.join('');
}
