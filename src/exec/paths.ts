/**
 * Where Qubes keeps the things a call is handed to (SPEC §7 defaults). A
 * module of its own so the per-call path can name them without loading the
 * socket and process code it may not need.
 */
export const QUBESD_SOCKET = '/var/run/qubesd.sock';
export const QUBESD_INTERNAL_SOCKET = '/var/run/qubesd.internal.sock';
export const DEFAULT_RPC_DIR = '/etc/qubes-rpc';
export const DEFAULT_QREXEC_CLIENT = '/usr/lib/qubes/qrexec-client';
