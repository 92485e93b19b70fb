#!/usr/bin/env node
// Bundle every command into one file under dist/bin (fast start-up: no module
// resolution at run time, and only the code each entry point imports).
import { build } from 'esbuild';
import { readdirSync, readFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const entries = readdirSync('src/bin').filter((f) => f.endsWith('.ts'));

await build({
  entryPoints: entries.map((f) => join('src/bin', f)),
  outdir: 'dist/bin',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  legalComments: 'external',
  sourcemap: false,
  define: { QREXEC_POLICY_VERSION: JSON.stringify(pkg.version) },
  // some bundled CommonJS dependencies call require() for Node built-ins
  banner: { js: "import { createRequire as __qpCreateRequire } from 'node:module'; const require = __qpCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
for (const f of entries) chmodSync(join('dist/bin', f.replace(/\.ts$/, '.js')), 0o755);
