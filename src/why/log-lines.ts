/**
 * Decision lines in a log, in both front ends' wording and Qubes' own
 * (`qrexec: SVC+ARG: SOURCE -> TARGET: allowed to X`, `… denied: REASON`,
 * `… error getting system info: …` / `… error loading policy: …`), wherever
 * they sit in a line: a syslog or journal prefix before them is skipped,
 * and the `qrexec:` tag may be gone (the journal takes it for the syslog
 * identifier of Qubes' lines, so `journalctl -o cat` shows the rest only).
 */

export interface Logged {
  service: string;
  source: string;
  /** As logged: `@default` (ours) or empty (Qubes') for no target. */
  target: string;
  outcome: 'allowed' | 'denied';
  /** `allowed to X`: X; `denied: R`: R. */
  detail: string;
}

const LINE = /(?:^|\s)(?:qrexec: )?([^\s:]+): (\S+) -> (\S*): (?:allowed to (\S+)|denied: (.*)|(error (?:getting system info|loading policy): .*))$/;

export function parseLogLine(line: string): Logged | null {
  const m = LINE.exec(line.trimEnd());
  if (m === null) return null;
  const [, service, source, target, allowedTo, deniedWhy, error] = m;
  if (allowedTo !== undefined) return { service: service!, source: source!, target: target!, outcome: 'allowed', detail: allowedTo };
  return { service: service!, source: source!, target: target!, outcome: 'denied', detail: (deniedWhy ?? error)! };
}

/** One request, with every line that logged it. */
export interface Seen {
  service: string;
  source: string;
  target: string;
  count: number;
  /** How often each logged outcome was seen (`allowed to X`, `denied: R`). */
  outcomes: Map<string, number>;
}

export const outcomeText = (l: Logged) => (l.outcome === 'allowed' ? `allowed to ${l.detail}` : `denied: ${l.detail}`);

/** Requests in the order first seen; `@default` and no target are one request. */
export class Requests {
  readonly seen = new Map<string, Seen>();
  lines = 0;

  add(line: string): void {
    const l = parseLogLine(line);
    if (l === null) return;
    this.lines++;
    const target = l.target === '' ? '@default' : l.target;
    const key = `${l.source}\0${target}\0${l.service}`;
    let s = this.seen.get(key);
    if (s === undefined) {
      s = { service: l.service, source: l.source, target, count: 0, outcomes: new Map() };
      this.seen.set(key, s);
    }
    s.count++;
    const text = outcomeText(l);
    s.outcomes.set(text, (s.outcomes.get(text) ?? 0) + 1);
  }
}
