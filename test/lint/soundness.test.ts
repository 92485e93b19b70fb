/**
 * Soundness of lint's reachability findings, by brute force with the real
 * evaluator: over generated small systems and random policies, for every
 * source / target / service+argument combination,
 *
 * - no rule reported shadowed, duplicate or unmatchable-source ever decides;
 * - removing a rule reported redundant changes no decision;
 * - an ask rule reported for its default_target never offers it.
 *
 * Systems respect the Qubes invariant lint assumes (dom0 is the only
 * AdminVM, with the zero uuid); the policies use every token kind.
 */
import t, { type Test } from 'tap';
import { PolicyLoader } from '../../src/parser/loader.js';
import { memoryFileSource } from '../../src/parser/file-source.js';
import type { Rule } from '../../src/parser/rule.js';
import { Policy } from '../../src/policy/policy.js';
import { evaluate } from '../../src/policy/evaluate.js';
import type { Decision } from '../../src/policy/decision.js';
import { systemInfoFromJson, type SystemInfo } from '../../src/policy/system-info.js';
import { analyseReach } from '../../src/lint/shadow.js';
import { defaultNeverOffered } from '../../src/lint/ask-default.js';

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const UUID = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** A small system: dom0, a template, two disposable templates, app qubes with tags, an internal one. */
function system(r: () => number): SystemInfo {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const tags = () => ['t1', 't2'].filter(() => r() < 0.4);
  const state = () => (r() < 0.5 ? 'Running' : 'Halted');
  const dvm = () => pick(['dvm-a', 'dvm-b', null, 'app1']);
  const domains: Record<string, unknown> = {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', tags: r() < 0.5 ? ['t1'] : [], default_dispvm: dvm() },
    tpl: { type: 'TemplateVM', uuid: UUID(1), tags: tags(), default_dispvm: dvm() },
    'dvm-a': { type: 'AppVM', uuid: UUID(2), template_for_dispvms: true, tags: ['t1'], default_dispvm: 'dvm-a', power_state: state() },
    'dvm-b': { type: 'AppVM', uuid: UUID(3), template_for_dispvms: true, tags: tags(), default_dispvm: null, internal: r() < 0.5 },
    app1: { type: 'AppVM', uuid: UUID(4), tags: tags(), default_dispvm: dvm(), power_state: state() },
    app2: { type: 'AppVM', uuid: UUID(5), tags: tags(), default_dispvm: dvm(), power_state: state() },
    disp9: { type: 'DispVM', uuid: UUID(6), tags: tags(), default_dispvm: dvm(), power_state: state() },
  };
  return systemInfoFromJson({ domains });
}

const SOURCES = ['*', '@anyvm', '@adminvm', 'dom0', 'app1', 'app2', 'tpl', 'ghost', `uuid:${UUID(4)}`, '@tag:t1', '@tag:t2', '@type:AppVM', '@type:TemplateVM', '@type:AdminVM', '@dispvm:dvm-a', '@dispvm:@tag:t1'];
const TARGETS = [...SOURCES, '@default', '@dispvm', '@dispvm:dvm-b', `@dispvm:uuid:${UUID(2)}`, '@dispvm:@tag:t2', 'dvm-a', 'disp9'];
const REDIRECTS = ['app1', 'app2', 'dom0', '@adminvm', '@dispvm', '@dispvm:dvm-a', 'dvm-b', 'ghost'];
const SERVICES: Array<[string, string]> = [
  ['svc.A', '*'],
  ['svc.A', '+x'],
  ['svc.B', '*'],
  ['*', '*'],
];

/** A random rule line that parses. */
function ruleLine(r: () => number): string {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const [svc, arg] = pick(SERVICES);
  const source = pick(SOURCES);
  const target = pick(TARGETS);
  const action = pick(['allow', 'allow', 'deny', 'deny', 'ask', 'ask']);
  const params: string[] = [];
  if (action !== 'deny' && (r() < 0.3 || (action === 'allow' && target === '@default'))) params.push(`target=${pick(REDIRECTS)}`);
  if (action === 'ask' && r() < 0.5) params.push(`default_target=${pick(REDIRECTS)}`);
  if (action !== 'deny' && r() < 0.2) params.push('autostart=no');
  if (action !== 'deny' && r() < 0.2) params.push(`user=${pick(['root', 'u'])}`);
  if (r() < 0.2) params.push(`notify=${pick(['yes', 'no'])}`);
  return [svc, arg, source, target, action, ...params].join(' ');
}

