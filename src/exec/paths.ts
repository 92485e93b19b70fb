/**
 * Where Qubes keeps the things a call is handed to (SPEC §7 defaults). A
 * module of its own so the per-call path can name them without loading the
 * socket and process code it may not need.
 */
export const QUBESD_SOCKET = '/var/run/qubesd.sock';
export const QUBESD_INTERNAL_SOCKET = '/var/run/qubesd.internal.sock';
export const DEFAULT_RPC_DIR = '/etc/qubes-rpc';
export const DEFAULT_QREXEC_CLIENT = '/usr/lib/qubes/qrexec-client';
/** Where syslog listens (journald in dom0): decision lines go there when it exists, as Qubes' do. */
export const DEFAULT_SYSLOG_SOCKET = '/dev/log';

/** How long a notification may take before it is given up (it never delays a decision). */
export const NOTIFY_TIMEOUT_MS = 5000;

/** The environment variables that name each external path (SPEC §7). */
export type PathVariable = 'QREXEC_CLIENT' | 'QUBESD_SOCKET' | 'QUBESD_INTERNAL_SOCKET' | 'QREXEC_RPC_DIR' | 'QREXEC_POLICY_SYSLOG_SOCKET';

/** An external path: the option, else the environment variable when set and not empty, else the default. */
export function configuredPath(option: string | undefined, env: NodeJS.ProcessEnv, variable: PathVariable, dflt: string): string {
  return option ?? (env[variable] || dflt);
}
