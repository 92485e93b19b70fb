/**
 * Shell completion: the words offered (commands, options, option values,
 * qube names from the system info and service names from the policy, as the
 * command line names them), through the real umbrella parser in process;
 * then the printed scripts: `bash -n`, `zsh -n` where zsh is installed, and
 * one real bash completion against policy.d-examples.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { complete, type CommandSpec } from '../../src/completion/complete.js';
import { captureIo } from '../cli/fixtures/cli.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const examples = path.join(repo, 'policy.d-examples');
const si = path.join(examples, 'system-info.json');
const EXAMPLE_QUBES = Object.keys((JSON.parse(fs.readFileSync(si, 'utf8')) as { domains: object }).domains);

/** What `qrexec-policy completion --complete N -- WORDS` answers, N being the last word. */
async function offered(words: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const c = captureIo(env);
  const status = await umbrellaMain(['completion', '--complete', String(words.length), '--', 'qrexec-policy', ...words], c.io);
  if (status !== 0) throw new Error(c.err);
  return c.out.split('\n').filter(Boolean);
}

t.test('commands, options and their values', async (t) => {
  t.same(await offered(['e']), ['eval', 'exec', 'explain']);
  t.same(await offered(['nosuch', 'ev']), ['eval'], 'an unknown command is not one: commands are offered still');
  t.ok((await offered([''])).includes('install-dom0'));
  t.same(await offered(['--v']), ['--version']);
  t.same(await offered(['list', '--fo']), ['--format']);
  t.same(await offered(['list', '--format', '']), ['json', 'text']);
  t.same(await offered(['list', '--format=j']), ['--format=json']);
  t.same(await offered(['eval', '--log-level', 'd']), ['debug']);
  t.same(await offered(['lint', '--path', 'x']), [':files']);
  t.same(await offered(['lint', '--path=x']), [':files']);
  t.same(await offered(['lint', '--nosuch=x']), []);
  t.same(await offered(['fmt', 'a.policy', 'b']), [':files'], 'fmt takes files, any number');
  t.same(await offered(['diff', 'old', 'new', '']), [], 'diff takes two');
  t.same(await offered(['completion', '']), ['bash', 'zsh']);
  t.same(await offered(['test', '-v', '--cov']), ['--coverage'], 'a flag takes no value');
  t.same(await offered(['install-dom0', '--root', '/', '--dry-run', '']), []);
  t.same(await offered(['eval', '--', '--path']), [], 'after --, words are positionals');
  t.same(await offered(['list', '--action', '']), [], 'a free value: nothing to offer');
});

t.test('qube names from the system info, service names from the policy, as the command line names them', async (t) => {
  const qubes = await offered(['eval', '--system-info', si, '']);
  t.same(qubes, [...EXAMPLE_QUBES, '@adminvm', '@anyvm', '@default', '@dispvm'].sort());
  t.same(await offered(['eval', '--system-info', si, 'work', 'p']), ['personal']);
  t.same(await offered(['list', '--source', 'd'], { QREXEC_POLICY_SYSTEM_INFO: si }), ['debian-13', 'default-dvm', 'default-mgmt-dvm', 'dom0']);
  t.same(await offered(['list', `--source=v`], { QREXEC_POLICY_SYSTEM_INFO: si }), ['--source=vault']);
  const services = await offered(['eval', '--path', examples, '--system-info', si, 'work', 'vault', 'qubes.Gp']);
  t.same(services, ['qubes.Gpg', 'qubes.GpgImportKey']);
  t.ok((await offered(['list', `--policy-path=${examples}`, '--service', 'qubes.'])).includes('qubes.Filecopy'));
  t.same(await offered(['exec', 'work', 'vault', 'qubes.Gp', '--path', examples]), [], 'exec: SERVICE is the third word');
  // an argument-specific rule offers SERVICE+ARG
  const dir = t.testdir({ 'a.policy': 'my.Svc +arg * @anyvm deny\n* * @anyvm @anyvm deny\n' });
  t.same(await offered(['eval', '--path', dir, 'a', 'b', 'my']), ['my.Svc', 'my.Svc+arg']);
  // nothing to read: nothing offered, no message
  t.same(await offered(['eval', '--system-info', '/nonexistent', 'w']), []);
  t.same(await offered(['eval', '--legacy', '--path', dir, 'a', 'b', 'my']), [], '--legacy: no rule list to read');
  t.same(await offered(['eval', 'w'], { QUBESD_INTERNAL_SOCKET: '/nonexistent/socket' }), [], 'no qubesd');
});

