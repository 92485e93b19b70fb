/**
 * The Qubes result block (SPEC §3.3) qrexec-daemon parses: the allow lines
 * of policy/block-lines.ts, or the deny line.
 */
import type { AllowDecision, Decision } from '../policy/decision.js';
import { allowLines } from '../policy/block-lines.js';

const DENY = 'result=deny';

/** The block for an allow (without the trailing newline). */
export function allowBlock(d: AllowDecision): string {
  return allowLines(d).join('\n');
}

/**
 * The block for any decision. An `ask` here is one nobody answered (no agent,
 * or --just-evaluate): it is a deny.
 */
export function resultBlock(d: Decision): string {
  return d.result === 'allow' ? allowBlock(d) : DENY;
}
