#!/usr/bin/env node
// The dom0 package may not own a path Qubes' packages own
// (contrib/rpm/qubes-owned-paths.txt), and must ship what the README says
// it ships. Usage: node scripts/check-rpm-files.mjs [RPM] (default: the one
// `npm run rpm` built). Then the package's commands are unpacked and run,
// without node_modules, to show the bundles stand alone.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The owned-paths list: exact paths, `*` within a name, and DIR/** for a whole tree. */
export function readOwned(text) {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((pattern) => {
      const re = pattern
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/\/\*\*$/, '\0')
        .replace(/\*/g, '[^/]*')
        .replace('\0', '(/.*)?');
      return { pattern, re: new RegExp(`^${re}$`) };
    });
}

/** The paths of `files` that Qubes owns, each with the list line that claims it. */
export function clashes(files, owned) {
  return files.flatMap((f) => owned.filter((o) => o.re.test(f)).map((o) => `${f} (${o.pattern})`));
}

/** Paths the package must ship (README, "Installing in dom0"). */
export const REQUIRED = [
  '/usr/lib/qrexec-policy/bin/qrexec-policy-exec',
  '/usr/lib/qrexec-policy/bin/qrexec-policy',
  '/usr/lib/qrexec-policy/package.json',
  '/usr/bin/ts-qrexec-policy',
  '/usr/bin/ts-qrexec-policy-exec',
  '/usr/lib/systemd/system/qrexec-policy-daemon.service',
  '/etc/qubes-rpc/policy.Eval',
  '/usr/share/man/man1/qrexec-policy.1',
  '/usr/share/man/man8/qubes-policy-admin.8',
  '/usr/share/bash-completion/completions/qrexec-policy',
  '/usr/share/zsh/site-functions/_qrexec-policy',
];

/** Every file under `dir`/usr/bin: name, mode, owner, mtime and content hash (or link target). */
function usrBin(dir) {
  const bin = path.join(dir, 'usr/bin');
  return fs
    .readdirSync(bin)
    .sort()
    .map((n) => {
      const p = path.join(bin, n);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) return `${n} -> ${fs.readlinkSync(p)}`;
      return `${n} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.mtimeMs} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;
    });
}

/**
 * The unpacked package as a dom0 with Qubes' commands in /usr/bin (random
 * bytes): its own install-dom0 --enable takes every name over, --disable
 * gives every file back byte for byte (a fake systemctl on PATH).
 */
function switchOverAndBack(dir) {
  const problems = [];
  const cli = path.join(dir, 'usr/lib/qrexec-policy/bin/qrexec-policy');
  const names = fs.readdirSync(path.join(dir, 'usr/lib/qrexec-policy/bin'));
  for (const [i, n] of names.entries()) {
    fs.writeFileSync(path.join(dir, 'usr/bin', n), randomBytes(200 + i));
    fs.chmodSync(path.join(dir, 'usr/bin', n), 0o755);
  }
  const before = usrBin(dir);
  const fakeBin = path.join(dir, 'fake-bin');
  fs.mkdirSync(fakeBin);
  fs.writeFileSync(path.join(fakeBin, 'systemctl'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const env = { PATH: `${fakeBin}:${process.env.PATH}` };
  execFileSync(process.execPath, [cli, 'install-dom0', '--enable', '--root', dir], { env, encoding: 'utf8' });
  for (const n of names) {
    const target = fs.readlinkSync(path.join(dir, 'usr/bin', n));
    if (target !== `/usr/lib/qrexec-policy/bin/${n}`) problems.push(`install-dom0 --enable: /usr/bin/${n} -> ${target}`);
  }
  execFileSync(process.execPath, [cli, 'install-dom0', '--disable', '--root', dir], { env, encoding: 'utf8' });
  const after = usrBin(dir);
  if (JSON.stringify(after) !== JSON.stringify(before)) problems.push(`install-dom0 --disable did not restore /usr/bin byte for byte:\n  ${after.filter((l) => !before.includes(l)).join('\n  ')}`);
  else console.log(`check-rpm-files: install-dom0 --enable then --disable in the unpacked package: ${names.length} Qubes commands back byte for byte`);
  return problems;
}

function main() {
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  const rpm = process.argv[2] ?? path.join(root, `build/rpm/RPMS/noarch/qrexec-policy-${version}-1.noarch.rpm`);
  const files = execFileSync('rpm', ['-qlp', rpm], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const owned = readOwned(fs.readFileSync(path.join(root, 'contrib/rpm/qubes-owned-paths.txt'), 'utf8'));
  const problems = clashes(files, owned).map((c) => `owned by Qubes: ${c}`);
  // man pages may be compressed (Fedora's brp-compress)
  for (const r of REQUIRED) if (!files.includes(r) && !files.includes(r + '.gz')) problems.push(`missing: ${r}`);
  for (const f of files) if (!files.some((g) => g !== f && f.startsWith(g + '/')) && !/^\/(usr|etc|var)\//.test(f)) problems.push(`outside /usr, /etc, /var: ${f}`);
  // unpack it and run every command from the package's own tree
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qrexec-policy-rpm-'));
  try {
    execFileSync('sh', ['-c', 'rpm2archive - < "$1" | tar -xzf - -C "$2"', 'sh', rpm, tmp]);
    for (const cmd of fs.readdirSync(path.join(tmp, 'usr/lib/qrexec-policy/bin'))) {
      const out = execFileSync(process.execPath, [path.join(tmp, 'usr/lib/qrexec-policy/bin', cmd), '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      if (!out.includes(cmd)) problems.push(`${cmd} --help from the unpacked package does not name the command`);
    }
    problems.push(...switchOverAndBack(tmp));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`${path.relative(process.cwd(), rpm)}: ${files.length} paths, ${owned.length} Qubes-owned patterns checked`);
  if (problems.length > 0) {
    for (const p of problems) console.error(`check-rpm-files: ${p}`);
    process.exit(1);
  }
  console.log('check-rpm-files: no path owned by Qubes; every required path present; every command runs from the package');
}

if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main();