t.test('the scripts, and a usage error', async (t) => {
  const bash = captureIo();
  t.equal(await umbrellaMain(['completion', 'bash'], bash.io), 0);
  t.match(bash.out, 'complete -F _qrexec_policy qrexec-policy ts-qrexec-policy');
  const zsh = captureIo();
  t.equal(await umbrellaMain(['completion', 'zsh'], zsh.io), 0);
  t.match(zsh.out, /^#compdef qrexec-policy ts-qrexec-policy\n/);
  const none = captureIo();
  t.equal(await umbrellaMain(['completion'], none.io), 2);
  t.match(none.err, 'name the shell: bash or zsh');
  const bad = captureIo();
  t.equal(await umbrellaMain(['completion', '--complete', 'x', '--', 'qrexec-policy'], bad.io), 2);
  t.match(bad.err, '--complete needs the number of the word to complete, not x');

  const dir = t.testdir({ 'qrexec-policy.bash': bash.out, '_qrexec-policy': zsh.out });
  const syntax = spawnSync('bash', ['-n', path.join(dir, 'qrexec-policy.bash')], { encoding: 'utf8' });
  t.equal(syntax.status, 0, `bash -n: ${syntax.stderr}`);
  const hasZsh = spawnSync('sh', ['-c', 'command -v zsh'], { encoding: 'utf8' }).status === 0;
  if (hasZsh) {
    const z = spawnSync('zsh', ['-n', path.join(dir, '_qrexec-policy')], { encoding: 'utf8' });
    t.equal(z.status, 0, `zsh -n: ${z.stderr}`);
  } else t.skip('zsh not installed: zsh -n not run (CI installs it)');

  // a real bash completion: the function from the script, the program on PATH
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.writeFileSync(path.join(dir, 'bin/qrexec-policy'), `#!/bin/sh\nexec '${process.execPath}' '${path.join(repo, 'dist/bin/qrexec-policy.js')}' "$@"\n`, { mode: 0o755 });
  const script = [
    `source '${path.join(dir, 'qrexec-policy.bash')}'`,
    'run() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _qrexec_policy; echo "${COMPREPLY[*]}"; }',
    `run qrexec-policy eval --path '${examples}' --system-info '${si}' w`,
    `run qrexec-policy eval --path '${examples}' --system-info '${si}' work vault qubes.Fi`,
    `run qrexec-policy ex`,
    `run qrexec-policy lint --path '${path.join(dir, 'qrexec-policy.b')}'`,
  ].join('\n');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', env: { PATH: `${path.join(dir, 'bin')}:${process.env['PATH']}`, HOME: dir } });
  t.equal(r.stderr, '');
  t.same(r.stdout.split('\n'), ['work', 'qubes.Filecopy', 'exec explain', path.join(dir, 'qrexec-policy.bash'), '']);
});

t.test('complete() on its own: a command without subcommands, past the last positional', async (t) => {
  const none = { qubes: async () => ['q1'], services: async () => [] };
  const top: CommandSpec = { name: 'x', options: new Map([['--target', { kind: 'qube' }]]), positionals: [{ kind: 'qube' }], repeat: false };
  t.same(await complete([], top, ['x', ''], 1, none), { kind: 'words', words: ['@adminvm', '@anyvm', '@default', '@dispvm', 'q1'] });
  t.same(await complete([], top, ['x', 'q1', ''], 2, none), { kind: 'words', words: [] });
  t.same(await complete([], top, ['x', '--target', 'q', '--target', ''], 4, none), { kind: 'words', words: ['@adminvm', '@anyvm', '@default', '@dispvm', 'q1'] });
  t.same(await complete([], top, ['x'], 5, none), { kind: 'words', words: ['@adminvm', '@anyvm', '@default', '@dispvm', 'q1'] }, 'a word past the end: the first positional');
});
