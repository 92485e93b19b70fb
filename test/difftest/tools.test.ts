/**
 * The differential tester's command line (difftest/run.mjs, through its real
 * argument parser and its real bundle) and its table of injectable bugs.
 * Runs against the reference need the reference, which CI does not have:
 * `npm run difftest` is run by hand (docs/difftest.md).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import t from 'tap';
import { MUTATIONS } from '../../difftest/mutations.mjs';

const run = (...args: string[]) => spawnSync(process.execPath, ['difftest/run.mjs', ...args], { encoding: 'utf8', env: { ...process.env, QREXEC_REFERENCE: '' } });

t.test('--help, and usage errors before any work', async (t) => {
  const h = run('--help');
  t.equal(h.status, 0);
  t.match(h.stdout, /^npm run difftest -- --reference DIR/);
  for (const [args, msg] of [
    [['--bogus'], /unknown option --bogus/],
    [['--requests', 'many'], /--requests needs a whole number/],
    [['--inject', 'no-such-bug'], /no mutation no-such-bug/],
    [['--reference', '/nonexistent-reference-dir'], /give --reference DIR/],
  ] as const) {
    const r = run(...args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr, msg);
    t.equal(r.stdout, '');
  }
});

t.test('--list: the bundle builds, and names every area and mutation', async (t) => {
  const r = run('--list');
  t.equal(r.status, 0, r.stderr);
  for (const area of ['ask', 'offers', 'tokens', 'params', 'includes', 'remote', 'order', 'sysinfo', 'legacy', 'wildcard', 'mixed', 'processes'])
    t.match(r.stdout, new RegExp(`^  ${area} `, 'm'), area);
  for (const id of Object.keys(MUTATIONS)) t.match(r.stdout, new RegExp(`^  ${id} `, 'm'), id);
});

t.test('every mutation still finds its text, exactly once', async (t) => {
  for (const [id, m] of Object.entries(MUTATIONS)) {
    const text = fs.readFileSync(m.file, 'utf8');
    t.equal(text.split(m.find).length - 1, 1, `${id}: ${m.file}`);
    t.not(m.find, m.replace, `${id} changes something`);
  }
});
