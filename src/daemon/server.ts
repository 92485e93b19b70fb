/**
 * The daemon's unix sockets (SPEC §8): the policy socket qrexec-daemon asks,
 * and the `policy.EvalSimple` / `policy.EvalGUI` socket services. One
 * connection, one question, one answer, then the connection is closed. A
 * request that is malformed, too long or too slow is closed without an
 * answer and logged; nothing a client does can hold up another client.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { describeIo } from '../errors.js';
import type { Logger } from '../log.js';
import { FD_HINT } from './sources.js';
import { Received, type Verdict } from './bytes.js';
import { Deadlines } from './deadlines.js';
import { answer, answerAgain, internalError, type Answer, type Services } from './decide.js';
import { evalAnswer, EVAL_GUI, EVAL_SIMPLE, type EvalService } from './eval-service.js';
import { scanServiceCall } from './eval-protocol.js';
import { scanRequest } from './protocol.js';

export interface Endpoints {
  /** The policy socket; `''` serves none. */
  socketPath: string;
  evalSocketPath: string;
  guiSocketPath: string;
  /** How long a client may take to send its whole request. */
  requestTimeoutMs: number;
}

export class DaemonStartError extends Error {}

/** File descriptors kept free for reading policy, logging and the policy agent. */
const FD_RESERVE = 64;

/** This process's soft limit on open files (/proc/self/limits), or null where unknown or unlimited. */
export function openFileLimit(limits = '/proc/self/limits'): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync(limits, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Connections served at once: what the descriptor limit leaves after those open now and a reserve. */
export function connectionLimit(limit: number | null, open: number): number | null {
  return limit === null ? null : Math.max(1, limit - open - FD_RESERVE);
}

function openDescriptors(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length;
    /* c8 ignore next 3 -- not Linux: the limit is unknown there too, and unused */
  } catch {
    return 0;
  }
}

/** Write the answer and close. Unix sockets hand the bytes to the peer at once, so closing loses nothing. */
function send(sock: net.Socket, text: string): void {
  if (sock.destroyed) return;
  sock.write(text, 'latin1');
  if (sock.writableLength === 0) sock.destroy();
  /* c8 ignore next 2 -- an answer is at most 4 KiB: the kernel takes it whole */
  else sock.end(() => sock.destroy());
}

const ignore = () => {};

/**
 * How long a stop lets accepted connections be answered before dropping
 * them: an answer takes about a millisecond, and the whole service must be
 * gone within STOP_GRACE_MS of SIGTERM.
 */
export const DRAIN_MS = 500;

export class DaemonServers {
  private readonly servers: net.Server[] = [];
  private readonly live = new Set<net.Socket>();
  private readonly deadlines: Deadlines;
  private acceptErrorAt = -Infinity;
  /** Connections closed at the limit and not yet reported; when the last report was written. */
  private dropped = 0;
  private droppedAt = -Infinity;
  private dropReport: NodeJS.Timeout | null = null;
  private maxConnections: number | null = null;
  private fdLimit: number | null = null;
  private closed = false;

  constructor(
    private readonly svc: Services,
    private readonly ep: Endpoints,
  ) {
    this.deadlines = new Deadlines(ep.requestTimeoutMs);
  }

  private get log(): Logger {
    return this.svc.log;
  }

