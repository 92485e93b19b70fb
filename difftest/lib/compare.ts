/**
 * Our answer against the reference's, field by field, and the one table of
 * differences we make on purpose (SPEC: we fail closed where the reference
 * would allow or crash). Nothing outside that table may differ, and where an
 * entry applies we must deny on every channel: a declared difference can
 * never excuse an allow.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Req } from '../../test/property/gen/request.js';
import type { RefAnswer, RefDecision } from './oracle-client.js';
import type { OurAnswer } from './ours.js';
import type { Domains } from '../gen/system.js';

export interface Ctx {
  req: Req;
  domains: Domains;
  /** The reference could not load the policy (every request denied). */
  refLoadFailed: boolean;
}

/** One field that differs. `ourAllow`: our side allows there (the worst kind). */
export interface Difference {
  channel: 'decision' | 'exec' | 'exec_yes' | 'just_evaluate';
  field: string;
  expected: unknown;
  actual: unknown;
  ourAllow: boolean;
}

export type Channel = Difference['channel'];
export const ALL_CHANNELS: readonly Channel[] = ['decision', 'exec', 'exec_yes', 'just_evaluate'];

export interface Declared {
  id: string;
  /** Where SPEC (or README's "where we differ") says so. */
  spec: string;
  why: string;
  /**
   * The channels on which the request falls under this entry (we must deny
   * there), or null. Most entries are about the request and cover all.
   */
  applies(ctx: Ctx, ref: RefAnswer, ours: OurAnswer): readonly Channel[] | null;
  /** Decision fields still compared when the entry covers the decision. */
  compared: readonly string[];
}

const all = (yes: boolean): readonly Channel[] | null => (yes ? ALL_CHANNELS : null);

const SERVICE_NAME = /^[A-Za-z0-9._-]+$/;
const ARGUMENT = /^\+[A-Za-z0-9._+-]*$/;
const ZERO = 'uuid:00000000-0000-0000-0000-000000000000';
const isDom0Spelling = (t: string) => t === 'dom0' || t === '@adminvm' || t === ZERO;

/** The reference's view of names: every key of its system info (names and `uuid:` aliases). */
function qubeOf(domains: Domains, text: string): string | null {
  if (Object.hasOwn(domains, text)) return text;
  if (text.startsWith('uuid:')) {
    // later entries win, as in the reference's dict of aliases
    let hit: string | null = null;
    for (const [n, d] of Object.entries(domains)) if (d['uuid'] === text.slice(5)) hit = n;
    return hit;
  }
  return null;
}

/** The qube a final target or a source stands for, dom0 spellings included. */
function denotes(domains: Domains, text: string): string | null {
  if (isDom0Spelling(text)) return 'dom0';
  return qubeOf(domains, text);
}

/** Why a result block could not reach qrexec-daemon intact (SPEC §8), or null. */
export function unsendableBlock(block: string): string | null {
  const lines = block.split('\n');
  const keys = new Set<string>();
  for (const l of lines) {
    if (!/^[\x20-\x7e]*$/.test(l)) return 'not printable ASCII';
    const eq = l.indexOf('=');
    if (eq < 0) return 'a line without =';
    if (keys.has(l.slice(0, eq))) return 'a repeated key';
    keys.add(l.slice(0, eq));
  }
  return block.length + 1 > 4096 ? 'over 4096 bytes' : null;
}

/** The `target=` line of an allow block. */
function blockTarget(block: string | null): string | null {
  const m = block === null ? null : /^target=(.*)$/m.exec(block);
  return m ? m[1]! : null;
}

const requestFields = (q: Req) => [q.source, q.target, q.service, q.requestedSource ?? ''];

