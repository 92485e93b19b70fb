/**
 * The areas the differential tester covers, one arbitrary of whole cases
 * each (issue 13): ask target collection, tag/type tokens against keyword
 * targets, odd parameter values, includes through symbolic links, RemoteVMs
 * and relayed sources, the order of denial checks, odd system info,
 * `!compat-4.0` / service files / `--legacy`, the `*` service, and a broad
 * mix. Every arbitrary is built with map/tuple only, so fast-check shrinks
 * the system, the policy and the requests each on its own.
 */
import fc from 'fast-check';
import { NAMES } from '../../test/property/gen/system.js';
import { arbLegacy, arbTree, type PolicyLine, type PolicyTree, type RuleSpec } from '../../test/property/gen/policy.js';
import { aimAt, arbRequest, arbServiceArg, type Req } from '../../test/property/gen/request.js';
import { printable, treeLayout, type DiffCase } from '../lib/case.js';
import { arbIncludeLayout } from './layout.js';
import { arbRuleOf, BASE_SHAPE, ODD_PARAMS, type RuleShape } from './rules.js';
import { arbDiffSystem } from './system.js';
import * as T from './tokens.js';

const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const PLAIN = { sep: ' ', indent: '', trail: '' };

/** A tree of one or more top-level files holding these rules (in order), no directives. */
function rulesTree(files: RuleSpec[][]): PolicyTree {
  return { files: files.map((f) => f.map((rule): PolicyLine => ({ kind: 'rule', rule, layout: PLAIN }))), legacy: null, eol: '\n' };
}

const arbFiles = (rule: fc.Arbitrary<RuleSpec>, maxRules: number) =>
  fc.array(fc.array(rule, { minLength: 1, maxLength: maxRules }), { minLength: 1, maxLength: 3 });

interface RequestPool {
  sources: readonly string[];
  targets: readonly string[];
  /** Services requested besides the rule-aimed ones. */
  services?: fc.Arbitrary<string>;
  relayed?: fc.Arbitrary<string | null>;
}

/** A request before it meets its system: the source and target may be "a qube of this system, by index". */
interface Draft {
  req: Req;
  /** Use the i-th qube of the system (modulo its size) as the source / target instead. */
  sourceOf: number | null;
  targetOf: number | null;
  /** Aim at the k-th rule (modulo the count), as gen/request.ts's aimAt does. */
  aim: number | null;
}

/**
 * Requests from the pools. Most callers and many targets are qubes of the
 * case's own system (an unknown caller is denied whatever the policy says,
 * so it teaches little); half the requests are aimed at a rule.
 */
function arbRequests(pool: RequestPool, max = 16): fc.Arbitrary<Draft[]> {
  const draft = fc
    .record({
      base: arbRequest,
      source: fc.constantFrom(...pool.sources),
      // the odd ones (bad requests, denied before any rule) now and then
      target: weighted(
        [8, fc.constantFrom(...pool.targets.filter((x) => !T.ODD_REQUEST_TARGETS.includes(x)))],
        [1, fc.constantFrom(...pool.targets)],
      ),
      service: pool.services ?? arbServiceArg,
      relayed: pool.relayed ?? fc.constant<string | null>(null),
      // mostly a qube of the system as the caller; a third of the targets too
      sourceOf: weighted<number | null>([4, fc.nat()], [1, fc.constant(null)]),
      targetOf: weighted<number | null>([1, fc.nat()], [2, fc.constant(null)]),
      aim: fc.option(fc.nat(), { freq: 2 }),
    })
    .map(({ base, source, target, service, relayed, sourceOf, targetOf, aim }): Draft => ({
      // a relayed request comes from the relay (mostly); others from the pool
      req: { ...base, source: relayed !== null ? 'relay' : base.requestedSource !== null ? base.source : source, target, service, requestedSource: relayed ?? base.requestedSource },
      sourceOf,
      targetOf,
      aim,
    }));
  return fc.array(draft, { minLength: 1, maxLength: max });
}

/** The requests of a case: drafts resolved against its system, then aimed at its rules. */
function aimAll(rules: readonly RuleSpec[], drafts: Draft[], system: { domains: Record<string, unknown> }): Req[] {
  const names = Object.keys(system.domains);
  return drafts.map((d) => {
    let q = d.req;
    if (names.length && q.requestedSource === null) {
      if (d.sourceOf !== null) q = { ...q, source: names[d.sourceOf % names.length]! };
      if (d.targetOf !== null) q = { ...q, target: names[d.targetOf % names.length]! };
    }
    return d.aim === null || rules.length === 0 ? q : aimAt(rules[d.aim % rules.length]!, q);
  });
}