  /**
   * Listen on every configured socket, bound under the name `bindAs` gives
   * (sockets.ts moves it into place); rejects with one line naming the
   * socket that failed. Connections beyond what the file-descriptor limit
   * allows are closed at once and reported, rather than left to fail
   * without a word (libuv closes them silently once accept() fails).
   */
  async listen(
    bindAs: (p: string) => string = (p) => p,
    fdLimit = openFileLimit(),
    maxConnections = connectionLimit(fdLimit, openDescriptors() + 3),
  ): Promise<void> {
    const plan: [string, (s: net.Socket) => void][] = [
      [this.ep.socketPath, (s) => this.onPolicyConnection(s)],
      [this.ep.evalSocketPath, (s) => this.onServiceConnection(s, EVAL_SIMPLE)],
      [this.ep.guiSocketPath, (s) => this.onServiceConnection(s, EVAL_GUI)],
    ];
    this.maxConnections = maxConnections;
    this.fdLimit = fdLimit;
    for (const [p, handler] of plan) {
      if (p === '') continue;
      const server = net.createServer({ allowHalfOpen: true }, handler);
      await new Promise<void>((resolve, reject) => {
        const failed = (e: NodeJS.ErrnoException) => reject(new DaemonStartError(`cannot listen on ${p}: ${listenProblem(p, e)}`));
        server.once('error', failed);
        server.listen(bindAs(p), () => {
          server.off('error', failed);
          resolve();
        });
      });
      server.on('error', (e: NodeJS.ErrnoException) => this.serverError(p, e));
      this.servers.push(server);
      // stopped meanwhile: no socket may outlive the stop
      if (this.closed) {
        server.close();
        throw new DaemonStartError('stopped before listening');
      }
    }
  }

  /** accept() failures (out of file descriptors, …): logged at most once a second, serving goes on. */
  private serverError(p: string, e: NodeJS.ErrnoException): void {
    const now = performance.now();
    if (now - this.acceptErrorAt < 1000) return;
    this.acceptErrorAt = now;
    const hint = e.code === 'EMFILE' || e.code === 'ENFILE' ? `; ${FD_HINT}` : '';
    this.log.log('error', `${p}: ${describeIo(e)}${hint}`);
  }

  /** A connection over the limit is closed at once: said at once, then at most once a second with the count since. */
  private overLimit(sock: net.Socket): void {
    sock.destroy();
    this.dropped++;
    const now = performance.now();
    if (now - this.droppedAt >= 1000) this.reportDrops();
    else this.dropReport ??= setTimeout(() => this.reportDrops(), this.droppedAt + 1000 - now).unref();
  }

  private reportDrops(): void {
    if (this.dropReport !== null) clearTimeout(this.dropReport);
    this.dropReport = null;
    this.droppedAt = performance.now();
    const n = this.dropped;
    this.dropped = 0;
    this.log.log(
      'error',
      `${n} connection${n === 1 ? '' : 's'} closed unanswered: ${this.live.size} open at once is all that the limit of ${this.fdLimit} file descriptors allows; ${FD_HINT}`,
    );
  }

  private refuse(what: string, reason: string): void {
    this.log.log('error', `${what}: ${reason}; closed without an answer`);
  }

  /** Take what `produce` answers to the client; a failure inside is a bug, logged, and the client gets no answer. */
  private respond(sock: net.Socket, produce: () => Answer): void {
    let out: Answer;
    try {
      out = produce();
    } catch (err) {
      internalError(this.log, err);
      sock.destroy();
      return;
    }
    if (out === null) sock.destroy();
    else if (typeof out === 'string') send(sock, out);
    else
      out.then(
        (text) => (text === null ? sock.destroy() : send(sock, text)),
        (err: unknown) => {
          internalError(this.log, err);
          sock.destroy();
        },
      );
  }

