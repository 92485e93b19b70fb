#!/usr/bin/env node
// npm run build:sea: qrexec-policy-exec as one self-contained executable (a
// Node single executable application), for machines without Node.js such as
// Qubes dom0. It takes the CommonJS bundle `npm run build` makes for the
// per-call path (SEA runs one CommonJS script), prepares the blob with V8's
// code cache, copies this node binary and injects the blob with postject.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = 'dist/sea';
const name = 'qrexec-policy-exec';
const bundle = join('dist/bin', `${name}.bundle.cjs`);
if (!existsSync(bundle)) execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// the bundle file is one function expression (scripts/build.mjs): SEA's main calls it
const main = join(out, `${name}.main.cjs`);
writeFileSync(main, readFileSync(bundle, 'utf8') + '(exports, require, module, __filename, __dirname);\n');
const config = join(out, 'sea-config.json');
writeFileSync(
  config,
  JSON.stringify({
    main,
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