function ruleCase(area: string, shape: RuleShape, pool: RequestPool, opts: { maxRules?: number; oddities?: number } = {}): fc.Arbitrary<DiffCase> {
  return fc
    .tuple(arbDiffSystem(opts.oddities ?? 1), arbFiles(arbRuleOf(shape), opts.maxRules ?? 8), arbRequests(pool))
    .map(([system, files, picks]) =>
      printable({ area, system, layout: treeLayout(rulesTree(files)), legacyMode: false, reqs: aimAll(files.flat(), picks, system) }),
    );
}

// ------------------------------------------------------------------ the areas

/** Ask target collection: adds and removals through every spelling of a qube. */
const ask = ruleCase(
  'ask',
  {
    ...BASE_SHAPE,
    sources: ['@anyvm', '*', 'work', 'personal', T.U('work'), ...T.DOM0_SPELLINGS, '@tag:t1', '@type:AppVM'],
    targets: [...T.TARGET_COLUMN],
    redirects: [...T.REDIRECTS],
    actions: [3, 4, 4],
    redirectRate: 0.15,
  },
  { sources: [...T.REQUEST_SOURCES], targets: [...T.REQUEST_TARGETS] },
  { maxRules: 12 },
);

/**
 * What an ask offers: ask rules that decide (first), then allow and deny
 * rules for the same service naming targets every way (by name, uuid:,
 * @dispvm:NAME, @dispvm:uuid:, dom0's three spellings, tags, types,
 * wildcards), so every decision is an ask whose collection adds and removes
 * through every spelling.
 */
const offersRule = (action: 'allow' | 'deny') =>
  fc
    .record({
      source: weighted([6, fc.constant('@anyvm')], [2, fc.constantFrom('*', 'work', 'personal', T.U('work'), '@tag:t1')]),
      target: fc.constantFrom(...T.TARGET_COLUMN),
      redirect: weighted<string | null>([5, fc.constant(null)], [1, fc.constantFrom(...T.REDIRECTS)]),
    })
    .map(({ source, target, redirect }): RuleSpec => ({
      service: 'svc.A',
      argument: '*',
      source,
      target: action === 'allow' && target === '@default' ? '@anyvm' : target,
      action,
      params: action === 'allow' && redirect !== null ? [`target=${redirect}`] : [],
    }));
const offers = fc
  .tuple(
    arbDiffSystem(1),
    fc.array(
      fc.record({
        source: fc.constantFrom('@anyvm', '*', 'work', 'untrusted', '@tag:t1'),
        target: fc.constantFrom('@default', '@anyvm', '*'),
        dflt: weighted<string | null>([2, fc.constant(null)], [1, fc.constantFrom(...T.REDIRECTS)]),
        autostartNo: weighted([5, fc.constant(false)], [1, fc.constant(true)]),
      }),
      { minLength: 1, maxLength: 2 },
    ),
    fc.array(fc.oneof(offersRule('allow'), offersRule('deny')), { minLength: 2, maxLength: 14 }),
    arbRequests({ sources: [...T.REQUEST_SOURCES], targets: ['', '@default', ...T.REQUEST_TARGETS] }),
  )
  .map(([system, asks, body, picks]) => {
    const head: RuleSpec[] = asks.map((a) => ({
      service: 'svc.A', argument: '*', source: a.source, target: a.target, action: 'ask',
      params: [...(a.dflt !== null ? [`default_target=${a.dflt}`] : []), ...(a.autostartNo ? ['autostart=no'] : [])],
    }));
    const reqs = aimAll(head, picks, system).map((q) => ({ ...q, service: q.service.startsWith('svc.A') ? q.service : 'svc.A' }));
    return printable({ area: 'offers', system, layout: treeLayout(rulesTree([[...head, ...body]])), legacyMode: false, reqs });
  });

/** `@tag:` / `@type:` rule tokens against keyword and dom0 request targets and odd sources. */
const tokens = ruleCase(
  'tokens',
  {
    ...BASE_SHAPE,
    sources: [...T.TAG_TOKENS, ...T.TYPE_TOKENS, ...T.DOM0_SPELLINGS, '@anyvm', '*', ...T.DISPVM_TAG_TOKENS],
    targets: [...T.TAG_TOKENS, ...T.TYPE_TOKENS, ...T.DOM0_SPELLINGS, ...T.DISPVM_TAG_TOKENS, ...T.DISPVM_SPELLINGS, '@default', '@anyvm'],
    redirects: [...T.REDIRECTS],
  },
  {
    sources: [...T.REQUEST_SOURCES, ...T.DOM0_SPELLINGS, ...T.DOM0_SPELLINGS],
    targets: [...T.DOM0_SPELLINGS, '@default', '', ...T.DISPVM_SPELLINGS, ...NAMES, ...NAMES.map(T.U)],
  },
);

