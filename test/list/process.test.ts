/**
 * `qrexec-policy list` as a real process (the bundle in dist/bin, built by
 * `npm test`'s pretest): help, the same JSON as the golden file, and a reader
 * that closes the pipe early (`list | head`): the listing stops at once, with
 * no error message.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN, run } from '../cli/fixtures/cli.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EX = path.join(ROOT, 'policy.d-examples');
const EX_ARGS = ['list', '--action', 'all', '--path', EX, '--legacy-path', path.join(EX, 'legacy'), '--system-info', path.join(EX, 'system-info.json')];

if (!fs.existsSync(BIN.policy)) {
  t.fail('dist/bin is missing: run `npm run build` (npm test does it first)');
} else {
  t.test('list --help: the options, exit 0', async (t) => {
    const r = run(BIN.policy, ['list', '--help']);
    t.equal(r.status, 0);
    for (const opt of ['--source', '--target', '--service', '--action', '--format', '--explain', '--no-color', '--path', '--system-info'])
      t.ok(r.stdout.includes(opt), opt);
    t.equal(r.stderr, '');
  });

  t.test('the bundle prints the golden JSON for policy.d-examples', async (t) => {
    // 2 MB of output: more than run()'s spawnSync buffer
    const r = spawnSync(process.execPath, [BIN.policy, ...EX_ARGS, '--format', 'json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    t.equal(r.status, 0);
    t.equal(r.stderr, '');
    t.equal(r.stdout.split(ROOT + '/').join(''), fs.readFileSync(path.join(ROOT, 'test/list/examples.golden.json'), 'utf8'));
  });

  t.test('a reader that closes the pipe stops the listing quietly', async (t) => {
    const child = spawn(process.execPath, [BIN.policy, ...EX_ARGS], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (b: Buffer) => resolve(b.toString())));
    child.stdout.destroy();
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    t.match(first, /^debian-13\n  admin\.vm\.List\n/);
    t.equal(status, 1, 'the listing is incomplete');
    t.equal(stderr, '', 'no message, no stack trace');
  });
}
