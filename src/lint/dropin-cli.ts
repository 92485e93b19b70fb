/**
 * `qubes-policy-lint`: drop-in for Qubes' linter, with its arguments, output
 * lines and exit codes. Each file is checked line by line (includes are not
 * followed); every bad line prints `PATH:LINE: error: MESSAGE` (with `-s`,
 * `: LINE` appended). Like the reference, it stops after the first file
 * with errors (exit 1); a missing file prints `PATH:0: error: File does not
 * exist.` and stops (exit 1). Where the reference crashes (unreadable file,
 * bad UTF-8) it prints one line on stderr and exits 1.
 */
import { decodeUtf8, FileSourceError, nodeFileSource, STDIN_NAME } from '../parser/file-source.js';
import { pyStrip, splitLines } from '../parser/text.js';
import { checkLine } from './dropin-line.js';
import { expected } from '../errors.js';

const PROG = 'qubes-policy-lint';
const USAGE = `usage: ${PROG} [-h] [-s] [-i] FILE [FILE ...]\n`;
const HELP =
  USAGE +
  `
positional arguments:
  FILE                  set file to be read , use "-" to read from stdin

options:
  -h, --help            show this help message and exit
  -s, --show-line       show the line that caused the error
  -i, --include-service
                        lint a policy that is included by another file via
                        !include-service. When this option is specified,
                        normal policies cannot be verified

examples:
  qubes-policy-lint /etc/qubes/policy.d/*.policy
                        check every policy file
  qubes-policy-lint -i /etc/qubes/policy.d/include/admin-policy-rwx
                        an include file, in the service-file format

exit status: 0 no errors, 1 errors (it stops after the first file with errors),
2 usage error
`;

export interface DropinIo {
  out: (s: string) => void;
  err: (s: string) => void;
  /** A file's text (throws FileSourceError); `-` is standard input. */
  read: (file: string) => string;
}

const LONG = ['--help', '--show-line', '--include-service'];

interface Parsed {
  help: boolean;
  show: boolean;
  includeService: boolean;
  files: string[];
  unknown: string[];
}

/** argparse's reading of the command line (long options may be abbreviated, short ones combined). */
export function parseArgs(argv: readonly string[]): Parsed {
  const p: Parsed = { help: false, show: false, includeService: false, files: [], unknown: [] };
  let runs = 0;
  let inRun = false;
  let rest = false;
  for (const a of argv) {
    const positional = rest || a === '-' || !a.startsWith('-');
    if (!rest && a === '--') {
      rest = true;
      continue;
    }
    if (positional) {
      if (!inRun) runs++;
      inRun = true;
      (runs > 1 ? p.unknown : p.files).push(a);
      continue;
    }
    inRun = false;
    if (a.startsWith('--')) {
      const hits = LONG.filter((l) => l.startsWith(a));
      // no option name is a prefix of another: an exact name is its only match
      const opt = hits.length === 1 ? hits[0] : undefined;
      if (opt === '--help') p.help = true;
      else if (opt === '--show-line') p.show = true;
      else if (opt === '--include-service') p.includeService = true;
      else p.unknown.push(a);
      continue;
    }
    for (const ch of a.slice(1)) {
      if (ch === 'h') p.help = true;
      else if (ch === 's') p.show = true;
      else if (ch === 'i') p.includeService = true;
      else {
        p.unknown.push(a);
        break;
      }
    }
  }
  return p;
}

/** Python's `s.split(':', 2)[-1]`. */
function afterSecondColon(s: string): string {
  const parts = s.split(':');
  return parts.length <= 3 ? parts[parts.length - 1]! : parts.slice(2).join(':');
}

/** The lines of a file as the reference reads them (stdin splits at \n only). */
function fileLines(file: string, text: string): string[] {
  if (file !== '-') return splitLines(text);
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function dropinMain(argv: readonly string[], io: DropinIo): number {
  const a = parseArgs(argv);
  if (a.help) {
    io.out(HELP);
    return 0;
  }
  if (a.files.length === 0 || a.unknown.length) {
    const msg = a.files.length === 0 ? 'the following arguments are required: FILE' : `unrecognized arguments: ${a.unknown.join(' ')}`;
    io.err(`${USAGE}${PROG}: error: ${msg}\n`);
    return 2;
  }
  for (const file of a.files) {
    let text: string;
    try {
      text = io.read(file);
    } catch (err) {
      expected(err, FileSourceError);
      if (err.kind === 'missing') io.out(`${file}:0: error: File does not exist.\n`);
      else io.err(`${PROG}: ${err.message}\n`);
      return 1;
    }
    const errors: string[] = [];
    fileLines(file, text).forEach((raw, i) => {
      const line = pyStrip(raw).text;
      if (line === '' || line.startsWith('#')) return;
      const problem = checkLine(line, a.includeService, io.err);
      if (problem === null) return;
      const raised = `${problem.own ? file || '<unknown>' : '__main__[in-memory]'}:${i + 1}: ${problem.message}`;
      errors.push(`${file}:${i + 1}: error:${afterSecondColon(raised)}${a.show ? ': ' + line : ''}`);
    });
    if (errors.length) {
      io.out(errors.join('\n') + '\n');
      return 1;
    }
  }
  return 0;
}

/** Files through the project's reader (strict UTF-8, size limit); `-` reads standard input. */
export function readInput(file: string, readStdin: () => Buffer): string {
  if (file !== '-') return nodeFileSource.read(file);
  return decodeUtf8(readStdin(), STDIN_NAME);
}
