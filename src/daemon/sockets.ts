/**
 * Who owns a socket path. A daemon binds its sockets under temporary names
 * (`.PID~NAME` next to the final path), makes them group-writable, and
 * renames them into place: the path never lacks a socket while a stale one
 * is replaced, and the process never holds the final name itself, because
 * libuv unlinks a unix socket's bound name when the server closes, whoever
 * owns that name by then. On stop, a path is removed only if it still holds
 * the socket this daemon put there (the same inode).
 *
 * Before taking a path over, it is tried: a socket that accepts a connection
 * belongs to a daemon that is serving, and this one refuses to start.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { DaemonStartError } from './server.js';
import { describeIo } from '../errors.js';

/** The longest path a unix socket address holds (sun_path, with its NUL). */
const MAX_SOCKET_PATH = 107;
/** A live daemon accepts at once; a socket nobody answers on within this long is taken as live too. */
const PROBE_TIMEOUT_MS = 1000;

/** The temporary name `owner` (a process id) binds for the socket path `p`. */
export function bindPath(p: string, owner: number): string {
  const full = path.join(path.dirname(p), `.${owner.toString(36)}~${path.basename(p)}`);
  return Buffer.from(full).subarray(0, MAX_SOCKET_PATH).toString();
}

/** What connecting to a socket path says: a server accepts, nobody does (or nothing is there any more), or something else (named). */
export type Probe = 'live' | 'free' | { unknown: string };

/** Try to connect: does a server accept on `p`? */
export function probeSocket(p: string): Promise<Probe> {
  return new Promise((resolve) => {
    const c = net.createConnection(p);
    const done = (r: Probe) => {
      clearTimeout(timer);
      c.destroy();
      resolve(r);
    };
    /* c8 ignore next -- a unix connect() succeeds or fails at once; this only guards against the unforeseen */
    const timer = setTimeout(() => done({ unknown: `no answer within ${PROBE_TIMEOUT_MS} ms` }), PROBE_TIMEOUT_MS);
    c.on('connect', () => done('live'));
    c.on('error', (e: NodeJS.ErrnoException) => {
      done(e.code === 'ECONNREFUSED' || e.code === 'ENOENT' ? 'free' : { unknown: String(e.code) });
    });
  });
}

function lstat(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/** A live socket is another daemon's: refuse to start; one we cannot judge (EACCES, a full backlog: EAGAIN), too. */
export function refuseUnlessFree(p: string, probe: Probe): void {
  if (probe === 'live') throw new DaemonStartError(`another daemon is serving on ${p}; not starting`);
  if (probe !== 'free') throw new DaemonStartError(`cannot tell whether another daemon serves on ${p} (${probe.unknown}); not starting`);
}

function identity(st: fs.Stats): string {
  return `${st.dev}:${st.ino}`;
}

export class SocketPaths {
  /** The socket (device and inode) this daemon put at each path. */
  private readonly ours = new Map<string, string>();

  constructor(
    readonly paths: readonly string[],
    readonly owner: number = process.pid,
  ) {}

  bindPath(p: string): string {
    return bindPath(p, this.owner);
  }

  /**
   * Before listening: refuse a path where a daemon serves, or where
   * something other than a socket is; clear temporary names a process with
   * our id left (it is gone: the id is ours now).
   */
  async prepare(): Promise<void> {
    for (const p of this.paths) {
      const st = lstat(p);
      if (st !== null && !st.isSocket()) throw new DaemonStartError(`cannot listen on ${p}: something other than a socket is there`);
      if (st !== null) refuseUnlessFree(p, await probeSocket(p));
      const tmp = this.bindPath(p);
      if (lstat(tmp)?.isSocket()) fs.rmSync(tmp);
    }
  }

  /**
   * Move the sockets bound under temporary names into place, group-writable
   * (qrexec-daemon runs in group qubes). A temporary name already gone was
   * moved before (a restarted worker shares the socket its primary holds).
   */
  claim(): void {
    for (const p of this.paths) {
      const tmp = this.bindPath(p);
      if (lstat(tmp) === null) continue;
      try {
        fs.chmodSync(tmp, 0o660);
        fs.renameSync(tmp, p);
        this.ours.set(p, identity(fs.lstatSync(p)));
      } catch (err) {
        throw new DaemonStartError(`cannot put the socket in place at ${p}: ${describeIo(err)}`);
      }
    }
  }

  /** Remove each path that still holds the socket this daemon put there; another's is left alone. */
  release(): void {
    for (const [p, id] of this.ours) {
      const st = lstat(p);
      if (st !== null && identity(st) === id) fs.rmSync(p, { force: true });
    }
    this.ours.clear();
  }
}
