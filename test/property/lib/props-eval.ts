/**
 * Properties of evaluation itself, in memory: (a) an answer for every
 * request, the same every time; (b) malformed requests, policy and system
 * info deny and name the cause; (c) rules appended after the deciding rule
 * change nothing; (d) a leading `* * @anyvm @anyvm deny` denies every
 * request between non-dom0 qubes; (g) no allow (and no ask offer) from
 * nowhere, by an independent reading of SPEC §3.1.
 */
import fc from 'fast-check';
import { evaluate } from '../../../src/policy/evaluate.js';
import { explain } from '../../../src/render/explain.js';
import type { Decision } from '../../../src/policy/decision.js';
import { LegacyPolicy, type Policy } from '../../../src/policy/policy.js';
import { parseRequest } from '../../../src/policy/request.js';
import { parseSystemInfo, SystemInfoError, type SystemInfo } from '../../../src/policy/system-info.js';
import { arbCase, type Case } from '../gen/case.js';
import { arbBrokenPolicy, arbNoisyPolicy, insertLine, type BrokenCase } from '../gen/malformed.js';
import { arbLayout, arbLegacy, arbRule, isLegacyPolicyName, MEM_DIRS, renderTree, serviceFileRules, type LegacyFile, type Layout, type Rendered, type RuleSpec } from '../gen/policy.js';
import { aimAt, arbBadRequest, arbRequestPicks, type Req } from '../gen/request.js';
import { arbBadSystem, arbSystem, type BadSystem } from '../gen/system.js';
import { allowWitnesses, isDom0Spelling, offerWitnesses, requestSource, requestValue } from './oracle.js';
import { differ, fail, property, sameText, show, type AnyProperty } from './property.js';
import { fileSource, loadRendered } from './tree.js';

export function decideReq(p: Policy, si: SystemInfo, q: Req): Decision {
  return evaluate(p, si, { source: q.source, target: q.target, service: q.service, requestedSource: q.requestedSource }, { assumeYesForAsk: q.assumeYes });
}

function checkShape(d: Decision, q: Req): void {
  if (!['allow', 'deny', 'ask'].includes(d.result)) fail('crash', `no result for ${JSON.stringify(q)}: ${show(d)}`);
  if (d.result === 'deny' && (typeof d.reason !== 'string' || d.reason === '')) fail('unexplained-deny', `deny without a reason: ${show(d)}`);
}

/** (a) One well-formed answer per request; evaluating again, in another order, gives the same answers. */
export const evaluateTotal = property<Case>({
  id: 'eval-total',
  letter: 'a',
  title: 'every request gets one answer, the same every time (in memory)',
  arb: arbCase,
  testRuns: 150,
  fuzzWeight: 3,
  inputs: (c) => c.reqs.length * 3,
  check(c) {
    const p = loadRendered(renderTree(c.tree));
    if (p.errors.length) fail('disagreement', `a well-formed tree does not load: ${p.errors[0]!.describe()}`);
    const first = c.reqs.map((q) => decideReq(p, c.sys.si, q));
    first.forEach((d, i) => checkShape(d, c.reqs[i]!));
    // the same policy (its caches warm) in reverse order, then a fresh one: no cache or order may change an answer
    const p2 = loadRendered(renderTree(c.tree));
    for (let i = c.reqs.length - 1; i >= 0; i--) {
      sameText(`request ${JSON.stringify(c.reqs[i])} evaluated again`, show(first[i]!), show(decideReq(p, c.sys.si, c.reqs[i]!)));
      sameText(`request ${JSON.stringify(c.reqs[i])} on a fresh load`, show(first[i]!), show(decideReq(p2, c.sys.si, c.reqs[i]!)));
    }
  },
});

/** (b) A malformed request: deny, with a reason naming what is wrong. */
export const badRequests = property({
  id: 'bad-request',
  letter: 'b',
  title: 'a malformed request is denied with a reason naming the cause',
  arb: fc.tuple(arbCase, fc.array(arbBadRequest, { minLength: 1, maxLength: 6 })),
  testRuns: 100,
  fuzzWeight: 1,
  inputs: ([, bad]) => bad.length,
  check([c, bad]) {
    const p = loadRendered(renderTree(c.tree));
    for (const { req, mentions, targetValid } of bad) {
      const d = decideReq(p, c.sys.si, req);
      if (d.result !== 'deny') fail('wrong-allow', `malformed request ${JSON.stringify(req)} answered ${show(d)}`);
      for (const m of mentions) if (!m.test(d.reason)) fail('unexplained-deny', `reason ${JSON.stringify(d.reason)} does not match ${m} for ${JSON.stringify(req)}`);
      // requested_target: null when the target itself is bad; the normalised target when another part is
      if ((d.requestedTarget !== null) !== targetValid)
        fail('disagreement', `requested_target ${JSON.stringify(d.requestedTarget)} for a request whose target is ${targetValid ? 'fine' : 'bad'}: ${show(d)}`);
    }
  },
});

