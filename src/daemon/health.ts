/**
 * The state of what the daemon answers from (the policy, a system-info
 * file): loaded, failing (every request denied), watched or not. Only
 * transitions are logged, once each, however many reloads (or worker
 * processes) see the same state.
 */
import type { Logger } from '../log.js';

export interface Transition {
  subject: 'policy' | 'system info';
  /** Why it cannot be used (every request is denied), or null when it loaded. */
  error: string | null;
  /** What was loaded, for the log line. */
  summary: string;
  /** Whether changes to it are watched (if not, it is read again for every request). */
  watching: boolean;
}

/** Where a cache reports its state after every load. */
export type NoteTransition = (t: Transition) => void;

export class TransitionLog {
  private readonly last = new Map<Transition['subject'], Transition>();

  constructor(private readonly log: Logger) {}

  readonly note: NoteTransition = (t) => {
    const prev = this.last.get(t.subject);
    if (prev !== undefined && prev.error === t.error && prev.watching === t.watching) return;
    this.last.set(t.subject, t);
    if (prev === undefined || prev.error !== t.error) {
      if (t.error !== null)
        this.log.log('error', `${t.subject} failed to load: ${t.error}; denying every request until it loads`);
      else if (prev === undefined) this.log.log('info', `${t.subject} loaded: ${t.summary}`);
      else this.log.log('info', `${t.subject} loaded again: ${t.summary}; answering requests from it`);
    }
    if (t.watching !== (prev?.watching ?? true)) {
      if (t.watching) this.log.log('info', `${t.subject}: watching for changes again`);
      else this.log.log('warn', `${t.subject}: cannot watch for changes; reading it again for every request`);
    }
  };
}
