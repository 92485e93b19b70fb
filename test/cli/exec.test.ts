/**
 * The per-call front ends and the umbrella in process (one file, one
 * process start):
 * - `qrexec-policy-exec` (three-argument and --just-evaluate forms): the
 *   byte-exact result block on stdout, exit codes, the one decision log line
 *   on the logger, usage errors, fail-closed behaviour. (Running allowed
 *   calls and asking the agent are tested in test/exec/.)
 * - `qrexec-policy`: --help / --version, pending subcommands, usage errors,
 *   the R4.0 per-call form (numeric first argument), `qrexec-policy exec`;
 *   plus runMain.
 */
import { DECISION_COMMANDS, TOOL_COMMANDS } from '../../src/cli/commands/index.js';
import t from 'tap';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXEC_USAGE, execMain, parseExecArgs } from '../../src/cli/exec-main.js';
import { UsageError } from '../../src/errors.js';
import { decisionLogLine } from '../../src/render/log-line.js';
import { isR40Form, umbrellaMain } from '../../src/cli/umbrella.js';
import { runMain } from '../../src/cli/run.js';
import type { Decision } from '../../src/policy/decision.js';
import { VERSION } from '../../src/version.js';
import { captureIo, captureLog, captureProcess, paths, throwingEnv, tree, UUID } from './fixtures/cli.js';

const p = paths(t.testdir({ ...tree(), 'empty-rpc': {} }));
const std = ['--path', p.policy, '--system-info', p.si];

/** Keep every external path of SPEC §7 pointing at nothing. */
const SAFE_ENV: NodeJS.ProcessEnv = {
  QREXEC_RPC_DIR: path.join(p.dir, 'empty-rpc'),
  QREXEC_CLIENT: path.join(p.dir, 'no-qrexec-client'),
  QUBESD_SOCKET: path.join(p.dir, 'no-qubesd.sock'),
  QUBESD_INTERNAL_SOCKET: path.join(p.dir, 'no-qubesd-internal.sock'),
  QREXEC_POLICY_SYSLOG_SOCKET: path.join(p.dir, 'no-syslog'),
};
// the umbrella's `exec` and R4.0 paths read process.env: never reach a real agent or qubesd
Object.assign(process.env, SAFE_ENV);
delete process.env['QREXEC_POLICY_SYSTEM_INFO'];

interface ExecRun {
  status: number;
  /** What execMain printed through io.stdout. */
  stdout: string;
  /** Usage messages (io.stderr, or process.stderr). */
  stderr: string;
  /** Anything written straight to process.stdout (must stay empty). */
  rawStdout: string;
  /** Every logger line. */
  lines: string[];
  /** The decision lines (info level, no prefix). */
  decisions: string[];
}

async function execCli(args: string[], opts: { env?: NodeJS.ProcessEnv; version?: string | null } = {}): Promise<ExecRun> {
  let stdout = '';
  let stderr = '';
  const { log, lines } = captureLog('debug');
  const io: Record<string, unknown> = {
    stdout: (s: string) => void (stdout += s),
    stderr: (s: string) => void (stderr += s),
    log,
    env: { ...SAFE_ENV, ...opts.env },
  };
  if (opts.version !== null) io['version'] = opts.version ?? '9.9.9';
  const cap = await captureProcess(() => execMain(args, io));
  return {
    status: cap.value,
    stdout,
    stderr: stderr + cap.stderr,
    rawStdout: cap.stdout,
    lines,
    decisions: lines.filter((l) => l.startsWith('qrexec: ')),
  };
}

function block(lines: string[]): string {
  return lines.join('\n') + '\n';
}

