/**
 * Golden files: a test's output compared with a file in the repository.
 * One variable for all of them: `UPDATE_GOLDEN=1 npx tap …` rewrites the
 * files a run compares instead (review the diff before committing it).
 */
import type { Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

export function matchGolden(t: Test, file: string, actual: string, what = path.basename(file)): void {
  if (UPDATE) fs.writeFileSync(file, actual);
  t.equal(actual, fs.readFileSync(file, 'utf8'), `${what} matches its golden file (UPDATE_GOLDEN=1 rewrites it)`);
}