/** A policy: random rules, with some repeated or generalised on purpose so that findings occur. */
function policyLines(r: () => number): string[] {
  const lines: string[] = [];
  const n = 4 + Math.floor(r() * 10);
  for (let i = 0; i < n; i++) {
    const x = r();
    if (lines.length && x < 0.15) lines.push(lines[Math.floor(r() * lines.length)]!);
    else if (lines.length && x < 0.35) {
      // the same effect for a wider set of callers or targets
      const f = lines[Math.floor(r() * lines.length)]!.split(' ');
      if (r() < 0.5) f[2] = r() < 0.5 ? '@anyvm' : '*';
      else if (f[3] !== '@default') f[3] = r() < 0.5 ? '@anyvm' : '*';
      if (r() < 0.5) f[1] = '*';
      lines.push(f.join(' '));
    } else if (lines.length && x < 0.6) {
      // the same rule for another caller or target: near misses of shadowing and redundancy
      const f = lines[Math.floor(r() * lines.length)]!.split(' ');
      const col = r() < 0.5 ? 2 : 3;
      const tok = (col === 2 ? SOURCES : TARGETS)[Math.floor(r() * (col === 2 ? SOURCES : TARGETS).length)]!;
      if (tok !== '@default' || f[4] !== 'allow' || f.some((p) => p.startsWith('target='))) f[col] = tok;
      lines.push(f.join(' '));
    } else lines.push(ruleLine(r));
  }
  return lines;
}

function load(lines: readonly string[]): Policy {
  const fs = memoryFileSource({ '/p/50-test.policy': lines.join('\n') + '\n' });
  const loader = new PolicyLoader({ fs, legacyPath: '/legacy' });
  loader.loadDirs(['/p']);
  const { rules, errors, ...rest } = loader.result;
  if (errors.length) throw new Error(`generated policy does not parse: ${errors[0]!.describe()}`);
  return new Policy(rules, errors, rest);
}

function requests(si: SystemInfo): Array<{ source: string; target: string; service: string }> {
  const names = [...si.qubes.keys()];
  const sources = [...names, '@adminvm', 'ghost'];
  const targets = [...names, '', '@default', '@adminvm', '@dispvm', '@dispvm:dvm-a', '@dispvm:dvm-b', `@dispvm:uuid:${UUID(2)}`, `uuid:${UUID(5)}`, 'ghost'];
  const services = ['svc.A', 'svc.A+x', 'svc.A+y', 'svc.B', 'svc.C+x'];
  return sources.flatMap((source) => targets.flatMap((target) => services.map((service) => ({ source, target, service }))));
}

/** What a decision does, without which rule said so or why. */
function effect(d: Decision): string {
  if (d.result === 'allow') return JSON.stringify(['allow', d.target, d.user, d.autostart, d.notify]);
  if (d.result === 'ask') return JSON.stringify(['ask', d.targets, d.defaultTarget, d.user, d.autostart, d.notify]);
  return JSON.stringify(['deny', d.notify]);
}

/** Check every finding of one policy against every request on one system; returns what was checked. */
function check(t: Test, lines: readonly string[], si: SystemInfo, reqs: ReturnType<typeof requests>) {
  const policy = load(lines);
  const rules = policy.rules;
  const reach = analyseReach(rules, { redundancy: true, barriers: [] });
  const unreachable = new Set<Rule>();
  const redundant: number[] = [];
  for (const [i, f] of reach) {
    if (f.kind === 'redundant') redundant.push(i);
    else unreachable.add(rules[i]!);
  }
  const askDefault = new Set(rules.filter((rule) => defaultNeverOffered(rule, rules, true) !== null));
  let decided = 0;
  const before = reqs.map((q) => evaluate(policy, si, { ...q, requestedSource: null }));
  before.forEach((d, k) => {
    if (d.rule === null || (d.result === 'deny' && d.kind === 'fault')) return;
    decided++;
    if (unreachable.has(d.rule))
      t.fail(`rule ${d.rule.line} reported unreachable decided ${JSON.stringify(reqs[k])}`, { lines, finding: reach.get(rules.indexOf(d.rule)) });
    if (askDefault.has(d.rule) && d.result === 'ask' && d.defaultTarget !== null)
      t.fail(`rule ${d.rule.line} offered its default_target ${d.defaultTarget}`, { lines, request: reqs[k] });
  });
  for (const i of redundant) {
    const without = new Policy(
      rules.filter((_, j) => j !== i),
      [],
    );
    reqs.forEach((q, k) => {
      const after = evaluate(without, si, { ...q, requestedSource: null });
      if (effect(after) !== effect(before[k]!))
        t.fail(`removing redundant rule ${rules[i]!.line} changed ${JSON.stringify(q)}`, { lines, before: effect(before[k]!), after: effect(after) });
    });
  }
  return { unreachable: unreachable.size, redundant: redundant.length, askDefault: askDefault.size, decided, requests: reqs.length };
}