export const DECLARED: readonly Declared[] = [
  {
    id: 'invalid-service',
    spec: 'SPEC §3.3 "Request values"',
    why: 'a SERVICE[+ARG] with characters outside A-Z a-z 0-9 - . _ (and + in the argument), or an empty service, is denied; the reference evaluates it',
    applies: ({ req }) => {
      const plus = req.service.indexOf('+');
      const service = plus < 0 ? req.service : req.service.slice(0, plus);
      const argument = plus < 0 ? '+' : req.service.slice(plus);
      return all(!SERVICE_NAME.test(service) || !ARGUMENT.test(argument));
    },
    compared: ['requested_target'],
  },
  {
    id: 'request-length',
    spec: 'README "Limits"',
    why: 'a request value longer than 1,024 characters is a bad request',
    applies: ({ req }) => all(requestFields(req).some((v) => v.length > 1024)),
    compared: [],
  },
  {
    id: 'unknown-source',
    spec: 'SPEC §3.1 (last list item)',
    why: 'a source that names no known qube is denied; the reference evaluates it (and allows where a rule lets it)',
    applies: ({ req, domains }) => {
      const source = req.requestedSource || req.source;
      if (req.requestedSource && qubeOf(domains, req.source) === null) return ALL_CHANNELS;
      return all(source === '@adminvm' ? !Object.hasOwn(domains, 'dom0') : qubeOf(domains, source) === null);
    },
    compared: ['requested_target'],
  },
  {
    id: 'loopback',
    spec: 'SPEC §3.2 (allow, last step)',
    why: 'an allow whose final target is the caller itself is denied however either is spelled; the reference compares the spellings as text',
    applies: ({ req, domains }, ref) => {
      const self = denotes(domains, req.requestedSource || req.source);
      const toSelf = (target: string | null) => self !== null && target !== null && !target.startsWith('@dispvm') && denotes(domains, target) === self;
      if (ref.decision.result === 'allow' && toSelf(ref.decision.target)) return ALL_CHANNELS;
      // an ask answered yes for the caller itself (an ask with target= offers it): the requested target is run
      const answered = ref.exec_yes.block !== null && ref.exec_yes.block.includes('result=allow');
      return ref.decision.result === 'ask' && answered && toSelf(req.target) ? ['exec_yes'] : null;
    },
    compared: ['requested_target'],
  },
  {
    id: 'unsendable',
    spec: 'README "Fail closed" and SPEC §8 (the block is at most 4,096 bytes of key=value lines)',
    why: 'an allow whose result block qrexec-daemon could not read (not printable ASCII, over 4,096 bytes, a newline inside a value) is denied',
    applies: (_ctx, ref) => {
      const bad = (b: string | null) => b !== null && b !== 'result=deny' && unsendableBlock(b) !== null;
      if (bad(ref.exec.block)) return ALL_CHANNELS;
      return bad(ref.exec_yes.block) ? ['exec_yes'] : null;
    },
    compared: ['requested_target'],
  },
  {
    id: 'dispvm-not-template',
    spec: 'SPEC §3.2 ("@dispvm:X where X is missing or not template_for_dispvms → deny")',
    why: "@dispvm resolved to the caller's default_dispvm is denied when that qube is not a template for disposables; the reference would ask qubesd for a disposable of it",
    applies: ({ domains }, ref) => {
      const notTemplate = (t: string | null) => {
        if (t === null || !t.startsWith('@dispvm:')) return false;
        const name = qubeOf(domains, t.slice('@dispvm:'.length));
        return name !== null && domains[name]!['template_for_dispvms'] !== true;
      };
      if (ref.decision.result === 'allow' && notTemplate(ref.decision.target)) return ALL_CHANNELS;
      return notTemplate(blockTarget(ref.exec_yes.block)) ? ['exec_yes'] : null;
    },
    compared: ['requested_target'],
  },
  {
    id: 'just-evaluate-final-checks',
    spec: 'SPEC §3.2 (loopback, RemoteVM relay, uuids) and §3.3 (--just-evaluate answers the decision by exit code)',
    why: "the reference's --just-evaluate answers before the checks it makes while writing the result block, so it exits 0 for a call its own decision denies",
    applies: (_ctx, ref) => (ref.just_evaluate.exit === 0 && ref.just_evaluate.crash === null && ref.decision.result === 'deny' ? ['just_evaluate'] : null),
    compared: [],
  },
  {
    id: 'include-depth',
    spec: 'SPEC §3 (directives: "More than 32 nested includes")',
    why: 'includes nested deeper than 32 levels are a load error; the reference follows them until Python\'s recursion limit',
    applies: (_ctx, _ref, ours) => all('reason' in ours.decision && /includes nested deeper than 32 levels/.test(String(ours.decision.reason ?? ''))),
    compared: [],
  },
];