/** Every request of a case against a policy that failed to load: deny, naming the first error. */
function denyAllNaming(b: BrokenCase, p: Policy): void {
  const err = p.error!;
  if (err.file === null) fail('unexplained-deny', `load error without a file: ${err.describe()} (${b.what})`);
  for (const q of b.case.reqs) {
    const d = decideReq(p, b.case.sys.si, q);
    if (d.result !== 'deny') fail('wrong-allow', `${b.what}: policy does not load (${err.describe()}) but ${JSON.stringify(q)} got ${show(d)}`);
    const valid = parseRequest({ source: q.source, target: q.target, service: q.service, requestedSource: q.requestedSource }, b.case.sys.si).ok;
    if (valid && !d.reason.includes(`policy failed to load: ${err.describe()}`))
      fail('unexplained-deny', `${b.what}: reason ${JSON.stringify(d.reason)} does not name the load error ${JSON.stringify(err.describe())}`);
  }
}

function loadBroken(b: BrokenCase): Policy {
  return loadRendered(b.rendered, b.bytes, { policy: MEM_DIRS.policy, legacy: b.legacyPath });
}

/** (b) One defect in a loaded file: a load error where the defect is, and every request denied naming it. */
export const brokenPolicy = property<BrokenCase>({
  id: 'broken-policy',
  letter: 'b',
  title: 'a defect anywhere in the loaded policy denies everything, naming the file and line',
  arb: arbBrokenPolicy,
  testRuns: 120,
  fuzzWeight: 2,
  inputs: (b) => b.case.reqs.length,
  check(b) {
    const p = loadBroken(b);
    const e = b.expect!;
    const err = p.error;
    if (err === null) fail('wrong-allow', `${b.what}: loads without an error`);
    if (e.id !== null && err.id !== e.id) fail('unexplained-deny', `${b.what}: first error ${err.id} (${err.describe()}), expected ${e.id}`);
    if (e.file !== null && err.file !== e.file) fail('unexplained-deny', `${b.what}: first error names ${err.file}, expected ${e.file}: ${err.describe()}`);
    if (e.line !== undefined && err.line !== e.line) fail('unexplained-deny', `${b.what}: first error at line ${err.line}, expected ${e.line}: ${err.describe()}`);
    denyAllNaming(b, p);
  },
});

/** (a, b) Random characters anywhere: loading never throws; if it fails, everything is denied naming the error. */
export const noisyPolicy = property<BrokenCase>({
  id: 'noisy-policy',
  letter: 'b',
  title: 'noise in any loaded file never throws; a load error denies everything, naming it',
  arb: arbNoisyPolicy,
  testRuns: 120,
  fuzzWeight: 2,
  inputs: (b) => b.case.reqs.length,
  check(b) {
    const p = loadBroken(b);
    if (p.error !== null) denyAllNaming(b, p);
    else for (const q of b.case.reqs) checkShape(decideReq(p, b.case.sys.si, q), q);
  },
});

/** (b) Malformed system info: a SystemInfoError (never another exception) naming the bad value. */
export const badSystemInfo = property<BadSystem>({
  id: 'bad-system-info',
  letter: 'b',
  title: 'malformed system info is an error naming the bad value, never a crash',
  arb: arbBadSystem,
  testRuns: 150,
  fuzzWeight: 1,
  check(b) {
    try {
      parseSystemInfo(b.text, 'system info');
    } catch (err) {
      if (!(err instanceof SystemInfoError)) throw err;
      for (const m of b.mentions) if (!err.message.includes(m)) fail('unexplained-deny', `${JSON.stringify(err.message)} does not mention ${m} (input ${JSON.stringify(b.text).slice(0, 300)})`);
      return;
    }
    fail('wrong-allow', `accepted malformed system info ${JSON.stringify(b.text).slice(0, 300)}`);
  },
});