  /**
   * Read a connection until `scan` has a verdict: `done` goes to `onDone`,
   * `bad` closes it, and so does taking longer than the limit. `quick` sees
   * the first bytes read and may answer them itself (true: done); a request
   * those bytes alone make reaches `onDone` with them.
   */
  private collect<T>(
    sock: net.Socket,
    what: string,
    scan: (got: Received, eof: boolean, from: number) => Verdict<T>,
    onDone: (value: T, raw: string | undefined) => void,
    quick?: (sock: net.Socket, raw: string) => boolean,
  ): void {
    if (this.maxConnections !== null && this.live.size >= this.maxConnections) {
      this.overLimit(sock);
      return;
    }
    const got = new Received();
    let settled = false;
    const look = (eof: boolean, from: number, raw?: string) => {
      const v = scan(got, eof, from);
      if (v.kind === 'more') return;
      settled = true;
      // the answer first: the caller is waiting (the deadline goes right after)
      if (v.kind === 'done') onDone(v.value, raw);
      else {
        this.refuse(what, v.reason);
        sock.destroy();
      }
      this.deadlines.delete(sock);
    };
    this.live.add(sock);
    sock.on('data', (chunk: Buffer) => {
      if (settled) return;
      const from = got.length;
      let raw: string | undefined;
      if (from === 0 && quick !== undefined) {
        raw = chunk.toString('latin1');
        if (quick(sock, raw)) {
          settled = true;
          this.deadlines.delete(sock);
          return;
        }
      }
      got.push(chunk);
      look(false, from, raw);
    });
    sock.on('end', () => {
      if (!settled) look(true, got.length);
    });
    sock.on('error', ignore);
    sock.on('close', () => {
      this.deadlines.delete(sock);
      this.live.delete(sock);
    });
    this.deadlines.add(sock, () => {
      settled = true;
      this.refuse(what, `no complete request within ${this.ep.requestTimeoutMs} ms`);
      sock.destroy();
    });
  }

  private onPolicyConnection(sock: net.Socket): void {
    this.collect(
      sock,
      'policy request',
      (got, eof, from) => scanRequest(got, eof, undefined, from),
      (r, raw) =>
        this.respond(sock, () =>
          answer(
            this.svc,
            {
              source: r.source,
              target: r.intendedTarget,
              serviceAndArg: r.serviceAndArg,
              requestedSource: r.requestedSource,
              assumeYesForAsk: r.assumeYesForAsk,
              justEvaluate: r.justEvaluate,
            },
            raw,
          ),
        ),
      (s, raw) => this.answerAgain(s, raw),
    );
  }

  /** A request sent before, word for word: answered at once, then logged and notified (decide.ts answerAgain). */
  private answerAgain(sock: net.Socket, raw: string): boolean {
    try {
      const again = answerAgain(this.svc, raw);
      if (again === null) return false;
      send(sock, again.text);
      again.after();
      /* c8 ignore start -- a bug surfaced: one line, and the client gets no answer */
    } catch (err) {
      internalError(this.log, err);
      sock.destroy();
    }
    /* c8 ignore stop */
    return true;
  }

  private onServiceConnection(sock: net.Socket, service: EvalService): void {
    this.collect(
      sock,
      service.name,
      (got, eof) => scanServiceCall(got, eof),
      (call) => this.respond(sock, () => evalAnswer(this.svc, service, call)),
    );
  }

  /**
   * Stop listening; give the connections already accepted `drainMs` to be
   * answered (a worker stopped on its own must not drop the calls it has
   * taken while the others serve), then drop what is left (a client still
   * waiting for the user's answer gets none).
   */
  async close(drainMs = DRAIN_MS): Promise<void> {
    this.closed = true;
    if (this.dropReport !== null) clearTimeout(this.dropReport);
    const closed = this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await this.drained(drainMs);
    this.deadlines.stop();
    for (const sock of this.live) sock.destroy();
    await Promise.all(closed);
    this.servers.length = 0;
  }

  /** Resolves when no connection is open, or after `ms`. */
  private drained(ms: number): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      const check = () => {
        if (this.live.size > 0) return;
        clearTimeout(timer);
        resolve();
      };
      // 'close' listeners run after the one that removes the socket from `live`
      for (const sock of this.live) sock.once('close', check);
    });
  }
}

/**
 * Why a socket cannot be bound, in words: binding in a directory that does
 * not exist fails with EACCES, which would send the reader after
 * permissions.
 */
function listenProblem(p: string, e: NodeJS.ErrnoException): string {
  const dir = path.dirname(p);
  if (!fs.existsSync(dir)) return `the directory ${dir} does not exist`;
  return describeIo(e);
}