t.test('qrexec-policy-exec: allow to a qube: the result block byte for byte, exit 0, one decision line', async (t) => {
  const r = await execCli([...std, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  t.equal(
    r.stdout,
    block([
      'user=DEFAULT',
      'result=allow',
      'target=vault',
      `target_uuid=uuid:${UUID.vault}`,
      'autostart=True',
      'requested_target=vault',
    ]),
  );
  t.equal(r.rawStdout, '');
  t.equal(r.stderr, '');
  t.same(r.decisions, ['qrexec: qubes.Gpg: work -> vault: allowed to vault']);
  t.notMatch(r.stdout, /qrexec:/, 'no log line on stdout');
});

t.test('qrexec-policy-exec: allow blocks: user=, dom0, disposables, RemoteVM, relayed source', async (t) => {
  let r = await execCli([...std, 'work', 'personal', 'qubes.VMShell']);
  t.equal(
    r.stdout,
    block(['user=root', 'result=allow', 'target=personal', `target_uuid=uuid:${UUID.personal}`, 'autostart=True', 'requested_target=personal']),
  );
  r = await execCli([...std, 'work', '@adminvm', 'qubes.GetDate']);
  t.equal(r.status, 0);
  t.equal(r.stdout, block(['user=DEFAULT', 'result=allow', 'target=dom0', 'autostart=True', 'requested_target=@adminvm']));
  t.same(r.decisions, ['qrexec: qubes.GetDate: work -> @adminvm: allowed to dom0']);

  r = await execCli([...std, 'work', '@dispvm', 'qubes.OpenURL']);
  t.equal(
    r.stdout,
    block([
      'user=DEFAULT',
      'result=allow',
      'target=@dispvm:default-dvm',
      `target_uuid=@dispvm:uuid:${UUID['default-dvm']}`,
      'autostart=True',
      'requested_target=@dispvm',
    ]),
  );
  r = await execCli([...std, 'work', 'remote1', 'qubes.ToRemote']);
  t.equal(
    r.stdout,
    block([
      'user=DEFAULT',
      'result=allow',
      'target=sys-relay',
      `target_uuid=uuid:${UUID['sys-relay']}`,
      'autostart=True',
      'requested_target=remote1',
      'service=qubesair.SSHProxy+remote1+qubes.ToRemote+',
    ]),
  );
  r = await execCli([...std, '--requested-source', 'remote1', 'sys-relay', 'vault', 'qubes.Relayed']);
  t.equal(r.status, 0);
  t.equal(
    r.stdout,
    block([
      'user=DEFAULT',
      'result=allow',
      'target=vault',
      `target_uuid=uuid:${UUID.vault}`,
      'autostart=True',
      'requested_target=vault',
      'policy_source=remote1',
    ]),
  );
});

t.test('qrexec-policy-exec: deny: result=deny, exit 1, the decision line names the reason', async (t) => {
  const r = await execCli([...std, 'personal', 'vault', 'qubes.Filecopy']);
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
  t.equal(r.decisions.length, 1);
  t.match(r.decisions[0], /^qrexec: qubes\.Filecopy: personal -> vault: denied: .*30-user\.policy:6/);

  // an empty target is @default in the log line
  const r2 = await execCli([...std, 'work', '', 'qubes.Nothing']);
  t.equal(r2.status, 1);
  t.equal(r2.stdout, 'result=deny\n');
  t.match(r2.decisions, [/^qrexec: qubes\.Nothing: work -> @default: denied: /]);
});

t.test('qrexec-policy-exec: ask: denied without --assume-yes-for-ask; allowed with it', async (t) => {
  // vault has no GuiVM: nobody can be asked
  let r = await execCli([...std, 'vault', 'personal', 'qubes.AskVault']);
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
  t.match(r.decisions, [/^qrexec: qubes\.AskVault: vault -> personal: denied: /]);

  r = await execCli(['--assume-yes-for-ask', ...std, 'work', 'personal', 'qubes.Filecopy']);
  t.equal(r.status, 0);
  t.equal(
    r.stdout,
    block(['user=DEFAULT', 'result=allow', 'target=personal', `target_uuid=uuid:${UUID.personal}`, 'autostart=True', 'requested_target=personal']),
  );
  t.same(r.decisions, ['qrexec: qubes.Filecopy: work -> personal: allowed to personal']);

  // assume-yes for a target that is not offered: deny
  r = await execCli(['--assume-yes-for-ask', ...std, 'work', '', 'qubes.Filecopy']);
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
});

t.test('qrexec-policy-exec: --just-evaluate prints nothing and answers by exit code', async (t) => {
  const cases: Array<[string[], number]> = [
    [['work', 'vault', 'qubes.Gpg'], 0],
    [['personal', 'vault', 'qubes.Filecopy'], 1],
    [['work', 'personal', 'qubes.Filecopy'], 1], // ask counts as deny
    [['--assume-yes-for-ask', 'work', 'personal', 'qubes.Filecopy'], 0],
    [['work', '@anyvm', 'qubes.Gpg'], 1],
    // five positionals: DOMAIN_ID SOURCE TARGET SERVICE PROCESS_IDENT
    [['12', 'work', 'vault', 'qubes.Gpg', 'SOCKET11'], 0],
    [['12', 'personal', 'vault', 'qubes.Filecopy', 'SOCKET11'], 1],
  ];
  for (const [args, status] of cases) {
    const r = await execCli(['--just-evaluate', ...std, ...args]);
    t.equal(r.status, status, args.join(' '));
    t.equal(r.stdout, '', 'nothing on stdout');
    t.equal(r.rawStdout, '');
    t.equal(r.decisions.length, 1, 'one decision line');
  }
  const r = await execCli(['--just-evaluate', ...std, 'work', 'personal', 'qubes.Filecopy']);
  t.match(r.decisions, [/^qrexec: qubes\.Filecopy: work -> personal: denied: /], 'an unconfirmed ask is logged as denied');
});

t.test('qrexec-policy-exec: missing or invalid system info: result=deny, exit 1, logged naming the file', async (t) => {
  for (const file of [p.missing, p.siNotJson, p.siBadType]) {
    let r = await execCli(['--path', p.policy, '--system-info', file, 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 1);
    t.equal(r.stdout, 'result=deny\n');
    t.ok(
      r.lines.some((l) => l.startsWith('error: ') && l.includes(file)),
      'an error line names the file',
    );
    t.notMatch(r.lines.join('\n'), /\n\s+at /, 'no stack trace');
    r = await execCli(['--just-evaluate', '--path', p.policy, '--system-info', file, 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 1);
    t.equal(r.stdout, '');
  }
  const r = await execCli(['--path', p.policy, '--system-info', p.missing, 'work', '', 'qubes.Gpg']);
  t.equal(r.stdout, 'result=deny\n');
  t.match(r.lines, [/^error: qrexec: qubes\.Gpg: work -> @default: .*no-such-file\.json/]);
});

t.test('qrexec-policy-exec: QREXEC_POLICY_SYSTEM_INFO instead of --system-info', async (t) => {
  let r = await execCli(['--path', p.policy, 'work', 'vault', 'qubes.Gpg'], { env: { QREXEC_POLICY_SYSTEM_INFO: p.si } });
  t.equal(r.status, 0);
  t.match(r.stdout, /^user=DEFAULT\nresult=allow\ntarget=vault\n/);
  r = await execCli(['--path', p.policy, 'work', 'vault', 'qubes.Gpg'], { env: { QREXEC_POLICY_SYSTEM_INFO: p.missing } });
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
  // no file at all: qubesd, which is not there
  r = await execCli(['--path', p.policy, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
  t.ok(r.lines.some((l) => l.startsWith('error: ') && l.includes('qubesd')));
});

t.test('qrexec-policy-exec: a policy syntax error denies everything, logged with file:line', async (t) => {
  const r = await execCli(['--path', p.bad, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
  t.match(r.decisions, [new RegExp(`^qrexec: qubes\\.Gpg: work -> vault: denied: .*${p.bad}/20-bad\\.policy:2`)]);
});

t.test('qrexec-policy-exec: invalid requests are denied', async (t) => {
  for (const [src, tgt, svc] of [
    ['work', '@anyvm', 'qubes.Gpg'],
    ['work', 'vault', ''],
    ['work', 'vault', 'qubes.Gpgé'],
    ['work', 'vault', '*'],
    ['nosuchqube', 'vault', 'qubes.Gpg'],
  ] as const) {
    const r = await execCli([...std, src, tgt, svc]);
    t.equal(r.status, 1, `${src} ${tgt} ${svc}`);
    t.equal(r.stdout, 'result=deny\n');
    t.equal(r.decisions.length, 1);
    t.ok(r.decisions[0]!.startsWith(`qrexec: ${svc}: ${src} -> ${tgt}: denied: `), 'SERVICE[+ARG] logged verbatim');
  }
});

t.test('qrexec-policy-exec: unknown target: a warning line, then the decision line', async (t) => {
  const r = await execCli([...std, 'work', 'nonexistent', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
  t.ok(r.lines.includes('warning: target "nonexistent" does not exist, using @default instead'));
  t.match(r.decisions, [/^qrexec: qubes\.Gpg: work -> nonexistent: denied: no matching rule/]);
});

t.test('qrexec-policy-exec: policy sources: --path repeated, --policy-path, --path=, --legacy, --legacy-path', async (t) => {
  let r = await execCli(['--path', p.run, '--path', p.policy, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.match(r.decisions, [new RegExp(`denied: .*${p.run}/30-user\\.policy:1`)]);
  r = await execCli(['--policy-path', p.policy, '--policy-path', p.run, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  r = await execCli([`--path=${p.policy}`, `--system-info=${p.si}`, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  // options anywhere; the path option does not swallow positionals
  r = await execCli(['work', '--system-info', p.si, 'vault', '--path', p.policy, 'qubes.Gpg']);
  t.equal(r.status, 0);
  r = await execCli(['--path', p.compat, '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'vault', 'qubes.Foo']);
  t.equal(r.status, 0);
  t.match(r.stdout, /^user=DEFAULT\nresult=allow\ntarget=vault\n/);
  r = await execCli(['--legacy', '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'vault', 'qubes.Foo']);
  t.equal(r.status, 0);
  r = await execCli(['--legacy', '--legacy-path', p.legacy, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
  // `--` ends the options: a target that looks like an option is a positional
  r = await execCli([...std, '--', 'work', '--json', 'qubes.Gpg']);
  t.equal(r.status, 1);
  t.equal(r.stdout, 'result=deny\n');
});

t.test('qrexec-policy-exec: --help and --version print on stdout, exit 0', async (t) => {
  for (const flag of ['--help', '-h']) {
    const r = await execCli([flag]);
    t.equal(r.status, 0);
    t.equal(r.stdout, EXEC_USAGE);
    t.match(r.stdout, /^usage: qrexec-policy-exec /);
  }
  // help wins over missing positionals and other options
  let r = await execCli(['--just-evaluate', 'work', '--help']);
  t.equal(r.status, 0);
  t.equal(r.stdout, EXEC_USAGE);
  r = await execCli(['--version']);
  t.equal(r.status, 0);
  t.equal(r.stdout, '9.9.9\n');
  r = await execCli(['--version'], { version: null });
  t.equal(r.stdout, 'unknown\n');
});

t.test('qrexec-policy-exec: usage errors: exit 2, one line saying what and one pointing at --help, nothing on stdout', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--bogus', 'work', 'vault', 'qubes.Gpg'], /unknown option --bogus\n/],
    [['-x', 'work', 'vault', 'qubes.Gpg'], /unknown option -x/],
    [['work', 'vault', 'qubes.Gpg', '--path'], /option --path needs a value/],
    [['--legacy=yes', 'work', 'vault', 'qubes.Gpg'], /option --legacy takes no value/],
    [['--log-level', 'loud', 'work', 'vault', 'qubes.Gpg'], /invalid log level loud/],
    [[...std, 'work', 'vault'], /expected SOURCE TARGET SERVICE\[\+ARG\] \(or DOMAIN_ID SOURCE TARGET SERVICE\[\+ARG\] PROCESS_IDENT\), got 2 arguments/],
    [[...std, '1', 'work', 'vault', 'qubes.Gpg'], /got 4 arguments/],
    [[...std], /got 0/],
    [['--qubesd-timeout', 'soon', ...std, 'work', 'vault', 'qubes.Gpg'], /--qubesd-timeout needs a number of seconds/],
  ];
  for (const [args, msg] of cases) {
    const r = await execCli(args);
    t.equal(r.status, 2, args.join(' '));
    t.equal(r.stdout, '');
    t.equal(r.rawStdout, '');
    t.match(r.stderr, /^qrexec-policy-exec: [^\n]+\nRun 'qrexec-policy-exec --help' for usage\.\n$/, 'two lines');
    t.match(r.stderr, msg);
    t.same(r.decisions, []);
  }
});

t.test('qrexec-policy-exec: the default logger: decision line on stderr, --log-level filters it', async (t) => {
  const run = (args: string[]) =>
    captureProcess(() => execMain(args, { stdout: () => undefined, env: SAFE_ENV, version: 'x' }));
  let r = await run([...std, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.value, 0);
  t.equal(r.stdout, '');
  t.equal(r.stderr, 'qrexec: qubes.Gpg: work -> vault: allowed to vault\n');
  r = await run(['--log-level', 'error', ...std, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.stderr, '');
  // (vault has no GuiVM, so no notification is attempted for the denial)
  r = await run(['--log-level=warn', ...std, 'vault', 'nonexistent', 'qubes.Gpg']);
  t.equal(r.value, 1);
  t.equal(r.stderr, 'warning: target "nonexistent" does not exist, using @default instead\n');
  // stdout defaults to the process's
  const r2 = await captureProcess(() => execMain([...std, 'work', 'vault', 'qubes.Gpg'], { env: SAFE_ENV }));
  t.equal(r2.value, 0);
  t.match(r2.stdout, /^user=DEFAULT\nresult=allow\ntarget=vault\n/);
  t.equal(r2.stderr, 'qrexec: qubes.Gpg: work -> vault: allowed to vault\n');
  // usage errors default to the process's stderr
  const r3 = await captureProcess(() => execMain(['--bogus'], { stdout: () => undefined }));
  t.equal(r3.value, 2);
  t.equal(r3.stderr, "qrexec-policy-exec: unknown option --bogus\nRun 'qrexec-policy-exec --help' for usage.\n");
  t.equal(r3.stdout, '');
  // --log-file: decision lines go to the file, not stderr; external paths as options
  const logFile = path.join(p.dir, 'exec.log');
  const r4 = await captureProcess(() =>
    execMain(
      [
        '--log-file',
        logFile,
        '--qrexec-client',
        SAFE_ENV['QREXEC_CLIENT']!,
        '--qubesd-socket',
        SAFE_ENV['QUBESD_SOCKET']!,
        '--rpc-dir',
        SAFE_ENV['QREXEC_RPC_DIR']!,
        '--ask-timeout',
        '0.5',
        ...std,
        'work',
        'vault',
        'qubes.Gpg',
      ],
      { stdout: () => undefined, env: {} },
    ),
  );
  t.equal(r4.value, 0);
  t.equal(r4.stderr, '');
  t.match(fs.readFileSync(logFile, 'utf8'), /^\S+ qrexec: qubes\.Gpg: work -> vault: allowed to vault\n$/);
});

t.test('qrexec-policy-exec: parseExecArgs', async (t) => {
  const a = parseExecArgs([
    '--assume-yes-for-ask',
    '--just-evaluate',
    '--legacy',
    '--path',
    'a',
    '--policy-path=b',
    '--legacy-path',
    'l',
    '--system-info=si',
    '--qubesd-internal-socket',
    'sock',
    '--requested-source',
    'r',
    '--log-level',
    'debug',
    'src',
    '-',
    'svc',
  ]);
  t.match(a, {
    assumeYesForAsk: true,
    justEvaluate: true,
    legacy: true,
    path: ['a', 'b'],
    legacyPath: 'l',
    systemInfo: 'si',
    qubesdInternalSocket: 'sock',
    requestedSource: 'r',
    logLevel: 'debug',
    positionals: ['src', '-', 'svc'],
    help: false,
    version: false,
  });
  const d = parseExecArgs(['x', '--', '--help', '-h']);
  t.match(d, { assumeYesForAsk: false, justEvaluate: false, legacy: false, logLevel: 'info', path: [], help: false });
  t.same(d.positionals, ['x', '--help', '-h']);
  let caught: unknown;
  try {
    parseExecArgs(['--nope']);
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof UsageError, 'a UsageError');
  t.throws(() => parseExecArgs(['--system-info']), { message: 'option --system-info needs a value' });
  t.throws(() => parseExecArgs(['--help=1']), { message: 'option --help takes no value' });
});

t.test('qrexec-policy-exec: decisionLogLine', async (t) => {
  const base = { service: 's', argument: '+', source: 'a', requestedTarget: '@default', rule: null, warnings: [], requestedSource: null };
  const allow: Decision = { ...base, result: 'allow', target: 'b', destination: { kind: 'dom0' }, user: null, autostart: true, notify: false };
  const deny: Decision = { ...base, result: 'deny', kind: 'no-rule', reason: 'no matching rule found', notify: true };
  t.equal(decisionLogLine(allow, 's+x', 'a', 'b'), 'qrexec: s+x: a -> b: allowed to b');
  t.equal(decisionLogLine(deny, 's', 'a', ''), 'qrexec: s: a -> @default: denied: no matching rule found');
  const ask: Decision = { ...base, result: 'ask', targets: ['b', 'c'], defaultTarget: null, user: null, autostart: true, notify: false };
  t.equal(decisionLogLine(ask, 's', 'a', 'b'), 'qrexec: s: a -> b: denied: ask not confirmed (evaluation only)');
});


t.test('qrexec-policy-exec: five positionals without --just-evaluate run the call; a failure to run it is non-zero', async (t) => {
  // dom0 target: straight to qrexec-client, which does not exist here
  const r = await execCli(['--qubesd-timeout', '1', ...std, '12', 'work', '@adminvm', 'qubes.GetDate', 'SOCKET11']);
  t.not(r.status, 0);
  t.equal(r.stdout, '', 'no result block in the five-argument form');
  t.equal(r.rawStdout, '');
  t.same(r.decisions, ['qrexec: qubes.GetDate: work -> @adminvm: allowed to dom0']);
  // denied: nothing is run, exit 1
  const d = await execCli([...std, '12', 'personal', 'vault', 'qubes.Filecopy', 'SOCKET11']);
  t.equal(d.status, 1);
  t.equal(d.stdout, '');
});

// ---------------------------------------------------------------- the umbrella
const ALL_SUBCOMMANDS = [...DECISION_COMMANDS, ...TOOL_COMMANDS].map((s) => s.command.split(' ')[0]!);

/** umbrellaMain with captured io and captured process streams (yargs help, execMain). */
async function umbrella(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const c = captureIo(env);
  const cap = await captureProcess(() => umbrellaMain(argv, c.io));
  return { status: cap.value, out: c.out + cap.stdout, err: c.err + cap.stderr, ioOut: c.out, rawStdout: cap.stdout };
}

t.test('qrexec-policy: --help on the umbrella lists every command, exit 0', async (t) => {
  for (const flag of ['--help', '-h']) {
    const r = await umbrella([flag]);
    t.equal(r.status, 0);
    t.match(r.out, /^qrexec-policy <command> \[options\]/);
    for (const cmd of ['exec', ...ALL_SUBCOMMANDS]) t.match(r.out, new RegExp(`qrexec-policy ${cmd}\\b`), cmd);
    t.notMatch(r.out, /not yet implemented/);
    t.equal(r.err, '');
  }
});

t.test('qrexec-policy: --help on every subcommand prints its usage, exit 0', async (t) => {
  for (const cmd of ALL_SUBCOMMANDS) {
    const r = await umbrella([cmd, '--help']);
    t.equal(r.status, 0, cmd);
    t.match(r.out, new RegExp(`^qrexec-policy ${cmd}\\b`), cmd);
    t.equal(r.err, '', cmd);
    t.notMatch(r.out, /\[default: \[\]\]/, `${cmd}: no empty default shown for a list`);
    if (['eval', 'fmt', 'lint'].includes(cmd)) t.match(r.out, /- for standard input/, `${cmd}: --help offers - for standard input`);
  }
});

t.test('qrexec-policy: --help on eval and explain prints their usage, exit 0, evaluates nothing', async (t) => {
  let r = await umbrella(['eval', '--help']);
  t.equal(r.status, 0);
  t.match(r.out, /^qrexec-policy eval \[options\] \[--\] SOURCE TARGET SERVICE\[\+ARG\]\nqrexec-policy eval --json \[options\] --batch FILE\|-\n/);
  for (const opt of ['--path', '--policy-path', '--legacy-path', '--legacy', '--system-info', '--json', '--batch', '--assume-yes-for-ask'])
    t.ok(r.out.includes(opt), opt);
  t.match(r.out, /exit status: 0 allow, 1 deny, 3 ask, 2 usage error/);
  t.equal(r.err, '');
  r = await umbrella(['explain', '--help']);
  t.equal(r.status, 0);
  t.match(r.out, /^qrexec-policy explain \[options\] \[--\] SOURCE TARGET SERVICE\[\+ARG\]\n/);
  t.match(r.out, /--all/);
  // --help with a full request still only prints help
  r = await umbrella(['eval', ...std, '--help', 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  t.notMatch(r.out, /allow to/);
});

t.test('qrexec-policy: --version prints the version, exit 0', async (t) => {
  const r = await umbrella(['--version']);
  t.equal(r.status, 0);
  t.equal(r.out, `${VERSION}\n`);
});

t.test('qrexec-policy: usage errors: exit 2, one line naming the command and the problem, one pointing at --help', async (t) => {
  const cases: Array<[string[], string, string]> = [
    [[], 'qrexec-policy', 'a command is required'],
    [['bogus-command'], 'qrexec-policy', 'unknown command bogus-command'],
    [['evl', 'work', 'vault', 'qubes.Gpg'], 'qrexec-policy', 'unknown command evl (did you mean eval?)'],
    [['lsit'], 'qrexec-policy', 'unknown command lsit (did you mean list?)'],
    [['--bogus'], 'qrexec-policy', 'a command is required'],
    [['eval', ...std, 'work', 'vault'], 'qrexec-policy eval', 'needs SOURCE TARGET SERVICE[+ARG] (or --batch FILE)'],
    [['eval', ...std], 'qrexec-policy eval', 'needs SOURCE TARGET SERVICE[+ARG] (or --batch FILE)'],
    [['eval', '--log-level', 'loud', ...std, 'work', 'vault', 'qubes.Gpg'], 'qrexec-policy eval', 'invalid log level loud (error, warn, info, debug)'],
    [['eval', '--sytem-info', 'x', 'work', 'vault', 'qubes.Gpg'], 'qrexec-policy eval', 'unknown option --sytem-info (did you mean --system-info?)'],
    [['eval', '--frobnicate', 'work', 'vault', 'qubes.Gpg'], 'qrexec-policy eval', 'unknown option --frobnicate'],
    [['list', '--no-colour'], 'qrexec-policy list', 'unknown option --no-colour (did you mean --no-color?)'],
    [['list', '-z'], 'qrexec-policy list', 'unknown option -z'],
    [['explain', ...std, 'work'], 'qrexec-policy explain', 'needs SOURCE TARGET SERVICE[+ARG]'],
  ];
  for (const [argv, who, msg] of cases) {
    const r = await umbrella(argv);
    t.equal(r.status, 2, argv.join(' '));
    t.equal(r.err, `${who}: ${msg}\nRun '${who} --help' for usage.\n`, argv.join(' '));
    t.equal(r.ioOut, '', 'no decision printed');
  }
});

t.test(
  'qrexec-policy: an unknown option on eval is a usage error (exit 2, no decision)',
  async (t) => {
    const r = await umbrella(['eval', '--bogus', ...std, 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 2);
    t.equal(r.ioOut, '');
  },
);

t.test(
  'qrexec-policy: an extra positional on eval is a usage error (exit 2, no decision)',
  async (t) => {
    const r = await umbrella(['eval', ...std, 'work', 'vault', 'qubes.Gpg', 'extra']);
    t.equal(r.status, 2);
    t.equal(r.ioOut, '');
  },
);

t.test(
  'qrexec-policy: a missing positional is reported once, without an internal error message',
  async (t) => {
    const r = await umbrella(['eval', ...std, 'work', 'vault']);
    t.equal(r.status, 2);
    t.notMatch(r.err, /Cannot read properties/);
  },
);

t.test('qrexec-policy: isR40Form: a decimal first non-option argument', async (t) => {
  t.ok(isR40Form(['12', 'work', 'vault', 'qubes.Gpg', 'ident']));
  t.ok(isR40Form(['--just-evaluate', '--path', 'x', '0', 'a', 'b', 'c', 'd']));
  t.notOk(isR40Form(['eval', '12']));
  t.notOk(isR40Form(['--path', '12', 'eval']), 'an option value is not the first argument');
  t.notOk(isR40Form(['1a', 'b']));
  t.notOk(isR40Form([]));
  t.notOk(isR40Form(['--json', '12']), 'an option the per-call form does not know: not that form');
});

t.test('qrexec-policy: the R4.0 form: qrexec-policy --just-evaluate DOMAIN_ID SOURCE TARGET SERVICE IDENT', async (t) => {
  let r = await umbrella(['--just-evaluate', ...std, '12', 'work', 'vault', 'qubes.Gpg', 'SOCKET11']);
  t.equal(r.status, 0);
  t.equal(r.rawStdout, '', 'answers by exit code only');
  t.match(r.err, /^qrexec: qubes\.Gpg: work -> vault: allowed to vault$/m);
  r = await umbrella(['--just-evaluate', ...std, '12', 'personal', 'vault', 'qubes.Filecopy', 'SOCKET11']);
  t.equal(r.status, 1);
  t.equal(r.rawStdout, '');
  r = await umbrella(['--just-evaluate', '--assume-yes-for-ask', '--log-level', 'error', ...std, '0', 'work', 'personal', 'qubes.Filecopy', 'x']);
  t.equal(r.status, 0);
  t.equal(r.err, '', '--log-level error: quiet');
  // a numeric first argument is never a subcommand, even if a subcommand follows
  r = await umbrella(['--just-evaluate', ...std, '12', 'eval', 'vault', 'qubes.Gpg', 'x']);
  t.equal(r.status, 1, 'evaluated (and denied: unknown source "eval")');
  // wrong argument count in the R4.0 form: usage error
  r = await umbrella([...std, '12', 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 2);
  t.match(r.err, /the R4\.0 form takes DOMAIN_ID SOURCE TARGET SERVICE\[\+ARG\] PROCESS_IDENT, got 4 arguments/);
  t.equal(r.rawStdout, '');
});

t.test(
  'qrexec-policy: the R4.0 form takes exactly five positionals',
  async (t) => {
    const r = await umbrella([...std, '12', 'work', 'vault']);
    t.equal(r.status, 2);
    t.equal(r.rawStdout, '');
  },
);

t.test('qrexec-policy: qrexec-policy exec behaves like qrexec-policy-exec', async (t) => {
  let r = await umbrella(['exec', ...std, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  t.equal(
    r.rawStdout,
    ['user=DEFAULT', 'result=allow', 'target=vault', `target_uuid=uuid:${UUID.vault}`, 'autostart=True', 'requested_target=vault', ''].join('\n'),
  );
  t.equal(r.err, 'qrexec: qubes.Gpg: work -> vault: allowed to vault\n');
  r = await umbrella(['exec', ...std, 'personal', 'vault', 'qubes.Filecopy'], {});
  t.equal(r.status, 1);
  t.equal(r.rawStdout, 'result=deny\n');
  r = await umbrella(['exec', '--just-evaluate', ...std, 'work', 'vault', 'qubes.Gpg']);
  t.equal(r.status, 0);
  t.equal(r.rawStdout, '');
  r = await umbrella(['exec', '--help']);
  t.equal(r.status, 0);
  t.equal(r.rawStdout, EXEC_USAGE);
  r = await umbrella(['exec', '--version']);
  t.equal(r.status, 0);
  t.equal(r.rawStdout, `${VERSION}\n`);
  r = await umbrella(['exec', '--bogus', 'a', 'b', 'c']);
  t.equal(r.status, 2);
  t.match(r.err, /^qrexec-policy-exec: unknown option --bogus/);
  r = await umbrella(['exec', ...std, 'work']);
  t.equal(r.status, 2);
});

/** Run runMain in this process and undo what it does to the process afterwards. */
async function withRunMain(main: () => Promise<number>, crashStatus?: number, env: Record<string, string> = {}) {
  const before = { ue: process.listeners('uncaughtException'), ur: process.listeners('unhandledRejection') };
  const savedExit = process.exitCode;
  const savedEnv: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    savedEnv[k] = process.env[k];
    process.env[k] = v;
  }
  let exitCode: typeof process.exitCode;
  try {
    const r = await captureProcess(async () => {
      if (crashStatus === undefined) runMain('tool', main);
      else runMain('tool', main, crashStatus);
      await new Promise((resolve) => setImmediate(resolve));
      return undefined;
    });
    exitCode = process.exitCode;
    return { exitCode, stderr: r.stderr, stdout: r.stdout };
  } finally {
    process.exitCode = savedExit;
    for (const [k, v] of Object.entries(savedEnv)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    for (const l of process.listeners('uncaughtException')) if (!before.ue.includes(l)) process.off('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.ur.includes(l)) process.off('unhandledRejection', l);
  }
}

t.test('qrexec-policy: runMain: the exit status, and a one-line internal error instead of a stack trace', async (t) => {
  let r = await withRunMain(async () => 3);
  t.equal(r.exitCode, 3);
  t.equal(r.stderr, '');
  r = await withRunMain(async () => {
    throw new Error('boom');
  });
  t.equal(r.exitCode, 1);
  t.equal(r.stderr, 'tool: internal error: boom\n');
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  r = await withRunMain(() => Promise.reject('a string'), 2);
  t.equal(r.exitCode, 2);
  t.equal(r.stderr, 'tool: internal error: a string\n');
  // QREXEC_POLICY_DEBUG adds the stack
  r = await withRunMain(
    async () => {
      throw new Error('kaput');
    },
    undefined,
    { QREXEC_POLICY_DEBUG: '1' },
  );
  t.match(r.stderr, /^tool: internal error: kaput\nError: kaput\n\s+at /);
});

t.test('runMain: a reader that goes away (EPIPE) ends the process quietly; other stdout errors are reported', async (t) => {
  const before = process.stdout.listeners('error');
  const exits: (number | undefined)[] = [];
  const realExit = process.exit;
  process.exit = ((code?: number) => void exits.push(code)) as typeof process.exit;
  try {
    const r = await captureProcess(async () => {
      runMain('tool', async () => 0);
      await new Promise((resolve) => setImmediate(resolve));
      // call runMain's listener itself: the test runner has its own stdout error listener first
      const ours = process.stdout.listeners('error').find((l) => !before.includes(l)) as (e: Error) => void;
      ours(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      ours(Object.assign(new Error('disk on fire'), { code: 'EIO' }));
      return undefined;
    });
    t.same(exits, [1], 'EPIPE exits with status 1');
    t.equal(r.stderr, 'tool: internal error: disk on fire\n', 'nothing about EPIPE; the other error is reported');
  } finally {
    process.exit = realExit;
    process.exitCode = undefined;
    for (const l of process.stdout.listeners('error')) if (!before.includes(l)) process.stdout.off('error', l as never);
    for (const l of process.listeners('uncaughtException').slice(1)) process.off('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) process.off('unhandledRejection', l);
  }
});

t.test('internal errors propagate to runMain instead of being mistaken for a deny or a usage error', async (t) => {
  // a non-string argument: a bug in the caller, not a usage error
  await t.rejects(umbrellaMain([42 as unknown as string], captureIo().io), TypeError);
  const quiet = { stdout: () => undefined, stderr: () => undefined, log: captureLog().log };
  await t.rejects(execMain([...std, 'work', 'vault', 'qubes.Gpg'], { ...quiet, env: throwingEnv({ keys: ['QREXEC_CLIENT'] }) }), {
    message: 'env.QREXEC_CLIENT exploded',
  });
  await t.rejects(execMain(['--path', p.policy, 'work', 'vault', 'qubes.Gpg'], { ...quiet, env: throwingEnv({ keys: ['QREXEC_POLICY_SYSTEM_INFO'] }) }), {
    message: 'env.QREXEC_POLICY_SYSTEM_INFO exploded',
  });
});

t.test('qrexec-policy-exec --syslog: decision lines also go to syslog through logger(1)', async (t) => {
  const bin = path.join(p.dir, 'fake-bin');
  const out = path.join(p.dir, 'syslog.txt');
  fs.mkdirSync(bin, { recursive: true });
  fs.writeFileSync(path.join(bin, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${out}'\n`, { mode: 0o755 });
  const savedPath = process.env['PATH'];
  process.env['PATH'] = `${bin}:${savedPath ?? ''}`;
  let r;
  try {
    r = await captureProcess(() =>
      execMain(['--syslog', '--log-level', 'info', ...std, 'work', 'vault', 'qubes.Gpg'], { stdout: () => undefined, env: SAFE_ENV }),
    );
    // logger(1) is started asynchronously: keep the fake one on PATH until it has run
    for (let i = 0; i < 250 && !fs.existsSync(out); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.env['PATH'] = savedPath;
  }
  t.equal(r.value, 0);
  t.equal(r.stderr, 'qrexec: qubes.Gpg: work -> vault: allowed to vault\n', 'still on stderr');
  t.equal(fs.readFileSync(out, 'utf8'), `-u ${SAFE_ENV['QREXEC_POLICY_SYSLOG_SOCKET']} -t qrexec-policy-exec -p daemon.info -- qrexec: qubes.Gpg: work -> vault: allowed to vault\n`);
});

t.test('qrexec-policy-exec logs to syslog by default where syslog listens, as Qubes\' does; --stderr and --log-file choose otherwise', async (t) => {
  const dir = t.testdir({ bin: {} });
  const out = path.join(dir, 'syslog.txt');
  fs.writeFileSync(path.join(dir, 'bin/logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${out}'\n`, { mode: 0o755 });
  // a socket standing in for /dev/log (logger, faked here, is what writes to it)
  // (in a short directory: a socket's path has at most 107 bytes)
  const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qp-log-'));
  t.teardown(() => fs.rmSync(sockDir, { recursive: true, force: true }));
  const socket = path.join(sockDir, 'log.sock');
  const server = net.createServer().listen(socket);
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => void server.close());
  const savedPath = process.env['PATH'];
  process.env['PATH'] = `${path.join(dir, 'bin')}:${savedPath ?? ''}`;
  t.teardown(() => void (process.env['PATH'] = savedPath));
  const run = async (args: string[], env: NodeJS.ProcessEnv) => {
    fs.rmSync(out, { force: true });
    const r = await captureProcess(() => execMain([...args, ...std, 'work', 'vault', 'qubes.Gpg'], { stdout: () => undefined, env: { ...SAFE_ENV, ...env } }));
    for (let i = 0; i < 250 && !fs.existsSync(out) && ((!args.includes('--stderr') && env['QREXEC_POLICY_SYSLOG_SOCKET'] === socket) || args.includes('--syslog')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    return { status: r.value, stderr: r.stderr, syslog: fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '' };
  };
  const line = 'qrexec: qubes.Gpg: work -> vault: allowed to vault';
  t.same(await run([], { QREXEC_POLICY_SYSLOG_SOCKET: socket }), { status: 0, stderr: '', syslog: `-u ${socket} -t qrexec-policy-exec -p daemon.info -- ${line}\n` }, 'syslog only');
  t.same(await run(['--stderr'], { QREXEC_POLICY_SYSLOG_SOCKET: socket }), { status: 0, stderr: line + '\n', syslog: '' }, '--stderr');
  const file = path.join(dir, 'exec.log');
  t.same(await run(['--log-file', file], { QREXEC_POLICY_SYSLOG_SOCKET: socket }), { status: 0, stderr: '', syslog: '' }, '--log-file');
  t.match(fs.readFileSync(file, 'utf8'), line);
  t.same(await run(['--syslog'], { QREXEC_POLICY_SYSLOG_SOCKET: '' }), { status: 0, stderr: line + '\n', syslog: `-t qrexec-policy-exec -p daemon.info -- ${line}\n` }, '/dev/log: logger needs no -u');
  t.same(await run([], { QREXEC_POLICY_SYSLOG_SOCKET: path.join(dir, 'none') }), { status: 0, stderr: line + '\n', syslog: '' }, 'no syslog: stderr');
  t.same(await run([], { QREXEC_POLICY_SYSLOG_SOCKET: out.replace('syslog.txt', 'bin') }), { status: 0, stderr: line + '\n', syslog: '' }, 'not a socket: stderr');
});