/** A policy-format or service-format line for a rule. */
function ruleLine(r: RuleSpec, format: 'policy' | 'service', l: Layout): string {
  const head = format === 'policy' ? [r.service, r.argument, r.source, r.target] : [r.source, r.target];
  return l.indent + [...head, r.action, ...r.params].join(l.sep) + l.trail;
}

function insertAfter(r: Rendered, file: string, line: number, offset: number, lines: string[]): Rendered {
  let text = r.files[file]!;
  // one by one, each right below the previous: the deciding rule keeps its line
  lines.forEach((l, i) => (text = insertLine(text, line + (offset % 3) + i, l, true).text));
  return { ...r, files: { ...r.files, [file]: text } };
}

/**
 * (c) The answer after more rules are put after the deciding rule, given the
 * answer before: allow and deny rules decide the same. An ask rule still
 * decides (or meets a fault in the added rules); rules added after every
 * other rule can only make it offer more, so an empty or refused choice may
 * turn into an ask or an allow. (Rules put between the deciding ask and
 * later rules may also take offers away: a deny there overrides a later
 * allow, as in Qubes.)
 */
function checkAppended(before: Decision, after: Decision, q: Req, what: string, last: boolean): void {
  const rule = before.rule;
  const label = `${what}: ${JSON.stringify(q)}`;
  if (before.result === 'deny' && before.kind === 'bad-request') return sameText(label, show(before), show(after));
  if (rule === null) return;
  // a fault names the rule it happened in, not a deciding rule: the added rules may fault first, nothing else
  if (before.result === 'deny' && before.kind === 'fault') {
    if (after.result !== 'deny' || after.kind !== 'fault') differ(`${label}: a fault stays a fault`, show(before), show(after));
    return;
  }
  if (rule.action !== 'ask') return sameText(`${label} decided by ${rule.file}:${rule.line}`, show(before), show(after));
  if (after.result === 'deny' && after.kind === 'fault') return;
  if (after.rule?.file !== rule.file || after.rule.line !== rule.line) differ(`${label}: another deciding rule`, show(before), show(after));
  if (!last) return;
  if (before.result === 'ask') {
    if (after.result !== 'ask') differ(`${label}: an ask stays an ask`, show(before), show(after));
    const lost = before.targets.filter((x) => !after.targets.includes(x));
    if (lost.length) differ(`${label}: the ask lost ${lost.join(', ')}`, show(before), show(after));
  } else if (before.result === 'allow' || !['not-in-ask-targets', 'no-target'].includes(before.kind)) sameText(label, show(before), show(after));
}

/** (c) Rules appended after the deciding rule never change an allow or a deny. */
export const appendAfter = property({
  id: 'append-after',
  letter: 'c',
  title: 'rules put after the deciding rule never change an allow or deny (ask may offer more)',
  arb: fc.tuple(arbCase, fc.array(fc.tuple(arbRule, arbLayout), { minLength: 1, maxLength: 4 }), fc.nat(), fc.boolean()),
  testRuns: 100,
  fuzzWeight: 2,
  inputs: ([c]) => c.reqs.length,
  check([c, extra, offset, atEnd]) {
    const rendered = renderTree(c.tree);
    const p = loadRendered(rendered);
    const lastFile = rendered.top[rendered.top.length - 1]!;
    const endAppended = () => {
      const text = rendered.files[lastFile]!;
      const lines = extra.map(([r, l]) => ruleLine(r, 'policy', l));
      const sep = text === '' || /[\r\n]$/.test(text) ? '' : '\n';
      return loadRendered({ ...rendered, files: { ...rendered.files, [lastFile]: text + sep + lines.join('\n') + '\n' } });
    };
    const atEndPolicy = atEnd ? endAppended() : null;
    for (const q of c.reqs) {
      const before = decideReq(p, c.sys.si, q);
      let after: Decision;
      let what: string;
      let last = true;
      const r = before.rule;
      const fault = before.result === 'deny' && before.kind === 'fault';
      if (atEndPolicy !== null || r === null || r.line === null || fault) {
        after = decideReq(atEndPolicy ?? endAppended(), c.sys.si, q);
        what = `${extra.length} rules appended to ${lastFile}`;
      } else {
        const format = rendered.formats[r.file]!;
        const lines = extra.map(([x, l]) => ruleLine(x, format, l));
        after = decideReq(loadRendered(insertAfter(rendered, r.file, r.line, offset, lines)), c.sys.si, q);
        what = `${JSON.stringify(lines)} put after ${r.file}:${r.line}`;
        last = false;
      }
      checkAppended(before, after, q, what, last);
    }
  },
});

