#!/usr/bin/env node
// Bundle every command into one file under dist/bin (fast start-up: no module
// resolution at run time, and only the code each entry point imports).
//
// The per-call hot path, qrexec-policy-exec, is built for start-up time
// above all (measured, see bench/README.md):
// - as CommonJS, which skips Node's ESM loader (~15 ms here);
// - with a V8 code cache made at build time by running it on the example
//   policy (scripts/train-code-cache.cjs), loaded by a small launcher
//   through vm.Script (Node 20 has no module.enableCompileCache); a cache
//   V8 rejects (another Node version) only costs the compile time it would
//   have saved.
// The other commands stay ESM: yargs 18 is ESM-only and needs import.meta.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const define = { QREXEC_POLICY_VERSION: JSON.stringify(pkg.version) };
const HOT = 'qrexec-policy-exec';
const entries = readdirSync('src/bin').filter((f) => f.endsWith('.ts') && f !== `${HOT}.ts`);

rmSync('dist/bin', { recursive: true, force: true });

await build({
  entryPoints: entries.map((f) => join('src/bin', f)),
  outdir: 'dist/bin',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'external',
  define,
  // some bundled CommonJS dependencies call require() for Node built-ins
  banner: { js: "import { createRequire as __qpCreateRequire } from 'node:module'; const require = __qpCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
for (const f of entries) chmodSync(join('dist/bin', f.replace(/\.ts$/, '.js')), 0o755);

const bundle = join('dist/bin', `${HOT}.bundle.cjs`);
await build({
  entryPoints: [join('src/bin', `${HOT}.ts`)],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  define,
  logLevel: 'warning',
});
// The file holds the bundle as one function expression the launcher compiles as it is (a
// wrapper added at run time made V8 copy the whole source once more, ~15 page faults); the entry's
// shebang goes. scripts/build-sea.mjs calls the function for a standalone executable.
writeFileSync(
  bundle,
  '(function (exports, require, module, __filename, __dirname) {' + readFileSync(bundle, 'utf8').replace(/^#!.*\n/, '') + '\n})',
);

const launcher = join('dist/bin', `${HOT}.cjs`);
writeFileSync(
  launcher,
  `#!/usr/bin/env node
'use strict';
// Runs ${HOT}.bundle.cjs with the V8 code cache made at build time
// (scripts/train-code-cache.cjs). V8 refuses a code cache made under other
// flags, Node's built-in ones included: nothing here changes them (the
// bundle tunes V8 around its policy load only, src/io/v8-flags.ts).
const fs = require('fs');
const vm = require('vm');
// __dirname is absolute without a trailing slash (no path module: one more thing to compile)
const file = __dirname + '/${HOT}.bundle.cjs';
let cachedData;
try {
  cachedData = fs.readFileSync(file + '.cache');
} catch {
  cachedData = undefined;
}
const script = new vm.Script(fs.readFileSync(file, 'utf8'), { filename: file, cachedData });
const mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, require, mod, file, __dirname);
`,
);
chmodSync(launcher, 0o755);

// Calls on the example policy compile what decisions need; the cache keeps that bytecode. Each
// function in the cache is read back by every call, used or not, so the set is small: an ask
// (--just-evaluate), an allow printing its result block and decision line, and a deny by a rule at
// --log-level warn cost, per call, the fewest instructions and page faults measured on a 10-rule
// deny, the r43-desktop ask and an allow (bench/README.md, "Third round"; a deny at info and one
// notifying more only added page faults).
const ex = 'policy.d-examples';
const tree = ['--path', ex, '--legacy-path', join(ex, 'legacy'), '--system-info', join(ex, 'system-info.json')];
const calls = [
  ['--just-evaluate', ...tree, 'work', '@default', 'qubes.Filecopy'],
  ['--stderr', ...tree, 'work', 'personal', 'qubes.Filecopy'],
  ['--just-evaluate', '--log-level', 'warn', ...tree, 'untrusted', 'vault', 'qubes.ClipboardPaste'],
];
try {
  // the calls' decision lines are not the build's: shown only if training fails
  execFileSync(process.execPath, ['scripts/train-code-cache.cjs', JSON.stringify({ bundle, cache: `${bundle}.cache`, calls })], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
} catch (err) {
  process.stderr.write(String(err.stderr ?? ''));
  throw err;
}
