/**
 * Where one call's time went, for `--log-level debug`: one line per call
 * with the time of each stage (load the policy, get the system info,
 * evaluate, ask the user, log the decision and notify, start the target,
 * hand off to qrexec-client) and `other` (writing the answer), which
 * add up to `total`, the call's wall time from its start (for
 * qrexec-policy-exec: from its arguments read and its logger made).
 *
 * Stages are marked as they end: a mark gives the time since the previous
 * mark to its stage. Only made when debug is logged: the daemon answers
 * thousands of calls a second and should not pay for it otherwise.
 */
export const STAGES = ['system-info', 'load-policy', 'evaluate', 'ask', 'notify', 'start-target', 'qrexec-client'] as const;
export type Stage = (typeof STAGES)[number];

/** Milliseconds on the monotonic clock. */
function hrtimeMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

export class CallTiming {
  private readonly start: number;
  private last: number;
  private readonly spent = new Map<Stage, number>();

  // not performance.now(): the first use of `performance` loads perf_hooks, ~2.5 ms of a per-call process
  constructor(private readonly now: () => number = hrtimeMs) {
    this.start = now();
    this.last = this.start;
  }

  /** `stage` ended now: it took the time since the previous mark. */
  mark(stage: Stage): void {
    const t = this.now();
    this.spent.set(stage, (this.spent.get(stage) ?? 0) + (t - this.last));
    this.last = t;
  }

  /** `timing: WHAT: system-info 0.21 ms, …, other 0.05 ms, total 3.40 ms` (WHAT: the call, as decision lines name it). */
  line(what: string): string {
    const total = this.now() - this.start;
    let named = 0;
    const parts = STAGES.map((s) => {
      const ms = this.spent.get(s) ?? 0;
      named += ms;
      return `${s} ${ms.toFixed(2)} ms`;
    });
    return `timing: ${what}: ${parts.join(', ')}, other ${(total - named).toFixed(2)} ms, total ${total.toFixed(2)} ms`;
  }
}