/** Whether a request names dom0 as its source or target (any spelling, or a qube that is dom0). */
function touchesDom0(c: Case, q: Req): boolean {
  const d = c.sys.json.domains;
  const src = requestSource(d, q.requestedSource ?? q.source);
  return src.isDom0 || isDom0Spelling(q.source) || isDom0Spelling(q.target) || requestValue(d, q.target).kind === 'dom0';
}

/** (d) `* * @anyvm @anyvm deny` first: every request between non-dom0 qubes is denied by it. */
export const prependDeny = property({
  id: 'prepend-deny',
  letter: 'd',
  title: 'a leading `* * @anyvm @anyvm deny` denies every request whose source and target are not dom0',
  arb: fc.tuple(arbCase, fc.boolean()),
  testRuns: 150,
  fuzzWeight: 2,
  inputs: ([c]) => c.reqs.length,
  check([c, ownFile]) {
    const rendered = renderTree(c.tree);
    const DENY = '* * @anyvm @anyvm deny';
    const first = rendered.top[0]!;
    const files = ownFile
      ? { ...rendered.files, [`${MEM_DIRS.policy}/00-prepended.policy`]: DENY + '\n' }
      : { ...rendered.files, [first]: insertLine(rendered.files[first]!, 0, DENY).text };
    const p = loadRendered({ ...rendered, files });
    for (const q of c.reqs) {
      if (touchesDom0(c, q)) continue;
      const d = decideReq(p, c.sys.si, q);
      if (d.result !== 'deny') fail(d.result === 'allow' ? 'wrong-allow' : 'disagreement', `${JSON.stringify(q)} not denied after ${DENY}: ${show(d)}`);
      if (d.kind !== 'bad-request' && (d.kind !== 'rule' || d.rule?.text !== DENY))
        fail('disagreement', `${JSON.stringify(q)} denied, but not by the leading rule: ${show(d)}`);
    }
  },
});

/** (g) Every allow comes from a rule that could send the call there; every ask offer from one that could reach it. */
export const noAllowFromNowhere = property<Case>({
  id: 'no-allow-from-nowhere',
  letter: 'g',
  title: "an allow's target always matches some allow rule's target or redirect for that request",
  arb: arbCase,
  testRuns: 200,
  fuzzWeight: 3,
  inputs: (c) => c.reqs.length,
  check(c) {
    const d = c.sys.json.domains;
    const p = loadRendered(renderTree(c.tree));
    for (const q of c.reqs) {
      const dec = decideReq(p, c.sys.si, q);
      const src = requestSource(d, q.requestedSource ?? q.source);
      if (dec.result === 'allow') {
        if (src.name === null) fail('wrong-allow', `allow for unknown source ${JSON.stringify(q)}: ${show(dec)}`);
        if (allowWitnesses(d, c.rules, q, dec).length === 0) fail('wrong-allow', `allow from nowhere for ${JSON.stringify(q)}: ${show(dec)}`);
        if (dec.destination.kind === 'qube' && dec.destination.qube.name === src.name) fail('wrong-allow', `allow to the caller itself: ${show(dec)}`);
      }
      // ask offers: from rules without target= (a target=, even an empty one, offers what it names as written)
      if (dec.result === 'ask' && dec.rule !== null && !dec.rule.params.some((x) => x.startsWith('target=')))
        for (const t of dec.targets) {
          if (t === src.name) fail('wrong-allow', `ask offers the caller itself for ${JSON.stringify(q)}: ${show(dec)}`);
          if (offerWitnesses(d, c.rules, q, t).length === 0) fail('wrong-allow', `ask offers ${t} from nowhere for ${JSON.stringify(q)}: ${show(dec)}`);
        }
    }
  },
});

/** (f) explain decides as eval does, and every rule it says it passed over has a column that does not match. */
export const explainAgrees = property<Case>({
  id: 'explain',
  letter: 'f',
  title: 'explain gives the decision eval gives, and a mismatch for every rule it passed over',
  arb: arbCase,
  testRuns: 100,
  fuzzWeight: 1,
  inputs: (c) => c.reqs.length,
  check(c) {
    const p = loadRendered(renderTree(c.tree));
    for (const q of c.reqs) {
      const input = { source: q.source, target: q.target, service: q.service, requestedSource: q.requestedSource };
      const { text, decision } = explain(p, c.sys.si, input, { assumeYesForAsk: q.assumeYes, all: true });
      sameText(`explain vs eval for ${JSON.stringify(q)}`, show(decideReq(p, c.sys.si, q)), show(decision));
      const lines = text.split('\n');
      const bad = lines.findIndex((l) => l === '      matches' || l === '      unreachable');
      if (bad >= 0) fail('disagreement', `explain passed over a rule that ${lines[bad]!.trim()}: ${lines[bad - 1]} for ${JSON.stringify(q)}\n${text}`);
      if (!text.startsWith('request:  ') || !text.includes(`decision: ${decision.result}`)) fail('disagreement', `explain output without its decision:\n${text}`);
    }
  },
});

