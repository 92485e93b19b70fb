/**
 * The outcome of evaluating one request. Every front end (exec block, eval
 * JSON, explain, daemon) renders this one value, so they cannot disagree.
 */
import type { Rule } from '../parser/rule.js';
import { byteCompare, SURROGATE } from '../parser/text.js';
import type { Qube } from './system-info.js';

/** How an allowed call reaches its target (what the result block names). */
export type Destination =
  | { kind: 'dom0' }
  | { kind: 'qube'; qube: Qube }
  | { kind: 'dispvm'; template: Qube }
  | { kind: 'remote'; remote: Qube; relay: Qube; transportRpc: string };

export type DenyKind =
  /** The request itself is malformed (bad target token, bad service name, ...). */
  | 'bad-request'
  /** The policy could not be loaded; everything is denied. */
  | 'load-error'
  | 'no-rule'
  | 'rule'
  | 'no-target'
  | 'autostart'
  | 'loopback'
  | 'unknown-source'
  | 'unusable-target'
  | 'not-in-ask-targets'
  /** An allow whose result block qrexec-daemon could not read (non-ASCII, too long). */
  | 'unsendable'
  | 'fault';

interface Common {
  /** As parsed from the request (`null` when even that failed). */
  service: string | null;
  argument: string | null;
  source: string;
  /** Normalised request target; `null` when the request was invalid. */
  requestedTarget: string | null;
  /** The deciding rule, if one decided. */
  rule: Rule | null;
  /** Non-fatal remarks (unknown target treated as @default, dropped default_target, ...). */
  warnings: string[];
  /** The RemoteVM the call was evaluated for (SPEC §3.4). */
  requestedSource: string | null;
}

export interface AllowDecision extends Common {
  result: 'allow';
  /** Final target as the JSON output shows it (`@dispvm:X`, a name, a `uuid:` form, `dom0`). */
  target: string;
  destination: Destination;
  user: string | null;
  autostart: boolean;
  notify: boolean;
}

export interface AskDecision extends Common {
  result: 'ask';
  /** Offered targets, sorted by code point. */
  targets: string[];
  defaultTarget: string | null;
  user: string | null;
  autostart: boolean;
  notify: boolean;
}

export interface DenyDecision extends Common {
  result: 'deny';
  kind: DenyKind;
  reason: string;
  notify: boolean;
}

export type Decision = AllowDecision | AskDecision | DenyDecision;

/**
 * Whether the user is told of this decision (policy.Notify): a final allow
 * or deny whose rule says `notify=yes`, but never a policy that does not
 * load (an administrator's problem, not news for the user).
 */
export function notificationDue(d: Decision): boolean {
  return d.notify && d.result !== 'ask' && !(d.result === 'deny' && d.kind === 'load-error');
}

/** Code point order (SPEC: ask targets are "sorted by code point"). */
export function codePointSort(values: Iterable<string>): string[] {
  const list = [...values];
  // UTF-16 order (the default sort) is code point order unless a string holds a surrogate pair
  if (!SURROGATE.test(list.join(''))) return list.sort();
  return list.sort(byteCompare);
}
