/**
 * Where the package puts things in dom0, and which of Qubes' names
 * `install-dom0 --enable` takes over. contrib/rpm/qrexec-policy.spec installs
 * the same layout; contrib/rpm/qubes-owned-paths.txt lists what Qubes'
 * packages own, which the package itself never ships.
 */

/** The package's own tree: bundles in dist/bin, one link per command (under Qubes' name) in bin/. */
export const LIB_DIR = '/usr/lib/qrexec-policy';
export const COMMAND_DIR = `${LIB_DIR}/bin`;

/** Our names in /usr/bin: the Qubes name with this prefix, so that no file of Qubes' is replaced by the package. */
export const OWN_PREFIX = 'ts-';

/**
 * Every command of package.json's `bin`: each is also a file Qubes'
 * qubes-core-qrexec installs in /usr/bin (a test checks both lists).
 */
export const COMMANDS: readonly string[] = [
  'qrexec-policy',
  'qrexec-policy-exec',
  'qrexec-policy-daemon',
  'qubes-policy-lint',
  'qrexec-policy-graph',
  'qrexec-legacy-convert',
  'qubes-policy-admin',
  'qubes-policy',
  'qubes-policy-editor',
  'qrexec-policy-restore',
];

/** Our policy daemon's unit and Qubes' (they serve the same socket, so one runs at a time). */
export const OUR_UNIT = 'qrexec-policy-daemon.service';
export const QUBES_UNIT = 'qubes-qrexec-policy-daemon.service';

/** What --enable replaced, kept for --disable (relative to the root). */
export const STATE_DIR = '/var/lib/qrexec-policy/dom0';
