/**
 * `qubes-policy`: the command-line client of the Policy Admin API (drop-in
 * for Qubes' tool: `-l`, `-g`, `-r`, `-d`, `[include/]NAME`). From a qube it
 * calls dom0 through qrexec-client-vm; in dom0 it serves the call itself.
 *
 * Unlike Qubes' client, `-r` and `-d` can carry the token of an earlier
 * `-g --with-token` (`--token sha256:…`), so a change made in between is
 * refused instead of silently overwritten; without `--token` they say on
 * stderr that they overwrite whatever is there.
 */
import * as fs from 'node:fs';
import type { Io } from '../io/io.js';
import { callProblem, chooseTransport, describeProblem, PolicyClient } from './client.js';
import { UsageError } from '../errors.js';
import { isValidName, type Area } from './names.js';
import { POLICY_SUFFIX } from '../parser/loader.js';

export type Method = 'list' | 'get' | 'replace' | 'remove';

export interface PolicyCliArgs {
  method: Method;
  /** `[include/]NAME` as given, or undefined. */
  name: string | undefined;
  token: string | undefined;
  withToken: boolean;
  qrexecClientVm: string | undefined;
}

const NAME = 'qubes-policy';

/** `include/NAME` → include area; `include` or `include/` alone: the include area, no name. */
export function parseFileName(given: string | undefined): { area: Area; name: string } {
  if (given === undefined || given === '') return { area: 'policy', name: '' };
  if (given === 'include' || given.startsWith('include/')) return { area: 'include', name: given.slice('include/'.length) };
  // `30-user.policy` means the file 30-user
  return { area: 'policy', name: given.endsWith(POLICY_SUFFIX) ? given.slice(0, -POLICY_SUFFIX.length) : given };
}


export function checkArgs(a: PolicyCliArgs): { area: Area; name: string } {
  const f = parseFileName(a.name);
  if (a.method === 'list' && f.name !== '') throw new UsageError('--list takes no file name (only include/ for the include files)');
  if (a.method !== 'list' && f.name === '') throw new UsageError(`--${a.method} needs a file name: [include/]NAME`);
  if (f.name !== '' && !isValidName(f.name)) throw new UsageError(`invalid file name ${JSON.stringify(f.name)}: use only lower-case letters, digits, _ and -`);
  if (a.token !== undefined && a.method !== 'replace' && a.method !== 'remove') throw new UsageError('--token goes with --replace or --remove');
  if (a.withToken && a.method !== 'get') throw new UsageError('--with-token goes with --get');
  return f;
}

/* c8 ignore next 2 -- this process's own standard input: the tests give their own; the bundle's process test reads a real one */
const processStdin = (): Buffer => fs.readFileSync(0);

export async function runPolicyCli(a: PolicyCliArgs, io: Io, readStdin: () => Buffer = processStdin): Promise<number> {
  // a UsageError from here is reported by the command line (exit 2)
  const f = checkArgs(a);
  const client = new PolicyClient(chooseTransport(a.qrexecClientVm, io.env));
  const token = a.token ?? 'any';
  if (a.token === undefined && (a.method === 'replace' || a.method === 'remove'))
    io.err(`${NAME}: no --token: ${a.method === 'replace' ? 'replacing' : 'removing'} whatever is there now (get one with --get --with-token)\n`);
  try {
    switch (a.method) {
      case 'list':
        io.out((await client.list(f.area)).map((n) => n + '\n').join(''));
        break;
      case 'get': {
        const got = await client.get(f.area, f.name);
        if (got === null) {
          io.err(`${NAME}: ${a.name} does not exist\n`);
          return 1;
        }
        io.out((a.withToken ? got.token + '\n' : '') + got.content.toString('utf8'));
        break;
      }
      case 'replace':
        await client.replace(f.area, f.name, readStdin(), token);
        break;
      case 'remove':
        await client.remove(f.area, f.name, token);
        break;
    }
    return 0;
  } catch (err) {
    io.err(`${NAME}: ${describeProblem(callProblem(err))}\n`);
    return 1;
  }
}