const DECISION_FIELDS = ['result', 'requested_target', 'target', 'targets', 'default_target', 'user', 'autostart', 'notify', 'rule'] as const;

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function sameRule(e: RefDecision['rule'], a: unknown): boolean {
  if (e === null) return a === null;
  if (a === null || typeof a !== 'object') return false;
  const r = a as { file?: unknown; line?: unknown };
  if (r.line !== e.line || typeof r.file !== 'string') return false;
  // the conformance runner compares file names; the paths must also be the same file
  return path.basename(r.file) === path.basename(e.file) && realOrSelf(r.file) === realOrSelf(e.file);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Decision fields that differ (the reference's conventions for what is free, as the conformance runner has them). */
function decisionDiffs(ref: RefDecision, ours: OurAnswer['decision'], only: readonly string[] | null): Difference[] {
  const out: Difference[] = [];
  const ourAllow = 'result' in ours && ours.result === 'allow';
  if (!('result' in ours)) return [{ channel: 'decision', field: 'output', expected: 'a JSON decision', actual: ours.unparsable, ourAllow: false }];
  const a = ours as unknown as Record<string, unknown>;
  if (ref.crash !== null) {
    if (a['result'] !== 'deny') out.push({ channel: 'decision', field: 'result', expected: 'deny (the reference crashed)', actual: a['result'], ourAllow });
    return out;
  }
  for (const f of DECISION_FIELDS) {
    if (only !== null && !only.includes(f)) continue;
    const e = (ref as unknown as Record<string, unknown>)[f];
    if (f === 'requested_target' && e === null) continue;
    if ((f === 'user' || f === 'autostart') && ref.result !== 'allow' && ref.result !== 'ask') continue;
    if (f === 'notify' && e === null) continue;
    const ok = f === 'rule' ? sameRule(ref.rule, a['rule']) : same(e, a[f]);
    if (!ok) out.push({ channel: 'decision', field: f, expected: e, actual: a[f], ourAllow: f === 'result' && ourAllow });
  }
  return out;
}

const trimNl = (s: string) => (s.endsWith('\n') ? s.slice(0, -1) : s);

/** Every difference between the two answers for one request, before the declared table. */
export function differences(ctx: Ctx, ref: RefAnswer, ours: OurAnswer): Difference[] {
  const out = decisionDiffs(ref.decision, ours.decision, null);
  for (const [channel, r, o] of [
    ['exec', ref.exec, ours.exec],
    ['exec_yes', ref.exec_yes, ours.execYes],
  ] as const) {
    if (r.agent) continue; // an ask for a GUI agent: nothing the reference can print here
    const expected = r.crash !== null ? 'result=deny' : (r.block ?? 'result=deny');
    const actual = trimNl(o.stdout);
    const refAllows = expected.includes('result=allow');
    if (actual !== expected) out.push({ channel, field: 'block', expected, actual, ourAllow: actual.includes('result=allow') && !refAllows });
    const status = refAllows ? 0 : 1;
    if (o.status !== status) out.push({ channel, field: 'exit', expected: status, actual: o.status, ourAllow: o.status === 0 });
  }
  const je = ref.just_evaluate.crash !== null ? 1 : ref.just_evaluate.exit;
  if (ours.justEvaluate.status !== je)
    out.push({ channel: 'just_evaluate', field: 'exit', expected: je, actual: ours.justEvaluate.status, ourAllow: ours.justEvaluate.status === 0 });
  return out;
}

/** Where we do not deny, on the given channels (`why`: the declared entries that demand it). */
function notDenied(ours: OurAnswer, channels: readonly Channel[], why: string): Difference[] {
  const out: Difference[] = [];
  const d = ours.decision;
  const expected = `deny (declared: ${why})`;
  if (channels.includes('decision') && (!('result' in d) || d.result !== 'deny'))
    out.push({ channel: 'decision', field: 'result', expected, actual: 'result' in d ? d.result : d.unparsable, ourAllow: 'result' in d && d.result === 'allow' });
  for (const [channel, o] of [
    ['exec', ours.exec],
    ['exec_yes', ours.execYes],
  ] as const)
    if (channels.includes(channel) && (trimNl(o.stdout) !== 'result=deny' || o.status !== 1))
      out.push({ channel, field: 'block', expected, actual: `${trimNl(o.stdout)} (exit ${o.status})`, ourAllow: o.stdout.includes('result=allow') || o.status === 0 });
  if (channels.includes('just_evaluate') && ours.justEvaluate.status !== 1)
    out.push({ channel: 'just_evaluate', field: 'exit', expected, actual: ours.justEvaluate.status, ourAllow: ours.justEvaluate.status === 0 });
  return out;
}

export interface Verdict {
  /** The declared entries that applied, if any. */
  declared: Declared[];
  /** What is wrong (empty: the answers agree, or differ only as declared). */
  problems: Difference[];
}

/** Compare one request's answers, with the declared differences applied. */
export function judge(ctx: Ctx, ref: RefAnswer, ours: OurAnswer): Verdict {
  const covered = new Set<Channel>();
  const declared: Declared[] = [];
  const kept = new Set<string>(DECISION_FIELDS);
  for (const d of DECLARED) {
    const channels = d.applies(ctx, ref, ours);
    if (channels === null) continue;
    declared.push(d);
    for (const c of channels) covered.add(c);
    if (channels.includes('decision')) for (const f of [...kept]) if (!d.compared.includes(f)) kept.delete(f);
  }
  if (declared.length === 0) return { declared, problems: differences(ctx, ref, ours) };
  // on covered channels we must deny (and the fields every entry keeps still agree); elsewhere, as usual
  const problems = notDenied(ours, [...covered], declared.map((d) => d.id).join(', '));
  if (covered.has('decision')) problems.push(...decisionDiffs(ref.decision, ours.decision, [...kept].filter((f) => f !== 'result')));
  problems.push(...differences(ctx, ref, ours).filter((p) => !covered.has(p.channel)));
  return { declared, problems };
}
