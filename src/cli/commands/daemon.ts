/**
 * `qrexec-policy daemon` and the drop-in `qrexec-policy-daemon`: serve
 * policy decisions on a unix socket (SPEC §8). Only the options live here;
 * the daemon itself is loaded when the command runs.
 */
import type { Argv } from 'yargs';
import { withExamples, type SubCommand } from '../command.js';
import { defaultIo, type Io } from '../../io/io.js';
import { VERSION } from '../../version.js';
import { rejectRepeatedOptions } from '../options.js';
import { parseCommandLine } from '../parse.js';

const DESCRIBE = 'serve policy decisions on a unix socket (the qrexec-daemon policy socket)';

const EPILOG = `Answers qrexec-daemon's policy requests on --socket-path, and the
policy.EvalSimple / policy.EvalGUI qrexec services on their sockets (an empty
path serves none). The policy is read once and again after any change under
the policy or legacy directories; while it fails to load, every request is
denied. SIGHUP re-reads everything; SIGTERM stops.
exit status: 0 stopped by SIGTERM, 1 failed (a socket it cannot take, workers dying more than 5 times a minute), 2 usage error`;

export function daemonOptions<T>(y: Argv<T>) {
  return y
    .option('socket-path', { type: 'string', describe: 'policy socket (default /var/run/qubes/policy.sock)' })
    .option('eval-socket-path', { type: 'string', describe: 'policy.EvalSimple socket (default /etc/qubes-rpc/policy.EvalSimple)' })
    .option('gui-socket-path', { type: 'string', describe: 'policy.EvalGUI socket (default /etc/qubes-rpc/policy.EvalGUI)' })
    .option('path', {
      type: 'string',
      array: true,
      alias: 'policy-path',
      describe: 'policy directory (repeatable); default /run/qubes/policy.d then /etc/qubes/policy.d',
    })
    .option('legacy-path', { type: 'string', describe: 'R4.0 policy directory for !compat-4.0 (default /etc/qubes-rpc/policy)' })
    .option('system-info', {
      type: 'string',
      describe: 'qube facts as JSON, re-read when it changes (env QREXEC_POLICY_SYSTEM_INFO); without it, ask qubesd per request',
    })
    .option('qubesd-internal-socket', { type: 'string', describe: 'qubesd internal socket (env QUBESD_INTERNAL_SOCKET)' })
    .option('qrexec-client', { type: 'string', describe: 'reaches policy agents outside dom0 (env QREXEC_CLIENT)' })
    .option('rpc-dir', { type: 'string', describe: 'local socket services such as policy.Ask (env QREXEC_RPC_DIR)' })
    .option('ask-timeout', { type: 'string', describe: "limit for the user's answer to an ask, in seconds (default 0: wait)" })
    .option('request-timeout', { type: 'string', describe: 'limit for a client to send its request, in seconds (default 10)' })
    .option('workers', { type: 'string', describe: 'serving processes (default: one per two CPUs, from 1 to 4)' })
    .option('log-level', { type: 'string', describe: 'error, warn, info (default: one line per decision) or debug' })
    .option('log-file', { type: 'string', describe: 'log to FILE instead of stderr' })
    .check((a) => rejectRepeatedOptions(a, y as Argv<unknown>))
    .epilog(EPILOG);
}


async function runFromArgs(a: Record<string, unknown>, io: Io): Promise<number> {
  const { daemonCommand } = await import('../../daemon/cli.js');
  return daemonCommand(a, io);
}

export const command: SubCommand = {
  command: 'daemon',
  describe: DESCRIBE,
  builder: (y) => daemonOptions(y),
  examples: [
    ['--system-info si.json --socket-path /tmp/p.sock', 'a daemon for testing'],
    ['--log-level debug', 'one timing line per call too'],
  ],
  handler: runFromArgs,
};

/** The drop-in `qrexec-policy-daemon`: the same options, with its own usage line. */
export async function daemonCli(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  const yargs = (await import('yargs')).default;
  let status = 0;
  const parser = yargs([...argv])
    .scriptName('qrexec-policy-daemon')
    .usage(`usage: $0 [options]\n\n${DESCRIBE}`)
    .parserConfiguration({ 'parse-positional-numbers': false, 'parse-numbers': false, 'greedy-arrays': false })
    .command('$0', DESCRIBE, (y) => withExamples(daemonOptions(y), command, '$0'), async (a) => {
      status = await runFromArgs(a as Record<string, unknown>, io);
    })
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help');
  if ((await parseCommandLine(parser, 'qrexec-policy-daemon', argv, io)) === null) return 2;
  return status;
}