/** Empty and odd parameter values: both sides must agree on what loads and what it means. */
const params = fc
  .tuple(
    arbDiffSystem(1),
    arbFiles(arbRuleOf({ ...BASE_SHAPE, sources: ['@anyvm', 'work', 'dom0'], targets: ['@anyvm', 'vault', '@default', '@dispvm', 'dom0'], redirects: [...T.REDIRECTS] }), 5),
    fc.nat(),
    fc.constantFrom(...ODD_PARAMS),
    fc.constantFrom<'allow' | 'deny' | 'ask'>('allow', 'deny', 'ask'),
    fc.constantFrom('@anyvm', 'vault', '@default', '@dispvm', 'dom0', '@adminvm'),
    arbRequests({ sources: [...NAMES, 'dom0'], targets: [...T.REQUEST_TARGETS] }),
  )
  .map(([system, files, at, odd, action, target, picks]) => {
    const odder: RuleSpec = { service: '*', argument: '*', source: '@anyvm', target, action, params: odd };
    const all = files.map((f) => [...f]);
    const file = all[at % all.length]!;
    file.splice(at % (file.length + 1), 0, odder);
    return printable({ area: 'params', system, layout: treeLayout(rulesTree(all)), legacyMode: false, reqs: aimAll([odder, ...all.flat()], picks, system) });
  });

/** Includes: relative and absolute, through symbolic links followed by `..`, missing or wrong kinds, cycles, depth. */
const includes = fc
  .tuple(arbDiffSystem(0), arbIncludeLayout, arbRequests({ sources: [...NAMES], targets: [...NAMES, '', '@dispvm', 'dom0'] }, 8))
  .map(([system, inc, picks]) => printable({ area: 'includes', system, layout: inc.layout, legacyMode: false, reqs: aimAll(inc.rules, picks, system) }));

/** RemoteVMs: relays, transports, user=, autostart=, and relayed sources (`requested_source`) in every spelling. */
const remote = ruleCase(
  'remote',
  {
    ...BASE_SHAPE,
    sources: ['@anyvm', '*', 'remote1', T.U('remote1'), 'relay', '@type:RemoteVM', 'work'],
    targets: ['@anyvm', '*', 'remote1', T.U('remote1'), '@type:RemoteVM', '@default', 'relay', 'work', 'dom0'],
    redirects: ['remote1', T.U('remote1'), 'relay', 'work'],
    userRate: 0.4,
    autostartRate: 0.3,
  },
  {
    sources: ['relay', 'work', 'remote1', T.U('relay')],
    targets: ['remote1', T.U('remote1'), '', 'relay', 'work', 'dom0', '@dispvm'],
    relayed: weighted<string | null>([3, fc.constant(null)], [4, fc.constant('remote1')], [1, fc.constantFrom('', T.U('remote1'), 'work', 'nobody', 'relay', T.U('work'))]),
  },
  { oddities: 2 },
);

/** Which denial comes first (and so `notify`): autostart, relays, loopback, missing templates. */
const order = ruleCase(
  'order',
  {
    ...BASE_SHAPE,
    sources: ['@anyvm', '*', 'work', 'personal', 'relay', ...T.DOM0_SPELLINGS],
    targets: ['@anyvm', '*', '@default', '@dispvm', 'remote1', 'work', 'personal', ...T.DOM0_SPELLINGS, '@dispvm:dvm-a'],
    redirects: ['remote1', 'work', 'personal', '@dispvm', '@dispvm:dvm-a', 'dom0', '@adminvm', T.U('work')],
    autostartRate: 0.5,
    notifyRate: 0.5,
    actions: [6, 1, 3],
  },
  { sources: [...T.REQUEST_SOURCES], targets: [...T.REQUEST_TARGETS] },
  { oddities: 3 },
);

