/**
 * `qrexec-policy lint`: the command behind the yargs module. Exit 0 when
 * nothing fails (warnings fail only with --strict), 1 otherwise, 2 for usage
 * problems (a path that names nothing, unusable --system-info).
 */
import * as nodeFs from 'node:fs';
import { decodeUtf8, FileSourceError, nodeFileSource, STDIN_NAME, withFiles, type FileSource } from '../parser/file-source.js';
import { DEFAULT_LEGACY_PATH, DEFAULT_POLICY_PATHS } from '../parser/loader.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import type { Io } from '../io/io.js';
import { readSystemInfoFile, systemInfoPath } from '../io/sources.js';
import { VERSION } from '../version.js';
import { expected } from '../errors.js';
import { collectInputs } from './inputs.js';
import { lint } from './lint.js';
import { render, summarise, type Format } from './output.js';
import { LINT_RULES } from './rules.js';
import type { TreeSpec } from './tree.js';

export interface LintArgs {
  paths: string[];
  /** --path: one tree merged like the evaluator's policy directories. */
  path?: string[] | undefined;
  legacyPath?: string | undefined;
  systemInfo?: string | undefined;
  format: Format;
  strict: boolean;
  quiet: boolean;
  listRules: boolean;
}

export function ruleList(): string {
  const width = Math.max(...LINT_RULES.map((r) => r.id.length));
  return LINT_RULES.map((r) => `${r.id.padEnd(width)}  ${r.severity.padEnd(7)}  ${r.description}\n`).join('');
}

/* c8 ignore next -- reads this process's standard input */
const processStdin = (): Buffer => nodeFs.readFileSync(0);

export async function runLint(
  a: LintArgs,
  io: Io,
  fs: FileSource = nodeFileSource,
  cwd = process.cwd(),
  readStdin: () => Buffer = processStdin,
): Promise<number> {
  if (a.listRules) {
    io.out(ruleList());
    return 0;
  }
  let si: SystemInfo | null = null;
  const siFile = systemInfoPath({ systemInfo: a.systemInfo }, io.env);
  try {
    if (siFile !== undefined) si = readSystemInfoFile(siFile);
  } catch (err) {
    expected(err, SystemInfoError);
    io.err(`qrexec-policy lint: ${err.message}\n`);
    return 2;
  }
  // `-`: standard input, one policy.d file (includes relative to the working directory)
  const stdinSpecs: TreeSpec[] = [];
  if (a.paths.includes('-')) {
    let text: string;
    try {
      text = decodeUtf8(readStdin(), STDIN_NAME);
    } catch (err) {
      expected(err, FileSourceError);
      io.err(`qrexec-policy lint: ${err.message}\n`);
      return 1;
    }
    fs = withFiles(fs, new Map([[STDIN_NAME, text]]));
    stdinSpecs.push({ kind: 'files', dir: '.', files: [STDIN_NAME], partial: true });
  }
  const { specs, missing } = collectInputs(
    fs,
    a.paths.filter((p) => p !== '-'),
  );
  specs.push(...stdinSpecs);
  for (const m of missing) io.err(`qrexec-policy lint: no such file or directory: ${m}\n`);
  if (missing.length) return 2;
  const merged: TreeSpec[] = a.path?.length
    ? [{ kind: 'dirs', dirs: a.path }]
    : specs.length === 0
      ? [{ kind: 'dirs', dirs: [...DEFAULT_POLICY_PATHS] }]
      : [];
  const { diagnostics } = lint([...merged, ...specs], {
    fs,
    legacyPath: a.legacyPath ?? DEFAULT_LEGACY_PATH,
    legacyDefault: a.legacyPath === undefined,
    systemInfo: si,
    cwd,
  });
  const s = summarise(diagnostics);
  const failed = s.errors > 0 || (a.strict && s.warnings > 0);
  const shown = a.quiet ? diagnostics.filter((d) => d.severity === 'error' || (a.strict && d.severity === 'warning')) : diagnostics;
  io.out(render(a.format, shown, VERSION));
  return failed ? 1 : 0;
}
