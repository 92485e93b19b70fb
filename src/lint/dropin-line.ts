/**
 * One line as Qubes' `qubes-policy-lint` checks it: the line is the whole
 * policy of an in-memory loader (the reference's StringPolicy), next to an
 * empty file for the path it includes, so includes are never followed. With
 * `-i` the line is a service file included as `!include-service * * inc`.
 * Returns the message of the first error, as the reference reports it.
 */
import { checkServiceArgument, normaliseServiceLine, parsePolicyLine, parseServiceLine } from '../parser/rule.js';
import { readDirective, type Directive, type DirectiveFormat } from '../parser/directives.js';
import { pyRepr, pyStrip, splitFields, type Field } from '../parser/text.js';
import { expected } from '../errors.js';

/** Python's `str(PurePosixPath(p))`: `.` parts and repeated or trailing slashes go, `..` stays. */
export function purePosix(p: string): string {
  const root = p.startsWith('//') && !p.startsWith('///') ? '//' : p.startsWith('/') ? '/' : '';
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  return root + parts.join('/') || '.';
}

class LineError extends Error {}

/** The in-memory files: name → content (later keys win, like the reference's dict literal). */
type Files = Map<string, string>;

/** The reference's policy API accepts includes only as `NAME` or `include/NAME` (checked first). */
function checkPath(p: string): void {
  const key = purePosix(p);
  if (key.includes('/') && (!key.startsWith('include/') || key.split('/').length > 2))
    throw new LineError(
      `invalid path ${key}, only paths inside the directories /etc/qubes/policy.d and /etc/qubes/policy.d/include are considered`,
    );
}

function fileContent(files: Files, p: string): string {
  const content = files.get(purePosix(p));
  if (content === undefined) throw new LineError(`no such policy file: ${pyRepr(purePosix(p))}`);
  return content;
}

function lookup(files: Files, p: string): string {
  checkPath(p);
  return fileContent(files, p);
}

/** A directive line as the reference's loader reads it; its error is the line's problem. */
function directive(line: string, format: DirectiveFormat): Extract<Directive, { ok: true }> {
  const d = readDirective(line, 0, format);
  if (!d.ok) throw new LineError(d.message);
  return d;
}

/** Python recursion would end a self-include with a crash; we stop and report it. */
const MAX_NESTING = 16;

function firstError(errors: { message: string }[]): void {
  if (errors.length) throw new LineError(errors[0]!.message);
}

function loadService(files: Files, content: string, service: string | null, argument: string | null, depth: number): void {
  if (depth > MAX_NESTING) throw new LineError('include cycle');
  for (const raw of content.split('\n')) {
    const stripped = pyStrip(raw).text;
    if (stripped === '' || stripped.startsWith('#')) continue;
    const line = normaliseServiceLine(stripped);
    if (line.startsWith('!')) {
      loadService(files, lookup(files, directive(line, 'service').params[0]!.text), service, argument, depth + 1);
      continue;
    }
    firstError(parseServiceLine(line, service, argument, { file: 'inc', line: 1 }).errors);
  }
}

function loadPolicy(files: Files, content: string, depth: number, warn: (s: string) => void): void {
  if (depth > MAX_NESTING) throw new LineError('include cycle');
  for (const raw of content.split('\n')) {
    const line = pyStrip(raw).text;
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith('!')) {
      firstError(parsePolicyLine(line, { file: '__main__', line: 1 }).errors);
      continue;
    }
    const d = directive(line, 'policy');
    const params = d.params;
    if (d.name === '!compat-4.0') {
      warn('WARNING:root:warning: !compat-4.0 directive in file __main__[in-memory] line 1 is transitional and will be deprecated\n');
    } else if (d.name === '!include') {
      loadPolicy(files, lookup(files, params[0]!.text), depth + 1, warn);
      /* c8 ignore start -- checkLine answers for !include-dir itself, and every file included here is empty */
    } else if (d.name === '!include-dir') {
      throw new LineError('!include-dir is not checked here');
      /* c8 ignore stop */
    } else {
      const [svc, arg, p] = params as [Field, Field, Field];
      // the path is checked before the service and the argument, the file after them
      checkPath(p.text);
      const checked = checkServiceArgument(svc, arg, { file: '__main__', line: 1 });
      firstError(checked.errors);
      loadService(files, fileContent(files, p.text), checked.service, checked.argument, depth + 1);
    }
  }
}

/** The include path the reference's linter picks from a directive line, or ''. */
function includedPath(line: string): string {
  if (!line.startsWith('!')) return '';
  const [word, ...params] = splitFields(line).map((f) => f.text);
  if (word === '!include-service' && params.length === 3) return params[2]!;
  if (word === '!include' && params.length === 1) return params[0]!;
  return '';
}

/** A problem the linter reports: its message, and whether the linter itself (not the parser) raised it. */
export interface LineProblem {
  message: string;
  /** Raised by the linter's own `!include-dir` check: Python formats it with the real path. */
  own: boolean;
}

/**
 * Check one stripped, non-comment line. `warn` receives what the reference
 * logs on stderr. Returns the problem, or null for a good line.
 */
export function checkLine(line: string, includeService: boolean, warn: (s: string) => void = () => {}): LineProblem | null {
  if (line.startsWith('!') && splitFields(line)[0]!.text === '!include-dir')
    // not checked further: the reference's in-memory loader cannot include directories
    return splitFields(line).length === 2 ? null : { message: 'invalid number of params', own: true };
  const files: Files = new Map(includeService ? [['__main__', '!include-service * * inc'], ['inc', line]] : [['__main__', line]]);
  const inc = includedPath(line);
  if (inc !== '') files.set(inc, '');
  try {
    loadPolicy(files, files.get('__main__')!, 0, warn);
    return null;
  } catch (err) {
    expected(err, LineError);
    return { message: err.message, own: false };
  }
}