/** Odd system info: no dom0, qubes without uuid, shared uuids, internal qubes, templates that are not. */
const sysinfo = ruleCase(
  'sysinfo',
  { ...BASE_SHAPE, sources: [...T.SOURCE_COLUMN], targets: [...T.TARGET_COLUMN], redirects: [...T.REDIRECTS] },
  { sources: [...T.REQUEST_SOURCES], targets: [...T.REQUEST_TARGETS] },
  { oddities: 5 },
);

/** The R4.0 formats: `!compat-4.0` with service files and `$include:`, and `--legacy` evaluation. */
const legacy = fc
  .tuple(arbDiffSystem(1), arbTree, arbLegacy, fc.boolean(), fc.boolean(), arbRequests({ sources: [...T.REQUEST_SOURCES], targets: [...T.REQUEST_TARGETS] }))
  .map(([system, tree, legacyFiles, legacyMode, compat, picks]) => {
    // a legacy directory always, and !compat-4.0 at the top of the first file in half the cases
    const files = tree.files.map((f) => [...f]);
    if (!legacyMode && compat) files[0]!.unshift({ kind: 'compat' });
    const t: PolicyTree = { ...tree, files, legacy: legacyFiles };
    const rules = legacyFiles.flatMap((f) => {
      const plus = f.name.indexOf('+');
      return f.lines.flatMap((l) => (l.kind === 'rule' ? [{ ...l.rule, service: plus < 0 ? f.name : f.name.slice(0, plus), argument: plus < 0 ? '*' : f.name.slice(plus) }] : []));
    });
    return printable({ area: 'legacy', system, layout: treeLayout(t), legacyMode, reqs: aimAll(rules, picks, system) });
  });

/** The `*` service with every target form; requests for odd services too. */
const wildcard = ruleCase(
  'wildcard',
  { ...BASE_SHAPE, sources: [...T.SOURCE_COLUMN], targets: [...T.TARGET_COLUMN], redirects: [...T.REDIRECTS], anyServiceRate: 0.7 },
  {
    sources: [...T.REQUEST_SOURCES],
    targets: [...T.REQUEST_TARGETS],
    services: weighted(
      [6, arbServiceArg],
      [1, fc.constantFrom('*', '*+a', 'svc.A+*', '', '+a', 'svc.A++', 'svc A', 'svc.A+a/b', 'svc.Ä', 'qubes.Filecopy+')],
    ),
  },
);

/** A broad mix: the property tests' own cases (every directive, exotic whitespace, line ends), on disk. */
const mixed = fc
  .tuple(arbDiffSystem(2), arbTree, arbRequests({ sources: [...T.REQUEST_SOURCES], targets: [...T.REQUEST_TARGETS] }, 12))
  .map(([system, tree, picks]) => {
    const rules: RuleSpec[] = [];
    const walk = (lines: PolicyLine[]) => {
      for (const l of lines) {
        if (l.kind === 'rule') rules.push(l.rule);
        else if (l.kind === 'include') walk(l.lines);
        else if (l.kind === 'include-dir') l.files.forEach(walk);
      }
    };
    tree.files.forEach(walk);
    return printable({ area: 'mixed', system, layout: treeLayout(tree), legacyMode: false, reqs: aimAll(rules, picks, system) });
  });

export interface Area {
  id: string;
  title: string;
  arb: fc.Arbitrary<DiffCase>;
  /** Share of the run's requests. */
  weight: number;
}

export const AREAS: readonly Area[] = [
  { id: 'ask', title: 'ask target collection through every spelling of a qube', arb: ask, weight: 2 },
  { id: 'offers', title: 'what an ask offers: adds and removals through every spelling', arb: offers, weight: 2 },
  { id: 'tokens', title: '@tag:/@type: against keyword and dom0 targets, odd sources', arb: tokens, weight: 2 },
  { id: 'params', title: 'empty and odd action parameter values', arb: params, weight: 1 },
  { id: 'includes', title: 'includes through symlinks and .., missing, cycles, depth', arb: includes, weight: 1 },
  { id: 'remote', title: 'RemoteVM blocks and requested_source', arb: remote, weight: 2 },
  { id: 'order', title: 'order of denial checks (and notify)', arb: order, weight: 2 },
  { id: 'sysinfo', title: 'system info without dom0, uuids, with internal qubes', arb: sysinfo, weight: 2 },
  { id: 'legacy', title: '!compat-4.0, service files, --legacy', arb: legacy, weight: 2 },
  { id: 'wildcard', title: 'the * service with every target form; odd services', arb: wildcard, weight: 1 },
  { id: 'mixed', title: 'every directive and layout, mixed', arb: mixed, weight: 2 },
];
