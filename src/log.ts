/**
 * Logging. Two implementations of one small interface:
 * - a direct line writer (stderr, a file, syslog) for the per-call hot path;
 *   SPEC §6 allows it, and loading winston there would cost more than the
 *   rest of the call;
 * - winston, loaded lazily, for the umbrella CLI and the daemon.
 * stdout never carries log lines: it is the protocol channel.
 */
import { appendFileSync, statSync } from 'node:fs';
import { writeFdSync } from './io/fd-write.js';
import type TransportStream from 'winston-transport';

export type Level = 'error' | 'warn' | 'info' | 'debug';
export const LEVELS: readonly Level[] = ['error', 'warn', 'info', 'debug'];

/** Level numbers, most severe first (winston's `levels` table too). */
const LEVEL_RANK: Readonly<Record<Level, number>> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  readonly level: Level;
  enabled(level: Level): boolean;
  log(level: Level, message: string): void;
}

export function isLevel(s: string): s is Level {
  return (LEVELS as readonly string[]).includes(s);
}

/** `warning: …` / `error: …`; info lines (the decision lines) carry no prefix. */
export function formatLine(level: Level, message: string): string {
  const prefix = level === 'info' ? '' : level === 'warn' ? 'warning: ' : `${level}: `;
  // a test first: most messages have no line break, and a replace builds a new string regardless
  return prefix + (LINE_BREAK.test(message) ? message.replace(LINE_BREAKS, ' ') : message);
}

const LINE_BREAK = /[\r\n]/;
const LINE_BREAKS = /[\r\n]+/g;

/** Where formatted lines go. */
export type Sink = (level: Level, line: string) => void;

export const stderrSink: Sink = (_level, line) => {
  process.stderr.write(line + '\n');
};

/**
 * Lines written straight to a descriptor, without Node's stream
 * (io/fd-write.ts). One that cannot be written (closed, a full disk) loses
 * the line and nothing else.
 */
export function fdSink(fd: number, stream: () => NodeJS.WritableStream): Sink {
  return (_level, line) => {
    try {
      writeFdSync(fd, line + '\n', stream);
    } catch {
      // nowhere left to say it
    }
  };
}

/** stderr for a per-call process: building `process.stderr` would cost it 3–7 ms. */
export const stderrFdSink: Sink = fdSink(2, () => process.stderr);

/** Append to a log file; a file that cannot be written falls back to stderr once per line. */
export function fileSink(file: string): Sink {
  return (level, line) => {
    try {
      appendFileSync(file, `${new Date().toISOString()} ${line}\n`);
    } catch {
      stderrSink(level, line);
    }
  };
}

const SYSLOG_PRIORITY: Record<Level, string> = { error: 'err', warn: 'warning', info: 'info', debug: 'debug' };

/**
 * syslog through util-linux `logger`, which writes to /dev/log for us (Node
 * cannot send unix datagrams without a native module). `socket`: other than /dev/log.
 */
export function syslogSink(tag: string, loggerBinary = 'logger', socket?: string): Sink {
  return (level, line) => {
    // child_process is loaded on the first line (the per-call path starts without it), and
    // not by import(): the per-call bundle runs in a vm.Script, where import() of a built-in fails
    const cp = process.getBuiltinModule('node:child_process');
    try {
      const child = cp.spawn(loggerBinary, [...(socket === undefined ? [] : ['-u', socket]), '-t', tag, '-p', `daemon.${SYSLOG_PRIORITY[level]}`, '--', line], {
        stdio: 'ignore',
        detached: true,
      });
      child.on('error', () => stderrSink(level, line));
      child.unref();
    } catch {
      stderrSink(level, line);
    }
  };
}

/** Is syslog there to log to (a socket at `socket`)? */
export function syslogListening(socket: string): boolean {
  try {
    return statSync(socket).isSocket();
  } catch {
    return false;
  }
}

/** A logger that formats one line per message and hands it to every sink. */
export function lineLogger(level: Level = 'info', sinks: readonly Sink[] = [stderrSink]): Logger {
  return {
    level,
    enabled: (l) => LEVEL_RANK[l] <= LEVEL_RANK[level],
    log(l, message) {
      if (LEVEL_RANK[l] > LEVEL_RANK[level]) return;
      const line = formatLine(l, message);
      for (const s of sinks) s(l, line);
    },
  };
}

/** A stderr line logger (tests pass `write` to capture). */
export function stderrLogger(level: Level = 'info', write?: (s: string) => void): Logger {
  return lineLogger(level, [write ? (_l, line) => write(line + '\n') : stderrSink]);
}

type Winston = typeof import('winston');

/** winston, imported only by the commands that log through it (never the per-call path). */
export async function loadWinston(): Promise<Winston> {
  return (await import('winston')).default;
}

/** A Logger over winston with the same line format as lineLogger, writing to `transports`. */
export function winstonLines(winston: Winston, level: Level, transports: TransportStream[]): Logger {
  const logger = winston.createLogger({
    level,
    levels: { ...LEVEL_RANK },
    format: winston.format.printf((info) => formatLine(info.level as Level, String(info.message))),
    transports,
  });
  return {
    level,
    enabled: (l) => LEVEL_RANK[l] <= LEVEL_RANK[level],
    log(l, message) {
      if (LEVEL_RANK[l] <= LEVEL_RANK[level]) logger.log(l, message);
    },
  };
}

/** A winston logger to stderr or a file. */
export async function winstonLogger(level: Level = 'info', opts: { file?: string } = {}): Promise<Logger> {
  const winston = await loadWinston();
  return winstonLines(
    winston,
    level,
    opts.file
      ? [new winston.transports.File({ filename: opts.file })]
      : [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  );
}
