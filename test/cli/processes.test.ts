/**
 * The bundled commands as real processes (dist/bin, built by `npm test`'s
 * pretest). A bounded number of spawns: stdout carries only protocol
 * output, errors are one line on stderr without a stack trace, exit codes.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, command, paths, run, tree, UUID, type Run } from './fixtures/cli.js';
import { EXEC_USAGE } from '../../src/cli/exec-main.js';

const VERSION = (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

if (!Object.values(BIN).every((f) => fs.existsSync(f))) {
  t.fail('dist/bin is missing: run `npm run build` (npm test does it first)');
} else {
  const p = paths(t.testdir({ ...tree(), 'empty-rpc': {} }));
  const std = ['--path', p.policy, '--system-info', p.si];
  const SAFE_ENV = { QREXEC_RPC_DIR: `${p.dir}/empty-rpc`, QREXEC_CLIENT: `${p.dir}/none`, QUBESD_SOCKET: `${p.dir}/none.sock`, QREXEC_POLICY_SYSLOG_SOCKET: `${p.dir}/no-log` };
  const policy = (args: string[], opts: Parameters<typeof run>[2] = {}) => run(BIN.policy, args, { ...opts, env: { ...SAFE_ENV, ...opts.env } });
  const exec = (args: string[], opts: Parameters<typeof run>[2] = {}) => run(BIN.exec, args, { ...opts, env: { ...SAFE_ENV, ...opts.env } });

  /** stderr is at most `max` lines, none of them a stack frame. */
  const cleanStderr = (t: Test, r: Run, max = 1) => {
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    t.ok(lines.length <= max, `at most ${max} stderr line(s): ${JSON.stringify(r.stderr)}`);
    t.notMatch(r.stderr, /^\s+at /m, 'no stack trace');
    t.notMatch(r.stderr, /internal error/);
  };

  t.test('qrexec-policy-exec: allow block on stdout, decision line on stderr', async (t) => {
    const r = exec(['--path', p.policy, 'work', 'vault', 'qubes.Gpg'], { env: { QREXEC_POLICY_SYSTEM_INFO: p.si } });
    t.equal(r.status, 0);
    t.equal(
      r.stdout,
      ['user=DEFAULT', 'result=allow', 'target=vault', `target_uuid=uuid:${UUID.vault}`, 'autostart=True', 'requested_target=vault', ''].join('\n'),
    );
    t.equal(r.stderr, 'qrexec: qubes.Gpg: work -> vault: allowed to vault\n');
  });

  t.test('qrexec-policy-exec: a stderr that cannot be written (a full disk) loses the log line, not the answer', async (t) => {
    const full = fs.openSync('/dev/full', 'w');
    t.teardown(() => fs.closeSync(full));
    // (through command(): the suite also runs against the standalone executable)
    const r = spawnSync(...command(BIN.exec, ['--stderr', ...std, 'work', 'vault', 'qubes.Gpg']), {
      stdio: ['ignore', 'pipe', full],
      encoding: 'utf8',
      env: { ...process.env, ...SAFE_ENV },
      timeout: 20000,
    });
    t.equal(r.status, 0, 'allowed, as with a stderr that works');
    t.match(r.stdout, /^user=DEFAULT\nresult=allow\ntarget=vault\n/);
  });

  t.test('qrexec-policy-exec, the bundle: where syslog listens, the decision line goes there through logger, not to stderr', async (t) => {
    // (a short directory: a socket's path has at most 107 bytes)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qp-syslog-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const socket = path.join(dir, 'log');
    const server = net.createServer().listen(socket);
    await new Promise((resolve) => server.once('listening', resolve));
    t.teardown(() => void server.close());
    const logged = path.join(dir, 'logged');
    fs.writeFileSync(path.join(dir, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" > '${logged}.tmp' && mv '${logged}.tmp' '${logged}'\n`, { mode: 0o755 });
    const r = exec([...std, 'work', 'vault', 'qubes.Gpg'], { env: { QREXEC_POLICY_SYSLOG_SOCKET: socket, PATH: `${dir}:${process.env['PATH']}` } });
    t.equal(r.status, 0, r.stderr);
    t.equal(r.stderr, '');
    for (let i = 0; i < 250 && !fs.existsSync(logged); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    t.equal(fs.readFileSync(logged, 'utf8'), `-u ${socket} -t qrexec-policy-exec -p daemon.info -- qrexec: qubes.Gpg: work -> vault: allowed to vault\n`);
  });

  t.test('qrexec-policy-exec: a policy syntax error denies, logged with file:line', async (t) => {
    const r = exec(['--path', p.bad, '--system-info', p.si, 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 1);
    t.equal(r.stdout, 'result=deny\n');
    t.match(r.stderr, new RegExp(`^qrexec: qubes\\.Gpg: work -> vault: denied: .*${p.bad}/20-bad\\.policy:2`));
    cleanStderr(t, r);
  });

  t.test('qrexec-policy-exec: missing system info denies, naming the file', async (t) => {
    const r = exec(['--path', p.policy, '--system-info', p.missing, 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 1);
    t.equal(r.stdout, 'result=deny\n');
    t.match(r.stderr, /^error: /);
    t.ok(r.stderr.includes(p.missing));
    cleanStderr(t, r);
  });

  t.test('qrexec-policy-exec: usage error and --help', async (t) => {
    let r = exec(['--bogus', 'work', 'vault', 'qubes.Gpg']);
    t.equal(r.status, 2);
    t.equal(r.stdout, '');
    t.equal(r.stderr, "qrexec-policy-exec: unknown option --bogus\nRun 'qrexec-policy-exec --help' for usage.\n");
    r = exec(['--help']);
    t.equal(r.status, 0);
    t.equal(r.stdout, EXEC_USAGE);
    t.equal(r.stderr, '');
  });

  t.test('qrexec-policy eval --json: one JSON object on stdout, exit 3 for ask', async (t) => {
    const r = policy(['eval', '--json', ...std, 'work', '', 'qubes.Filecopy']);
    t.equal(r.status, 3);
    t.equal(r.stdout.split('\n').length, 2);
    t.match(JSON.parse(r.stdout), { result: 'ask', requested_target: '@default', default_target: 'personal' });
    t.equal(r.stderr, '');
  });

  t.test('qrexec-policy: --help, --version', async (t) => {
    let r = policy(['--help']);
    t.equal(r.status, 0);
    t.match(r.stdout, /^qrexec-policy <command>/);
    t.equal(r.stderr, '');
    r = policy(['--version']);
    t.equal(r.status, 0);
    t.equal(r.stdout, `${VERSION}\n`);
  });

  t.test('qrexec-policy: the R4.0 form and the exec subcommand', async (t) => {
    let r = policy(['--just-evaluate', ...std, '12', 'work', 'vault', 'qubes.Gpg', 'SOCKET7']);
    t.equal(r.status, 0);
    t.equal(r.stdout, '');
    t.equal(r.stderr, 'qrexec: qubes.Gpg: work -> vault: allowed to vault\n');
    r = policy(['exec', ...std, 'personal', 'vault', 'qubes.Filecopy']);
    t.equal(r.status, 1);
    t.equal(r.stdout, 'result=deny\n');
  });

  t.test('eval --json --batch=- reads standard input', async (t) => {
    const input = [
      JSON.stringify({ source: 'work', target: 'vault', service: 'qubes.Gpg' }),
      'garbage',
      JSON.stringify({ source: 'work', target: 'personal', service: 'qubes.Filecopy', assume_yes_for_ask: true }),
      JSON.stringify({ source: 'work', target: 'vault', service: 'qubes.Gpg', path: p.run }),
    ].join('\r\n');
    const r = policy(['eval', '--json', ...std, '--batch=-'], { input: input + '\r\n' });
    t.equal(r.status, 0);
    t.equal(r.stderr, '');
    const lines = r.stdout.split('\n');
    t.equal(lines.pop(), '');
    t.same(
      lines.map((l) => (JSON.parse(l) as { result: string }).result),
      ['allow', 'deny', 'allow', 'deny'],
    );
  });

  t.test('eval --json --batch - (separate argument) reads standard input', async (t) => {
    const r = policy(['eval', '--json', ...std, '--batch', '-'], {
      input: JSON.stringify({ source: 'work', target: 'vault', service: 'qubes.Gpg' }) + '\n',
    });
    t.equal(r.status, 0);
    t.match(JSON.parse(r.stdout), { result: 'allow' });
  });

  // (the help of fmt, lint and eval offering `-` is checked in process: test/cli/exec.test.ts)
  t.test('standard input wherever --help offers it: fmt -, fmt --check -, lint -', async (t) => {
    let r = policy(['fmt', '-'], { input: 'svc * @anyvm vault\n' });
    t.same([r.status, r.stdout], [1, '']);
    t.equal(r.stderr, '<stdin>:1:1: error: wrong number of fields [field-count]\nqrexec-policy fmt: <stdin> has errors; not formatted\n');
    r = policy(['fmt', '--check', '-'], { input: 'svc * @anyvm   vault allow\n' });
    t.equal(r.status, 1);
    t.match(r.stdout, /^--- <stdin>\n\+\+\+ <stdin> \(formatted\)\n/);
    r = policy(['lint', '-'], { input: 'svc * @anyvm vault allow\nbad\n' });
    t.same([r.status, r.stdout], [1, '<stdin>:2:1: error: wrong number of fields [field-count]\n1 error, 0 warnings\n'], 'the text read, not /etc/qubes/policy.d');
  });

  t.test('every drop-in answers --help with its usage, exit 0', async (t) => {
    for (const [name, bin] of [
      ['qrexec-policy-daemon', BIN.daemon],
      ['qubes-policy-lint', BIN.lint],
      ['qrexec-policy-graph', BIN.graph],
      ['qrexec-legacy-convert', BIN.convert],
    ] as const) {
      const r = run(bin, ['--help']);
      t.equal(r.status, 0, name);
      t.match(r.stdout, new RegExp(`^(usage: )?${name}\\b`), name);
      t.equal(r.stderr, '');
    }
  });
}
