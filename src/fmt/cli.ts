/**
 * `qrexec-policy fmt [--check] [-i] PATHS...`: format policy files in place,
 * or with --check print a diff for each file that is not formatted. A
 * directory means its `*.policy` files; `-` formats standard input to
 * standard output. Exit 0 all formatted, 1 not formatted (--check) or a file
 * with errors, 2 usage.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeUtf8, FileSourceError, nodeFileSource, STDIN_NAME, type FileSource } from '../parser/file-source.js';
import { looksLikePolicyFile } from '../parser/loader.js';
import type { Io } from '../io/io.js';
import { namedFiles } from '../lint/inputs.js';
import { diagnostic } from '../lint/rules.js';
import { textLine } from '../lint/output.js';
import { unifiedDiff } from './diff.js';
import { formatText, type FileFormat } from './format.js';
import { describeIo, expected } from '../errors.js';

export interface FmtArgs {
  paths: string[];
  check: boolean;
  /** The files are in the service-file format (as `!include-service` reads them). */
  includeService: boolean;
}

export interface FmtEnv {
  fs: FileSource;
  readStdin: () => Buffer;
  /** Replace a file's content (atomically where the file system allows). */
  write: (file: string, text: string) => void;
}

/** A file that could not be replaced (the message names it and the cause). */
export class WriteError extends Error {}

/**
 * Write via a temporary file next to the file and rename it over the
 * original, keeping its mode. A symbolic link is written through (its
 * target is reformatted, the link stays a link), as the loader reads it.
 */
export function writeAtomically(file: string, text: string): void {
  let tmp: string | null = null;
  try {
    const real = fs.realpathSync(file);
    const mode = fs.statSync(real).mode & 0o7777;
    tmp = path.join(path.dirname(real), `.${path.basename(real)}.fmt-${process.pid}`);
    fs.writeFileSync(tmp, text, { mode });
    fs.renameSync(tmp, real);
  } catch (err) {
    if (tmp !== null) fs.rmSync(tmp, { force: true });
    throw new WriteError(`cannot write ${file}: ${describeIo(err)}`);
  }
}

export const nodeFmtEnv: FmtEnv = {
  fs: nodeFileSource,
  /* c8 ignore next -- reads this process's standard input */
  readStdin: () => fs.readFileSync(0),
  write: writeAtomically,
};

export async function runFmt(a: FmtArgs, io: Io, env: FmtEnv = nodeFmtEnv): Promise<number> {
  const format: FileFormat = a.includeService ? 'service' : 'policy';
  const files: string[] = [];
  let status = 0;
  for (const arg of a.paths) {
    if (arg === '-') {
      files.push('-');
      continue;
    }
    const found = namedFiles(env.fs, arg, looksLikePolicyFile);
    for (const e of found.errors) io.err(`qrexec-policy fmt: ${e}\n`);
    if (found.errors.length) status = 2;
    else if (found.files.length === 0 && env.fs.kind(arg) !== 'dir') {
      io.err(`qrexec-policy fmt: no such file or directory: ${arg}\n`);
      status = 2;
    }
    files.push(...found.files);
  }
  if (status) return status;
  for (const file of files) {
    let text: string;
    try {
      text = file === '-' ? decodeUtf8(env.readStdin(), STDIN_NAME) : env.fs.read(file);
    } catch (err) {
      expected(err, FileSourceError);
      io.err(`qrexec-policy fmt: ${err.message}\n`);
      status = 1;
      continue;
    }
    const r = formatText(text, file === '-' ? STDIN_NAME : file, format);
    if (!r.ok) {
      for (const e of r.errors) io.err(textLine(diagnostic(e.id, e.message, e.file!, e.line, e.column)) + '\n');
      io.err(`qrexec-policy fmt: ${file === '-' ? STDIN_NAME : file} has errors; not formatted\n`);
      status = 1;
      continue;
    }
    if (a.check) {
      const diff = unifiedDiff(file === '-' ? STDIN_NAME : file, text, r.text);
      if (diff !== '') {
        io.out(diff);
        status = 1;
      }
    } else if (file === '-') {
      io.out(r.text);
    } else if (r.text !== text) {
      try {
        env.write(file, r.text);
      } catch (err) {
        expected(err, WriteError);
        io.err(`qrexec-policy fmt: ${err.message}\n`);
        status = 1;
        continue;
      }
      io.out(`reformatted ${file}\n`);
    }
  }
  return status;
}
