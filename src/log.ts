/**
 * Logging. Two implementations of one small interface:
 * - a direct stderr writer, for the per-call hot path (SPEC §6 allows it:
 *   loading winston there would cost more than the rest of the call);
 * - winston, loaded lazily, for the umbrella CLI and the daemon.
 * stdout never carries log lines: it is the protocol channel.
 */
export type Level = 'error' | 'warn' | 'info' | 'debug';
export const LEVELS: readonly Level[] = ['error', 'warn', 'info', 'debug'];

const RANK: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  readonly level: Level;
  enabled(level: Level): boolean;
  log(level: Level, message: string): void;
}

export function isLevel(s: string): s is Level {
  return (LEVELS as readonly string[]).includes(s);
}

/** Prefix used on stderr for levels other than info (info lines are the decision lines). */
function prefix(level: Level): string {
  return level === 'info' ? '' : level === 'warn' ? 'warning: ' : `${level}: `;
}

/** One line per message, straight to stderr (fd 2, synchronously, so nothing is lost on exit). */
export function stderrLogger(level: Level = 'info', write: (s: string) => void = (s) => process.stderr.write(s)): Logger {
  return {
    level,
    enabled: (l) => RANK[l] <= RANK[level],
    log(l, message) {
      if (RANK[l] <= RANK[level]) write(prefix(l) + message.replace(/\n/g, ' ') + '\n');
    },
  };
}

/** A winston logger with the same line format; loaded only when called. */
export async function winstonLogger(level: Level = 'info', opts: { file?: string } = {}): Promise<Logger> {
  const winston = (await import('winston')).default;
  const format = winston.format.printf((info) => prefix(info.level as Level) + String(info.message).replace(/\n/g, ' '));
  const logger = winston.createLogger({
    level,
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format,
    transports: opts.file
      ? [new winston.transports.File({ filename: opts.file })]
      : [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
  return {
    level,
    enabled: (l) => RANK[l] <= RANK[level],
    log(l, message) {
      logger.log(l, message);
    },
  };
}
