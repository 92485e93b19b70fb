#!/usr/bin/env node
// Bundle every command into one file under dist/bin (fast start-up: no module
// resolution at run time, and only the code each entry point imports).
//
// The per-call hot path, qrexec-policy-exec, is built for start-up time
// above all (measured, see bench/README.md):
// - as CommonJS, which skips Node's ESM loader (~15 ms here);
// - with a V8 code cache made at build time by running it once on the
//   example policy, loaded by a small launcher through vm.Script (Node 20
//   has no module.enableCompileCache); a cache V8 rejects (another Node
//   version) only costs the compile time it would have saved.
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
// the bundle keeps the entry's shebang; the launcher compiles it as a function body
writeFileSync(bundle, readFileSync(bundle, 'utf8').replace(/^#!.*\n/, ''));

const launcher = join('dist/bin', `${HOT}.cjs`);
writeFileSync(
  launcher,
  `#!/usr/bin/env node
'use strict';
// Runs ${HOT}.bundle.cjs with the V8 code cache made at build time.
// One call is over in tens of milliseconds: V8's optimising compiler only
// costs it time (measured: 10,000 rules, 1.49 -> 1.26 x node -e 0), so it
// is off for this process (the bytecode and baseline tiers still run); and
// a regular expression is compiled to machine code at once rather than
// first to bytecode and again on its second use (~0.3 ms for the largest).
// Through the binding: require('v8') loads Node's stream modules (~2.5 ms);
// its deprecation warning is not for the administrator, and a Node without
// the binding gets the public module.
{
  const flags = '--no-opt --no-regexp-tier-up';
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    process.binding('v8').setFlagsFromString(flags);
  } catch {
    require('v8').setFlagsFromString(flags);
  } finally {
    process.noDeprecation = quiet;
  }
}
const fs = require('fs');
const vm = require('vm');
const path = require('path');
const file = path.join(__dirname, '${HOT}.bundle.cjs');
const cacheFile = file + '.cache';
let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(
  '(function (exports, require, module, __filename, __dirname) {' + fs.readFileSync(file, 'utf8') + '\\n})',
  { filename: file, cachedData },
);
if (process.env.QREXEC_POLICY_WRITE_CODE_CACHE === '1') {
  process.on('exit', () => fs.writeFileSync(cacheFile, script.createCachedData()));
}
const mod = { exports: {} };
script.runInThisContext().call(mod.exports, mod.exports, require, mod, file, __dirname);
`,
);
chmodSync(launcher, 0o755);

// one representative call compiles what a decision needs; the cache keeps that bytecode
const ex = 'policy.d-examples';
try {
  execFileSync(
    process.execPath,
    [launcher, '--just-evaluate', '--path', ex, '--legacy-path', join(ex, 'legacy'), '--system-info', join(ex, 'system-info.json'), 'work', '@default', 'qubes.Filecopy'],
    { env: { ...process.env, QREXEC_POLICY_WRITE_CODE_CACHE: '1' }, stdio: 'ignore' },
  );
} catch (err) {
  // exit status 1 is a deny: still a complete run; anything else is a broken build
  if (err.status !== 1 && err.status !== 0) throw err;
}
