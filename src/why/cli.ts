/**
 * `qrexec-policy why`: read decision lines (standard input, a file, or the
 * journal through `journalctl -o cat`), then explain each distinct request
 * with today's policy (explain.ts), or count them (--summary).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import { describeIo } from '../errors.js';
import type { Io } from '../io/io.js';
import { CANNOT_DECIDE, openSources, showPaths, type SourceOptions } from '../io/sources.js';
import { explainSeen, summary } from './explain.js';
import { Requests } from './log-lines.js';

export interface WhyArgs extends SourceOptions {
  /** A log file, or `-` / none for standard input (unless --journal). */
  file: string | undefined;
  journal: boolean;
  since: string | undefined;
  summary: boolean;
}

class ReadFailure extends Error {}

async function readLines(stream: Readable, requests: Requests, what: string): Promise<void> {
  try {
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    for await (const line of lines) requests.add(line);
  } catch (err) {
    throw new ReadFailure(`cannot read ${what}: ${describeIo(err)}`);
  }
}

/** `journalctl -o cat` (only the messages), from --since on; its failure in its own words. */
async function readJournal(args: WhyArgs, env: NodeJS.ProcessEnv, requests: Requests): Promise<void> {
  const argv = ['-o', 'cat', '--no-pager', ...(args.since !== undefined ? ['--since', args.since] : [])];
  const child = spawn('journalctl', argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  // a journalctl that cannot start fails while its (empty) output is read: awaited below
  exited.catch(() => {});
  try {
    await readLines(child.stdout, requests, 'the output of journalctl');
    const status = await exited;
    if (status !== 0) throw new ReadFailure(`journalctl ${argv.join(' ')} failed (exit status ${status})${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`);
  } catch (err) {
    if (err instanceof ReadFailure) throw err;
    throw new ReadFailure(`cannot run journalctl: ${describeIo(err)}`);
  }
}

export async function runWhy(args: WhyArgs, io: Io, stdin: Readable = process.stdin): Promise<number> {
  const requests = new Requests();
  const from = args.journal ? 'the journal' : args.file === undefined || args.file === '-' ? 'standard input' : args.file;
  try {
    if (args.journal) await readJournal(args, io.env, requests);
    else await readLines(from === 'standard input' ? stdin : fs.createReadStream(args.file!), requests, from);
  } catch (err) {
    // every failure to read is a ReadFailure by now (readLines, readJournal)
    /* c8 ignore next */
    if (!(err instanceof ReadFailure)) throw err;
    io.err(`qrexec-policy why: ${err.message}\n`);
    return 1;
  }
  if (requests.seen.size === 0) {
    io.out(`no qrexec decision lines in ${from}\n`);
    return 0;
  }
  const sources = await openSources(args, io.env);
  if ('problem' in sources) {
    io.err(`qrexec-policy why: could not decide: ${sources.problem}\n`);
    return CANNOT_DECIDE;
  }
  const show = showPaths(args);
  const all = [...requests.seen.values()].map((s) => explainSeen(s, sources.ruleset, sources.si, show));
  const n = requests.seen.size;
  io.out(`${requests.lines} decision line${requests.lines === 1 ? '' : 's'} in ${from}, ${n} distinct request${n === 1 ? '' : 's'}, explained with today's policy\n\n`);
  io.out(args.summary ? summary(all, show) : all.map((e) => e.text).join('\n'));
  return 0;
}
