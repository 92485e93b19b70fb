#!/usr/bin/env node
// `npm run rpm`: the dom0 package from the project's own `npm pack` tarball.
// Builds in build/rpm (rpmbuild's _topdir) and prints the RPM's path; needs
// rpmbuild (Fedora's rpm-build, Debian's rpm). The file list is checked by
// scripts/check-rpm-files.mjs.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const top = path.join(root, 'build/rpm');
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;

try {
  execFileSync('rpmbuild', ['--version'], { stdio: 'ignore' });
} catch {
  console.error('npm run rpm: rpmbuild not found (install rpm-build on Fedora, rpm on Debian)');
  process.exit(1);
}
fs.rmSync(top, { recursive: true, force: true });
for (const d of ['SOURCES', 'SPECS', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT']) fs.mkdirSync(path.join(top, d), { recursive: true });
// prepack builds, then writes the man pages and completion scripts into dist/
execFileSync('npm', ['pack', '--silent', '--pack-destination', path.join(top, 'SOURCES')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
execFileSync(
  'rpmbuild',
  ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', `pkg_version ${version}`, path.join(root, 'contrib/rpm/qrexec-policy.spec')],
  { stdio: 'inherit' },
);
const rpm = path.join(top, 'RPMS/noarch', `qrexec-policy-${version}-1.noarch.rpm`);
if (!fs.existsSync(rpm)) {
  console.error(`npm run rpm: rpmbuild did not write ${rpm}`);
  process.exit(1);
}
console.log(path.relative(process.cwd(), rpm));
