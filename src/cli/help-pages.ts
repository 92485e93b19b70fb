/**
 * Every command's --help, captured in process through its real front end:
 * what the man pages are made of (man/roff.ts), so they say what --help says.
 */
import { manPage, type HelpPage } from '../man/roff.js';
import type { Io } from '../io/io.js';
import { VERSION } from '../version.js';
import { umbrellaMain } from './umbrella.js';
import { standaloneMain } from './standalone.js';
import { execMain } from './exec-main.js';
import { daemonCli } from './commands/daemon.js';
import { DECISION_COMMANDS, TOOL_COMMANDS } from './commands/index.js';
import { command as convert } from './commands/convert.js';
import { command as graph } from './commands/graph.js';
import { command as qubesPolicy } from './commands/qubes-policy.js';
import { command as editor } from './commands/qubes-policy-editor.js';
import { command as restore } from './commands/qrexec-policy-restore.js';
import { dropinMain } from '../lint/dropin-cli.js';
import { adminMain } from '../admin/admin-cli.js';

/** What `run` prints: to its Io, or (yargs' --help in the umbrella) through console.log. */
async function capture(run: (io: Io) => Promise<number>): Promise<string> {
  let out = '';
  const add = (s: string) => void (out += s);
  const io: Io = { out: add, err: add, env: {} };
  const log = console.log;
  console.log = (...args: unknown[]) => void (out += args.join(' ') + '\n');
  try {
    await run(io);
  } finally {
    console.log = log;
  }
  return out;
}

/** The umbrella's subcommands with a page of their own (graph and daemon: their drop-ins' pages). */
const OWN_PAGE_SUBCOMMANDS = [...DECISION_COMMANDS, ...TOOL_COMMANDS].map((c) => c.command.split(' ')[0]!).filter((c) => c !== 'graph' && c !== 'daemon');

export async function helpPages(): Promise<HelpPage[]> {
  const page = async (command: string, section: 1 | 8, run: (io: Io) => Promise<number>): Promise<HelpPage> => ({
    command,
    name: command.replace(' ', '-'),
    section,
    help: await capture(run),
  });
  const pages = [await page('qrexec-policy', 1, (io) => umbrellaMain(['--help'], io))];
  for (const sub of OWN_PAGE_SUBCOMMANDS) pages.push(await page(`qrexec-policy ${sub}`, 1, (io) => umbrellaMain([sub, '--help'], io)));
  pages.push(
    await page('qrexec-policy-exec', 1, async (io) => execMain(['--help'], { stdout: io.out, version: VERSION })),
    await page('qrexec-policy-daemon', 1, (io) => daemonCli(['--help'], io)),
    await page('qrexec-policy-graph', 1, (io) => standaloneMain('qrexec-policy-graph', graph, ['--help'], io)),
    await page('qrexec-legacy-convert', 1, (io) => standaloneMain('qrexec-legacy-convert', convert, ['--help'], io)),
    // --help reads no file and no payload: the readers are never called
    /* c8 ignore next 1 */
    await page('qubes-policy-lint', 1, async (io) => dropinMain(['--help'], { out: io.out, err: io.err, read: () => '' })),
    await page('qubes-policy', 1, (io) => standaloneMain('qubes-policy', qubesPolicy, ['--help'], io)),
    await page('qubes-policy-editor', 1, (io) => standaloneMain('qubes-policy-editor', editor, ['--help'], io)),
    await page('qrexec-policy-restore', 1, (io) => standaloneMain('qrexec-policy-restore', restore, ['--help'], io)),
    /* c8 ignore next 1 */
    await page('qubes-policy-admin', 8, (io) => adminMain(['--help'], {}, { readStdin: () => Buffer.alloc(0), out: (b) => io.out(Buffer.from(b).toString()), err: io.err })),
  );
  return pages;
}

/** Every man page: file name (`NAME.SECTION`) and text; each points at the umbrella's page, and it at every other. */
export async function manPages(version: string = VERSION): Promise<{ file: string; text: string }[]> {
  const pages = await helpPages();
  const ref = (p: HelpPage) => `${p.name}(${p.section})`;
  return pages.map((p) => ({
    file: `${p.name}.${p.section}`,
    text: manPage(p, version, p.name === 'qrexec-policy' ? pages.filter((o) => o !== p).map(ref) : ['qrexec-policy(1)']),
  }));
}