interface LegacyCase {
  sys: Case['sys'];
  legacy: LegacyFile[];
  reqs: Req[];
}

const arbLegacyCase: fc.Arbitrary<LegacyCase> = fc.tuple(arbSystem, arbLegacy, arbRequestPicks).map(([sys, legacy, picks]) => {
  const rules = legacy.flatMap((f) => serviceFileRules(f.lines, 'svc.A', '*'));
  // aimed at a file: its service and argument
  const reqs = picks.map(([q, k]) => {
    if (k === null || legacy.length === 0) return q;
    const f = legacy[k % legacy.length]!;
    const r = rules.length ? rules[k % rules.length]! : null;
    return { ...(r ? aimAt(r, q) : q), service: f.name };
  });
  const c = { sys, legacy, reqs };
  const show = () => JSON.stringify({ files: renderTree({ files: [], legacy, eol: '\n' }).files, system_info: sys.json, requests: reqs }, null, 1);
  return Object.defineProperty(c, fc.toStringMethod, { value: show, enumerable: false });
});

/** The rules `--legacy` evaluates a request with: file `SVC+ARG`, else `SVC` (SPEC §4.4); null for none. */
function legacyRules(legacy: LegacyFile[], serviceArg: string): RuleSpec[] | null {
  const plus = serviceArg.indexOf('+');
  const [svc, arg] = plus < 0 ? [serviceArg, '+'] : [serviceArg.slice(0, plus), serviceArg.slice(plus)];
  for (const name of [svc + arg, svc]) {
    const f = legacy.find((x) => x.name === name && isLegacyPolicyName(x.name));
    if (f) return serviceFileRules(f.lines, svc, name === svc ? '*' : arg);
  }
  return null;
}

/** (a, g) `--legacy` (R4.0 semantics): an answer for every request, and no allow from outside the file that applies. */
export const legacyMode = property<LegacyCase>({
  id: 'legacy-mode',
  letter: 'g',
  title: '--legacy: every request answered, and allowed only by a rule of the R4.0 file that applies',
  arb: arbLegacyCase,
  testRuns: 100,
  fuzzWeight: 1,
  inputs: (c) => c.reqs.length,
  check(c) {
    const rendered = renderTree({ files: [], legacy: c.legacy, eol: '\n' });
    const ruleset = new LegacyPolicy({ legacyPath: MEM_DIRS.legacy, fs: fileSource(rendered) });
    const d = c.sys.json.domains;
    for (const q of c.reqs) {
      const dec = evaluate(ruleset, c.sys.si, { source: q.source, target: q.target, service: q.service, requestedSource: q.requestedSource }, { assumeYesForAsk: q.assumeYes });
      checkShape(dec, q);
      const rules = legacyRules(c.legacy, q.service);
      if (rules === null && dec.result === 'deny' && dec.kind !== 'bad-request' && !/policy not found/.test(dec.reason))
        fail('unexplained-deny', `no R4.0 file for ${q.service}, but: ${show(dec)}`);
      if (dec.result === 'allow' && allowWitnesses(d, rules ?? [], q, dec).length === 0) fail('wrong-allow', `--legacy allow from nowhere for ${JSON.stringify(q)}: ${show(dec)}`);
      if (dec.result === 'ask')
        for (const t of dec.targets)
          if (!dec.rule?.params.some((x) => x.startsWith('target=')) && offerWitnesses(d, rules ?? [], q, t).length === 0)
            fail('wrong-allow', `--legacy ask offers ${t} from nowhere for ${JSON.stringify(q)}: ${show(dec)}`);
    }
  },
});

export const EVAL_PROPERTIES: AnyProperty[] = [evaluateTotal, badRequests, brokenPolicy, noisyPolicy, badSystemInfo, appendAfter, prependDeny, noAllowFromNowhere, legacyMode, explainAgrees];