t.test('brute force: every pair of rules that differ in one column', async (t) => {
  const r = rng(7);
  // dom0 with and without a tag, qubes with and without default disposables
  const systems = [system(r), system(r), system(r)];
  const counts = { unreachable: 0, redundant: 0 };
  for (const [col, tokens] of [
    [2, SOURCES],
    [3, TARGETS],
  ] as const) {
    // the column that varies gets every value; the fixed one (app1 calling app2) a few
    const reqsOf = systems.map((si) =>
      requests(si).filter(
        (q) =>
          (q.service === 'svc.A' || q.service === 'svc.A+x') &&
          (col === 2 ? ['app2', '', 'dom0'].includes(q.target) : ['app1', 'app2', 'dom0', 'ghost'].includes(q.source)),
      ),
    );
    for (const a of tokens) {
      for (const b of tokens) {
        for (const tail of ['deny', 'allow target=app1 user=u']) {
          const line = (tok: string) => {
            const f = ['svc.A', '*', 'app1', 'app2', tail];
            f[col] = tok;
            return f.join(' ');
          };
          systems.forEach((si, k) => {
            const c = check(t, [line(a), line(b)], si, reqsOf[k]!);
            counts.unreachable += c.unreachable;
            counts.redundant += c.redundant;
          });
        }
      }
    }
  }
  t.ok(counts.unreachable > 200, `unreachable rules checked: ${counts.unreachable}`);
  t.ok(counts.redundant > 200, `redundant rules checked: ${counts.redundant}`);
});

t.test('brute force: a redundant rule and the ask choices of another rule', async (t) => {
  // a deny before the ask removes choices that the redundant rule or its later twin add back
  const r = rng(11);
  const systems = [system(r), system(r), system(r)];
  let redundant = 0;
  const reqsOf = systems.map((si) => requests(si).filter((q) => q.service === 'svc.A' && ['app1', 'app2'].includes(q.source)));
  for (const deny of TARGETS) {
    for (const narrow of TARGETS) {
      for (const wide of ['*', '@anyvm', narrow]) {
        if (narrow === '@default') continue;
        const lines = [`svc.A * app1 ${deny} deny`, 'svc.A * app1 app2 ask', `svc.A * app1 ${narrow} allow`, `svc.A * @anyvm ${wide} allow`];
        systems.forEach((si, k) => (redundant += check(t, lines, si, reqsOf[k]!).redundant));
      }
    }
  }
  t.ok(redundant > 100, `redundant rules checked: ${redundant}`);
});

t.test('brute force: findings hold for every request on generated systems', async (t) => {
  const r = rng(20240607);
  const counts = { policies: 0, requests: 0, unreachable: 0, redundant: 0, askDefault: 0, decided: 0 };
  for (let round = 0; round < 260; round++) {
    const si = system(r);
    const c = check(t, policyLines(r), si, requests(si));
    counts.policies++;
    counts.unreachable += c.unreachable;
    counts.redundant += c.redundant;
    counts.askDefault += c.askDefault;
    counts.decided += c.decided;
    counts.requests += c.requests;
  }
  // the generator must produce findings of every kind, or the test proves nothing
  t.ok(counts.unreachable > 100, `unreachable rules checked: ${counts.unreachable}`);
  t.ok(counts.redundant > 20, `redundant rules checked: ${counts.redundant}`);
  t.ok(counts.askDefault > 20, `ask default_target findings checked: ${counts.askDefault}`);
  t.ok(counts.decided > 10000, `decisions by a rule: ${counts.decided} of ${counts.requests}`);
});
