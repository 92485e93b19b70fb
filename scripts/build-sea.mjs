#!/usr/bin/env node
// npm run build:sea: qrexec-policy-exec as one self-contained executable (a
// Node single executable application), for machines without Node.js such as
// Qubes dom0. Steps: bundle the entry as CommonJS (SEA runs one CommonJS
// script), prepare the blob with V8 code cache, copy this node binary and
// inject the blob with postject.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = 'dist/sea';
const name = process.env.SEA_NAME ?? 'qrexec-policy-exec';
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [`src/bin/${name}.ts`],
  outfile: join(out, `${name}.cjs`),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  define: { QREXEC_POLICY_VERSION: JSON.stringify(pkg.version) },
  logLevel: 'warning',
});

const config = join(out, 'sea-config.json');
writeFileSync(
  config,
  JSON.stringify({
    main: join(out, `${name}.cjs`),
    output: join(out, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    useCodeCache: true,
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'inherit' });
const exe = join(out, name);
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
execFileSync(
  process.execPath,
  [
    'node_modules/postject/dist/cli.js',
    exe,
    'NODE_SEA_BLOB',
    join(out, 'sea-prep.blob'),
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
console.log(`built ${exe}`);
