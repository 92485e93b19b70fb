/**
 * qrexec-policy graph / qrexec-policy-graph: the request space, agreement
 * with evaluate() on every request, DOT and JSON output (golden files for
 * policy.d-examples), the options, errors, the drop-in, and Graphviz's
 * acceptance of the output.
 */
import t from 'tap';
import { matchGolden } from '../helpers/golden.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { graphEdges, type Space } from '../../src/graph/collect.js';
import { otherServiceName, runGraph } from '../../src/graph/cli.js';
import { renderDot, renderJson, dotString } from '../../src/graph/render.js';
import { graphTargets, parseServiceFilter, servicePairs } from '../../src/graph/space.js';
import { standaloneMain } from '../../src/cli/standalone.js';
import { command as graphCommand } from '../../src/cli/commands/graph.js';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { LegacyPolicy, loadPolicySet, Policy, type RuleSet } from '../../src/policy/policy.js';
import { systemInfoFromJson, type SystemInfo } from '../../src/policy/system-info.js';
import { readSystemInfoFile } from '../../src/io/sources.js';
import { memPolicy, LEGACY_DIR } from '../helpers/policy.js';
import { memoryFileSource } from '../../src/parser/file-source.js';
import { BIN, captureIo, captureProcess, run } from '../cli/fixtures/cli.js';
import { evaluate } from '../../src/policy/evaluate.js';

// ------------------------------------------------------------------ fixtures
const UUIDS = {
  work: '11111111-1111-4111-8111-111111111111',
  vault: '33333333-3333-4333-8333-333333333333',
};

/** qubes of every kind: templates for disposables (tagged, internal), halted and running, a RemoteVM, odd names. */
const SYSTEM = {
  domains: {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', label: 'black', default_dispvm: 'default-dvm' },
    'fedora-41': { type: 'TemplateVM', label: 'black', uuid: 'aaaaaaaa-0000-4000-8000-000000000001' },
    'default-dvm': { type: 'AppVM', label: 'red', tags: ['dvm'], template_for_dispvms: true, default_dispvm: 'default-dvm', uuid: 'aaaaaaaa-0000-4000-8000-000000000002' },
    'mgmt-dvm': { type: 'AppVM', label: 'black', template_for_dispvms: true, internal: true, uuid: 'aaaaaaaa-0000-4000-8000-000000000003' },
    work: { type: 'AppVM', label: 'blue', tags: ['work'], default_dispvm: 'default-dvm', power_state: 'Running', uuid: UUIDS.work },
    personal: { type: 'AppVM', label: '0x73d216', default_dispvm: 'default-dvm', uuid: 'aaaaaaaa-0000-4000-8000-000000000005' },
    vault: { type: 'AppVM', label: 'black', tags: ['vault'], default_dispvm: null, uuid: UUIDS.vault },
    'sys-net': { type: 'AppVM', label: 'red', default_dispvm: 'default-dvm', power_state: 'Running', uuid: 'aaaaaaaa-0000-4000-8000-000000000007' },
    'sys-relay': { type: 'AppVM', label: 'gray', power_state: 'Running', uuid: 'aaaaaaaa-0000-4000-8000-000000000008' },
    remote1: { type: 'RemoteVM', relayvm: 'sys-relay', transport_rpc: 'qubesair.SSHProxy', uuid: 'aaaaaaaa-0000-4000-8000-000000000009' },
    // no label, no uuid; a name the evaluator refuses as a request target; a name DOT must escape
    bare: { type: 'AppVM', default_dispvm: 'nosuch' },
    '@odd': { type: 'AppVM', label: 'green', uuid: 'aaaaaaaa-0000-4000-8000-00000000000a' },
    'we"ird\\': { type: 'StandaloneVM', label: 'purple', uuid: 'aaaaaaaa-0000-4000-8000-00000000000b' },
  },
};

/** Every action and parameter the graph can meet, with the faults Qubes would crash on. */
const POLICY = `
qubes.Ask       *   @anyvm      @anyvm      ask autostart=no
qubes.Ask2      *   work        @default    ask default_target=vault user=root
qubes.Ask2      *   @anyvm      @dispvm     ask target=@dispvm
qubes.Ask2      *   @anyvm      @anyvm      ask target=vault
qubes.Red       *   @tag:work   @default    allow target=@dispvm
qubes.Red       *   @anyvm      @default    allow target=vault autostart=no
qubes.Red       *   @anyvm      @dispvm:@tag:dvm  allow
qubes.Red       *   @type:AppVM @anyvm      allow target=@adminvm notify=yes
qubes.Uuid      *   uuid:${UUIDS.work}  uuid:${UUIDS.vault}  allow
qubes.Uuid      *   @anyvm      @anyvm      ask target=uuid:${UUIDS.vault}
qubes.Dom0      *   @anyvm      dom0        allow user=root
qubes.Dom0      *   dom0        @anyvm      ask
qubes.Arg       +a  @anyvm      @anyvm      allow
qubes.Arg       +   work        personal    allow
qubes.Arg       *   @anyvm      @anyvm      deny
qubes.Self      *   @anyvm      @anyvm      allow
qubes.Fault     *   @anyvm      @dispvm:default-dvm  allow
qubes.Fault     *   @anyvm      @dispvm:nosuch  allow
qubes.Fault     *   @anyvm      @anyvm      ask
qubes.AskNone   *   @anyvm      @anyvm      ask target=@dispvm:nosuch
qubes.Remote    *   work        remote1     allow user=nobody
qubes.Remote    *   @anyvm      @anyvm      ask default_target=remote1
qubes.Same1     *   @anyvm      @anyvm      allow user=one
qubes.Same2     *   @anyvm      @anyvm      allow user=two notify=yes
qubes.Unknown   *   @anyvm      @anyvm      ask target=nosuch
qubes.Vm        *   @anyvm      we"ird\\    allow
qubes.Auto1     *   @anyvm      @anyvm      allow autostart=no
qubes.Auto2     *   @anyvm      @anyvm      allow
qubes.Redir1    *   @anyvm      @default    allow target=vault
qubes.Redir2    *   @anyvm      @default    allow target=work
*               *   @anyvm      @adminvm    allow autostart=no
*               *   @anyvm      @anyvm      deny
`;

/** An edge as a line, for comparing lists. */
function edgeLine(e: { source: string; target: string; service: string; argument: string; action: string; rule: { file: string; line: number | null } }): string {
  return [e.source, e.target, e.service, e.argument, e.action, `${e.rule.file}:${e.rule.line}`].join(' ');
}

/** The graph drawn the plain way: evaluate() on every request of the space, with every rule. */
function plainEdges(ruleset: RuleSet, si: SystemInfo, space: Space, includeAsk: boolean): string[] {
  const out: string[] = [];
  for (const p of space.pairs)
    for (const source of space.sources)
      for (const target of space.targets) {
        const service = p.service ?? space.otherService;
        const argument = p.argument ?? '+';
        const d = evaluate(ruleset, si, { source, target, service: service + argument, requestedSource: null });
        // Qubes' evaluate() allows a call to the caller itself (only executing it refuses): drawn, a self-loop
        const action = d.result === 'deny' && d.kind === 'loopback' ? 'allow' : d.result;
        if (action === 'deny' || (action === 'ask' && !includeAsk)) continue;
        const redirect = d.rule!.redirect;
        out.push(edgeLine({ source, target: redirect ? redirect.text : target, service: p.service ?? '*', argument, action, rule: d.rule! }));
      }
  return out;
}

// ------------------------------------------------------------------ tests

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = path.join(ROOT, 'policy.d-examples');
const EX_SI = path.join(EXAMPLES, 'system-info.json');
const GOLDEN = path.join(ROOT, 'test/graph/golden');
const exArgs = ['--path', EXAMPLES, '--legacy-path', path.join(EXAMPLES, 'legacy'), '--system-info', EX_SI];

const si = systemInfoFromJson(SYSTEM);
const policy = memPolicy({ '50-test.policy': POLICY });

function spaceOf(ruleset: Policy, sys: SystemInfo, filters: string[] | null = null): Space {
  const pairs = servicePairs(ruleset.rules, filters);
  return { sources: [...sys.qubes.keys()], targets: graphTargets(sys), pairs, otherService: otherServiceName(new Set(pairs.map((p) => p.service))) };
}

function fastEdges(ruleset: RuleSet, sys: SystemInfo, space: Space, includeAsk: boolean): string[] {
  return [...graphEdges(ruleset, sys, space, includeAsk)].map(edgeLine);
}

/** The graph command in process: status and captured output. */
async function graph(argv: string[], drop = false) {
  const c = captureIo();
  const cap = await captureProcess(() =>
    drop ? standaloneMain('qrexec-policy-graph', graphCommand, argv, c.io) : umbrellaMain(['graph', ...argv], c.io),
  );
  return { status: cap.value, out: c.out + cap.stdout, err: c.err + cap.stderr };
}

/** Absolute paths of the example tree as the repository names them. */
function portable(text: string): string {
  return text.split(fs.realpathSync(EXAMPLES)).join('policy.d-examples').split(EXAMPLES).join('policy.d-examples');
}

t.test('the request space: targets, service pairs, filters', async (t) => {
  t.same(graphTargets(si).slice(0, 3), ['dom0', 'fedora-41', 'default-dvm'], 'in system-info order');
  t.same(graphTargets(si).slice(-4), ['@dispvm', '@dispvm:default-dvm', '@dispvm:mgmt-dvm', '@default'], 'qubes, then @dispvm, each template, @default');
  t.equal(graphTargets(si).length, Object.keys(SYSTEM.domains).length + 4);

  const rules = [
    { service: 'b', argument: null },
    { service: 'a', argument: '+x' },
    { service: null, argument: null },
    { service: 'a', argument: null },
    { service: 'a', argument: '+' },
    { service: 'a', argument: '+x' },
  ];
  t.same(servicePairs(rules, null), [
    { service: null, argument: null },
    { service: 'a', argument: null },
    { service: 'a', argument: '+x' },
    { service: 'b', argument: null },
  ], 'sorted, `*` first, `a *` and `a +` asked once');
  t.same(servicePairs(rules, ['a']), [
    { service: 'a', argument: null },
    { service: 'a', argument: '+x' },
  ], 'a bare service keeps its arguments');
  t.same(servicePairs(rules, ['a+x', 'c+y']), [
    { service: 'a', argument: '+x' },
    { service: 'c', argument: '+y' },
  ], 'SVC+ARG keeps only that argument; named services are added');
  t.same(servicePairs(rules, ['*']), [{ service: null, argument: null }], '* keeps the services no rule names');
  t.same(parseServiceFilter('s+a+b'), { service: 's', argument: '+a+b' });
  t.equal(otherServiceName(new Set(['x'])), 'qrexec-policy-graph.OtherService');
  t.equal(otherServiceName(new Set(['qrexec-policy-graph.OtherService', 'qrexec-policy-graph.OtherService2'])), 'qrexec-policy-graph.OtherService3');
});

t.test('every edge is what evaluate() decides for that request, and nothing else', async (t) => {
  const space = spaceOf(policy, si);
  t.equal(space.pairs.length, 20, 'every service and argument of the policy, and `*`');
  for (const includeAsk of [false, true]) {
    const fast = fastEdges(policy, si, space, includeAsk);
    const plain = plainEdges(policy, si, space, includeAsk);
    t.same(fast, plain, `includeAsk=${includeAsk}: ${plain.length} edges`);
  }
  // the example tree (policy.d, includes, !compat-4.0) and R4.0 --legacy semantics
  const ex = loadPolicySet({ paths: [EXAMPLES], legacyPath: path.join(EXAMPLES, 'legacy') });
  const exSi = readSystemInfoFile(EX_SI);
  const exSpace = spaceOf(ex, exSi);
  t.same(fastEdges(ex, exSi, exSpace, true), plainEdges(ex, exSi, exSpace, true), 'policy.d-examples');
  const legacy = new LegacyPolicy({ legacyPath: path.join(EXAMPLES, 'legacy') });
  const lSpace = { ...exSpace, pairs: servicePairs([{ service: 'qubes.StartApp', argument: '+firefox' }, { service: 'qubes.UpdatesProxy', argument: null }, { service: 'admin.vm.List', argument: null }, { service: 'nosuch.Service', argument: null }], null) };
  const lp = plainEdges(legacy, exSi, lSpace, true);
  t.same(fastEdges(legacy, exSi, lSpace, true), lp, '--legacy');
  t.ok(lp.length > 10);
});

t.test('rules alike but for a user= qrexec-daemon cannot be sent are not decided alike', async (t) => {
  // the same shape for every caller, but jürgen's block cannot be sent: eval denies those calls
  const p = memPolicy({ '50-test.policy': 'a.A * @anyvm @anyvm allow user=one\nb.B * @anyvm @anyvm allow user=j\u00fcrgen\n' });
  const space = spaceOf(p, si);
  const plain = plainEdges(p, si, space, false);
  const count = (svc: string) => plain.filter((e) => e.includes(` ${svc} `)).length;
  // (a RemoteVM target takes no user=, so b.B still reaches those)
  t.ok(count('b.B') < count('a.A'), `eval: a.A allowed ${count('a.A')} times, b.B only ${count('b.B')}`);
  t.same(fastEdges(p, si, space, false), plain);
});

t.test('what the edges say: allow, ask, redirects, keywords, faults', async (t) => {
  const space = spaceOf(policy, si);
  const edges = [...graphEdges(policy, si, space, true)];
  const find = (svc: string, src: string, tgt?: string) =>
    edges.filter((e) => e.service === svc && e.source === src && (tgt === undefined || e.target === tgt));
  const lines = (es: { rule: { line: number | null } }[]) => [...new Set(es.map((e) => e.rule.line))];
  // a redirect is drawn to the target= qube (here from a @default request); @dispvm:@tag: matches @dispvm
  t.same(lines(find('qubes.Red', 'work', '@dispvm')), [8, 6]);
  t.same(lines(find('qubes.Red', 'personal', '@adminvm')), [9], 'target=@adminvm drawn as @adminvm, for every target');
  // ask target= is drawn as written; the `*` rule allows dom0
  t.same(lines(find('qubes.Ask2', 'personal', '@dispvm')), [4], 'ask target=@dispvm: offered as written');
  t.same([...new Set(find('qubes.Ask2', 'personal').map((e) => e.target))].sort(), ['@dispvm', 'dom0', 'vault']);
  t.same(lines(find('qubes.Ask2', 'work', '@default')), [3], '@default asked (default_target=vault)');
  t.same(lines(find('qubes.Ask2', 'work', 'vault')), [5], 'vault by target=');
  // autostart=no asks offer running qubes only: an ask wherever a running target is left
  t.same(lines(find('qubes.Ask', 'personal').filter((e) => e.target !== 'dom0')), [2]);
  t.ok(find('qubes.Ask', 'personal').every((e) => (e.target === 'dom0' ? e.action === 'allow' : e.action === 'ask')));
  // a call to the caller itself is drawn, a self-loop, as qrexec-policy-graph draws it (only executing it is refused)
  t.same(find('qubes.Self', 'work', 'work').map((e) => e.action), ['allow']);
  t.equal(find('qubes.Self', 'work', 'personal').length, 1);
  // faults deny: @dispvm for a qube without (or with a missing) default_dispvm, asks that meet a missing template
  t.same(lines(edges.filter((e) => e.service === 'qubes.Fault')).sort(), [18, 32]);
  t.same(find('qubes.Fault', 'vault').map((e) => e.target), ['dom0', '@dispvm:default-dvm']);
  t.same(find('qubes.Fault', 'bare').map((e) => e.target), ['dom0', '@dispvm:default-dvm']);
  t.ok(find('qubes.Fault', 'work', '@dispvm').length === 1);
  // an ask to a template that does not exist is still offered (as the reference does)
  t.same([...new Set(edges.filter((e) => e.service === 'qubes.AskNone' && e.action === 'ask').map((e) => e.target))], ['@dispvm:nosuch']);
  // the `*` rules decide services that no rule names: drawn as service `*`
  t.same(find('*', 'work').map((e) => [e.target, e.rule.line]), [['dom0', 32]]);
  // an argument rule and the no-argument request
  t.same(find('qubes.Arg', 'work', 'personal').map((e) => e.argument), ['+', '+a']);
  t.same(lines(find('qubes.Arg', 'vault').filter((e) => e.target !== 'dom0')), [14]);
  // rules that read alike for a caller are decided once, but each edge names its own rule
  t.same(lines(find('qubes.Same1', 'work').filter((e) => e.target !== 'dom0')), [24]);
  t.same(lines(find('qubes.Same2', 'work').filter((e) => e.target !== 'dom0')), [25]);
  // RemoteVM targets; a uuid rule; the keyword-named qube is never a request target
  t.same(find('qubes.Remote', 'work', 'remote1').map((e) => e.action), ['allow']);
  t.same(lines(find('qubes.Uuid', 'work', 'vault')), [10]);
  t.same([...new Set(find('qubes.Uuid', 'personal').map((e) => e.target))].sort(), ['dom0', `uuid:${UUIDS.vault}`]);
  t.equal(edges.filter((e) => e.target === '@odd').length, 0);
  t.ok(edges.some((e) => e.source === '@odd'), 'but it calls others');
});

t.test('DOT: nodes coloured by label, keywords dotted, edges red or orange, each once', async (t) => {
  const space = spaceOf(policy, si, ['qubes.Red', 'qubes.Ask2', 'qubes.Vm', 'qubes.Unknown']);
  let out = '';
  renderDot(graphEdges(policy, si, space, true), si, { skipLabels: false, fullOutput: false }, (s) => (out += s));
  const lines = out.split('\n');
  t.equal(lines[0], 'digraph g {');
  t.equal(lines.at(-2), '}');
  t.equal(new Set(lines).size, lines.length, 'no line twice');
  t.ok(lines.includes('  "work" [color = "blue", penwidth = 3];'));
  t.ok(lines.includes('  "personal" [color = "#73d216", penwidth = 3];'), '0x labels become #');
  t.ok(lines.includes('  "bare";'), 'a qube without a label has no colour');
  t.ok(lines.includes('  "nosuch";'), 'a name no qube has (an ask target=)');
  t.ok(lines.includes('  "@dispvm" [style = dotted];'));
  t.ok(lines.includes('  "we\\"ird\\\\" [color = "purple", penwidth = 3];'), 'quotes and backslashes escaped');
  t.ok(lines.includes('  "work" -> "@dispvm" [label="qubes.Red" color=red];'));
  t.ok(lines.includes('  "work" -> "vault" [label="qubes.Ask2" color=orange];'));
  t.ok(lines.indexOf('  "work" [color = "blue", penwidth = 3];') < lines.findIndex((l) => l.startsWith('  "work" ->')), 'a node before its first edge');
  t.equal(dotString('a\nb\r\nc'), '"a\\nb\\nc"');

  // --skip-labels merges the edges of different services; --full-output names the rule's argument and action
  let skip = '';
  renderDot(graphEdges(policy, si, spaceOf(policy, si), false), si, { skipLabels: true, fullOutput: false }, (s) => (skip += s));
  const skipEdges = skip.split('\n').filter((l) => l.includes(' -> '));
  t.ok(skipEdges.every((l) => l.includes('[label="" color=red]')));
  t.equal(new Set(skipEdges.map((l) => l.split(' [')[0])).size, skipEdges.length, 'one edge per pair of qubes');
  let full = '';
  renderDot(graphEdges(policy, si, spaceOf(policy, si, ['qubes.Arg', 'qubes.Remote']), true), si, { skipLabels: false, fullOutput: true }, (s) => (full += s));
  t.ok(full.includes('"vault" -> "personal" [label="qubes.Arg+a allow" color=red]'));
  t.ok(full.includes('"work" -> "remote1" [label="qubes.Remote allow user=nobody" color=red]'));
  t.ok(full.includes('[label="qubes.Remote ask default_target=remote1" color=orange]'));
  let fullSkip = '';
  renderDot(graphEdges(policy, si, spaceOf(policy, si, ['qubes.Arg']), true), si, { skipLabels: true, fullOutput: true }, (s) => (fullSkip += s));
  t.ok(fullSkip.includes('"vault" -> "personal" [label="allow" color=red]'));
});

t.test('JSON: edges with service, argument, action and the place of their rule; nodes; each rule once', async (t) => {
  let out = '';
  const space = spaceOf(policy, si, ['qubes.Red', 'qubes.Ask2']);
  renderJson(graphEdges(policy, si, space, true), si, { skipLabels: false, fullOutput: false }, (s) => (out += s));
  const doc = JSON.parse(out) as { nodes: Record<string, unknown>[]; edges: Record<string, unknown>[]; rules: Array<{ file: string; line: number; action: string }> };
  t.same(Object.keys(doc), ['edges', 'nodes', 'rules']);
  const ruleOf = (e: Record<string, unknown>) => doc.rules[e['rule'] as number]!;
  const edge = doc.edges.find((e) => e['source'] === 'work' && e['target'] === '@dispvm' && ruleOf(e).line === 6)!;
  t.same(edge, { source: 'work', target: '@dispvm', service: 'qubes.Red', argument: '+', action: 'allow', rule: edge['rule'] });
  t.same(ruleOf(edge), { file: '/etc/qubes/policy.d/50-test.policy', line: 6, action: 'allow target=@dispvm' });
  t.equal(new Set(doc.rules.map((r) => JSON.stringify(r))).size, doc.rules.length, 'each rule once');
  t.ok(doc.edges.every((e) => Number.isInteger(e['rule']) && doc.rules[e['rule'] as number] !== undefined), 'every edge names a rule of the list');
  t.same([...new Set(doc.edges.map((e) => e['rule']))].sort((a, b) => (a as number) - (b as number)), doc.rules.map((_, i) => i), 'every rule listed decides an edge');
  t.same(doc.nodes.find((n) => n['name'] === 'work'), { name: 'work', keyword: false, label: 'blue', type: 'AppVM' });
  t.same(doc.nodes.find((n) => n['name'] === '@dispvm'), { name: '@dispvm', keyword: true, label: null, type: null });
  t.equal(new Set(doc.edges.map((e) => JSON.stringify(e))).size, doc.edges.length, 'each edge once');
  t.equal(new Set(doc.nodes.map((n) => n['name'])).size, doc.nodes.length, 'each node once');
  let skip = '';
  renderJson(graphEdges(policy, si, space, false), si, { skipLabels: true, fullOutput: false }, (s) => (skip += s));
  const sk = JSON.parse(skip) as { edges: Record<string, unknown>[]; rules: unknown[] };
  t.same(Object.keys(sk.edges[0]!), ['source', 'target', 'action']);
  t.same(sk.rules, [], 'no rules without labels');
  let empty = '';
  renderJson([], si, { skipLabels: false, fullOutput: false }, (s) => (empty += s));
  t.same(JSON.parse(empty), { edges: [], nodes: [], rules: [] });
  t.equal(empty, '{"edges": [],\n"nodes": [],\n"rules": []}\n');
});

const GOLDENS: Array<[string, string[]]> = [
  ['examples.dot', []],
  ['examples-ask.dot', ['--include-ask']],
  ['examples-full.dot', ['--full-output']],
  ['examples-skip-labels.dot', ['--skip-labels', '--include-ask']],
  ['examples-filtered.dot', ['--include-ask', '--source', '@tag:gpg-client', '--target', 'vault,@dispvm', '--service', 'qubes.Gpg', '--service', 'qubes.OpenInVM,qubes.StartApp+firefox']],
  ['examples.json', ['--format', 'json', '--include-ask']],
  ['examples-legacy.json', ['--format', 'json', '--legacy']],
];

t.test('golden outputs for policy.d-examples', async (t) => {
  for (const [file, args] of GOLDENS) {
    const r = await graph([...exArgs, ...args]);
    t.equal(r.status, 0, file);
    t.equal(r.err, '');
    const got = portable(r.out);
    const golden = path.join(GOLDEN, file);
    matchGolden(t, golden, got, file);
  }
  const filtered = fs.readFileSync(path.join(GOLDEN, 'examples-filtered.dot'), 'utf8');
  t.match(filtered, /"work" -> "vault" \[label="qubes.Gpg" color=red\]/);
  t.notMatch(filtered, /"personal" ->/, 'only work carries gpg-client');
});

const NO_DOT = spawnSync('dot', ['-V']).error !== undefined;

t.test('Graphviz accepts the output (dot -Tsvg)', { skip: NO_DOT && 'Graphviz `dot` is not installed (apt-get install -y graphviz)' }, async (t) => {
  let odd = '';
  const space = spaceOf(policy, si, ['qubes.Vm', 'qubes.Red', 'qubes.Unknown', 'qubes.Arg']);
  renderDot(graphEdges(policy, si, space, true), si, { skipLabels: false, fullOutput: true }, (s) => (odd += s));
  const dots = GOLDENS.filter(([f]) => f.endsWith('.dot')).map(([f]) => [f, fs.readFileSync(path.join(GOLDEN, f), 'utf8')] as const);
  for (const [name, text] of [...dots, ['odd names, full output', odd] as const]) {
    // dot's own layout takes minutes on the big graphs; the sfdp layout reads the same DOT fast
    const big = text.length > 20000;
    const r = spawnSync('dot', [...(big ? ['-Ksfdp'] : []), '-Tsvg'], { input: text, encoding: 'utf8', maxBuffer: 1 << 28 });
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
    t.equal(r.stderr, '', `${name}: no warnings`);
    t.match(r.stdout, /<svg/);
  }
  t.match(odd, /we\\"ird/, 'the odd names are in it');
});

t.test('options: --output, --policy-dir, several values, the drop-in argument style', async (t) => {
  const dir = t.testdir({});
  const out = path.join(dir, 'g.dot');
  let r = await graph(['--policy-dir', EXAMPLES, '--legacy-path', path.join(EXAMPLES, 'legacy'), '--system-info', EX_SI, '--output', out], true);
  t.equal(r.status, 0);
  t.equal(r.out, '', 'nothing on stdout');
  t.equal(portable(fs.readFileSync(out, 'utf8')), fs.readFileSync(path.join(GOLDEN, 'examples.dot'), 'utf8'));
  // the reference's style: one option, several values
  const a = await graph([...exArgs, '--source', 'work', 'personal', '--service', 'qubes.Filecopy', '--include-ask'], true);
  const b = await graph([...exArgs, '--source', 'work,personal', '--service', 'qubes.Filecopy', '--include-ask']);
  const c = await graph([...exArgs, '--source', 'work', '--source', 'personal', '--service', 'qubes.Filecopy', '--include-ask']);
  t.equal(a.status, 0);
  const d = await graph([...exArgs, '--source', 'work', 'personal', '--service', 'qubes.Filecopy', '--include-ask']);
  t.equal(d.status, 0, 'the umbrella takes several values the same way');
  t.equal(a.out, b.out);
  t.equal(a.out, c.out);
  t.equal(a.out, d.out);
  // a repeated --policy-dir: the last one counts, as in qrexec-policy-graph (argparse's store)
  const both = ['--legacy-path', path.join(EXAMPLES, 'legacy'), '--system-info', EX_SI, '--service', 'qubes.Gpg'];
  for (const drop of [true, false]) {
    const last = await graph(['--policy-dir', path.join(dir, 'nowhere'), '--policy-dir', EXAMPLES, ...both], drop);
    const only = await graph(['--policy-dir', EXAMPLES, ...both], drop);
    t.same([last.status, last.out], [0, only.out], `${drop ? 'qrexec-policy-graph' : 'graph'}: --policy-dir X --policy-dir Y reads Y`);
  }
  const mixed = await graph(['--path', EXAMPLES, '--policy-dir', EXAMPLES, ...both]);
  t.same([mixed.status, mixed.err], [2, "qrexec-policy graph: give --path or --policy-dir, not both\nRun 'qrexec-policy graph --help' for usage.\n"]);
  t.same([...new Set([...a.out.matchAll(/^ {2}"([^"]+)" ->/gm)].map((m) => m[1]))].sort(), ['personal', 'work']);
  // @type: and the `*` pseudo-service
  r = await graph([...exArgs, '--source', '@type:TemplateVM', '--service', '*', '--target', 'dom0']);
  t.equal(r.status, 0);
  t.equal(r.out, 'digraph g {\n}\n', 'the `*` rules of the examples deny everything');
  // the stand-in for "any other service" is no service the policy names, whatever --service keeps
  const named = t.testdir({
    'policy.d': { '50-a.policy': 'qrexec-policy-graph.OtherService * work personal allow\n* * @anyvm @anyvm deny\n' },
  });
  r = await graph(['--path', path.join(named, 'policy.d'), '--legacy-path', path.join(named, 'none'), '--system-info', EX_SI, '--service', '*']);
  t.equal(r.status, 0);
  t.equal(r.out, 'digraph g {\n}\n', 'work -> personal is allowed only for the service the rule names');
  // --help, --version of the drop-in
  r = await graph(['--help'], true);
  t.equal(r.status, 0);
  t.match(r.out, /^usage: qrexec-policy-graph \[options\]/);
  for (const opt of ['--include-ask', '--source', '--target', '--service', '--output', '--policy-dir', '--system-info', '--skip-labels', '--full-output', '--format'])
    t.ok(r.out.includes(opt), opt);
  r = await graph(['--version'], true);
  t.equal(r.status, 0);
  t.match(r.out, /^\d+\.\d+\.\d+/);
  r = await graph(['--help']);
  t.equal(r.status, 0);
  t.match(r.out, /qrexec-policy graph/);
});

t.test('errors: one line naming the bad value, file or line; no graph', async (t) => {
  const dir = t.testdir({
    bad: { '10-bad.policy': 'qubes.Gpg * work\n' },
    legacy: { 'qubes.Broken': 'work vault allow,bogus=1\n' },
    'si.json': JSON.stringify(SYSTEM),
  });
  const base = ['--path', EXAMPLES];
  const cases: Array<[string[], number, RegExp, boolean?]> = [
    [['--target', '@anyvm'], 2, /^qrexec-policy graph: --target @anyvm is not a valid call target\nRun 'qrexec-policy graph --help' for usage\.\n$/],
    [['--source', '@default'], 2, /^qrexec-policy graph: --source @default is not a valid call source\nRun 'qrexec-policy graph --help' for usage\.\n$/],
    [['--source', 'nosuch'], 2, /^qrexec-policy graph: --source nosuch matches no qube in the system info\nRun 'qrexec-policy graph --help' for usage\.\n$/],
    [['--service', 'bad/svc'], 2, /^qrexec-policy graph: --service bad\/svc is not a valid service\nRun 'qrexec-policy graph --help' for usage\.\n$/],
    [['--service', ','], 2, /^qrexec-policy graph: --service needs a value\nRun 'qrexec-policy graph --help' for usage\.\n$/],
    [['--format', 'svg'], 2, /Invalid values/],
    [['--bogus'], 2, /^qrexec-policy graph: unknown option --bogus\n/],
    [['--skip-label'], 2, /^qrexec-policy graph: unknown option --skip-label \(did you mean --skip-labels\?\)\n/],
    [['--source'], 2, /^qrexec-policy-graph: --source needs a value\nRun 'qrexec-policy-graph --help' for usage\.\n$/, true],
    [['extra'], 2, /^qrexec-policy-graph: unexpected argument "extra"\nRun 'qrexec-policy-graph --help' for usage\.\n$/, true],
    [['--path', path.join(dir, 'bad')], 1, new RegExp(`^qrexec-policy graph: the policy does not load, so every call is denied:\\n  ${path.join(dir, 'bad')}/10-bad.policy:1: wrong number of fields\\n$`)],
    [['--legacy', '--legacy-path', path.join(dir, 'legacy')], 1, /does not load.*\n {2}.*qubes\.Broken:1: invalid action parameter syntax|does not load.*\n {2}.*qubes\.Broken:1:/],
    [['--legacy', '--legacy-path', path.join(dir, 'nosuch')], 4, /^qrexec-policy graph: could not decide: .*nosuch: the legacy policy directory does not exist\n$/],
    [['--path', path.join(dir, 'nosuch')], 4, /^qrexec-policy graph: could not decide: .*nosuch: cannot read the policy directory: does not exist\n$/],
    [['--output', path.join(dir, 'no/such/dir.dot')], 1, /^qrexec-policy graph: cannot write .*no\/such\/dir\.dot: does not exist\n$/],
    [['--output', '/dev/full'], 1, /^qrexec-policy graph: cannot write \/dev\/full: no space left on the device\n$/],
    [['--system-info', path.join(dir, 'nosuch.json')], 4, /^qrexec-policy graph: could not decide: cannot read system info .*nosuch\.json: does not exist\n$/],
  ];
  for (const [args, status, msg, drop] of cases) {
    // (a single-value option given twice becomes a list in yargs: never repeat one here)
    const si = args.includes('--system-info') ? [] : ['--system-info', path.join(dir, 'si.json')];
    const legacy = args.includes('--legacy-path') ? [] : ['--legacy-path', path.join(EXAMPLES, 'legacy')];
    const r = await graph([...base, ...si, ...legacy, ...args], drop);
    t.equal(r.status, status, args.join(' '));
    t.match(r.err, msg, args.join(' '));
    t.equal(r.out.includes('digraph'), false, 'no graph');
  }
  // runGraph called directly checks --format too: a usage error, for the command line to report
  await t.rejects(runGraph({ format: 'svg' }, captureIo().io), { name: 'UsageError', message: '--format svg: expected dot or json' });
});

const HAS_R40_DIR = fs.existsSync('/etc/qubes-rpc/policy') && 'this machine has /etc/qubes-rpc/policy';

t.test('--legacy without --legacy-path reads /etc/qubes-rpc/policy', { skip: HAS_R40_DIR }, async (t) => {
  const r = await graph(['--legacy', '--system-info', EX_SI]);
  t.equal(r.status, 4);
  t.equal(r.err, 'qrexec-policy graph: could not decide: /etc/qubes-rpc/policy: the legacy policy directory does not exist\n');
});

t.test('runGraph called directly: defaults, single values', async (t) => {
  const c = captureIo();
  const status = await runGraph({ path: [EXAMPLES], legacyPath: path.join(EXAMPLES, 'legacy'), systemInfo: EX_SI, source: 'work', service: 'qubes.Gpg' }, c.io);
  t.equal(status, 0);
  t.equal(c.out, 'digraph g {\n  "work" [color = "blue", penwidth = 3];\n  "vault" [color = "black", penwidth = 3];\n  "work" -> "vault" [label="qubes.Gpg" color=red];\n}\n');
});

t.test('--legacy: the R4.0 files and nothing else; --service * asks for a file none has', async (t) => {
  const r = await graph([...exArgs, '--legacy', '--service', '*', '--service', 'qubes.UpdatesProxy', '--full-output']);
  t.equal(r.status, 0);
  t.match(r.out, /"fedora-42" -> "sys-net" \[label="qubes.UpdatesProxy allow target=sys-net" color=red\]/);
  t.notMatch(r.out, /label="\*/);
  // in-memory legacy files: a generic file falls through to nothing under --legacy
  const lp = new LegacyPolicy({ legacyPath: LEGACY_DIR, fs: memoryFileSource({ [`${LEGACY_DIR}/x.Y`]: 'work vault allow\n' }) });
  const space: Space = { sources: ['work'], targets: ['vault', 'personal'], pairs: [{ service: 'x.Y', argument: null }], otherService: 'o.O' };
  t.same([...graphEdges(lp, si, space, false)].map((e) => e.target), ['vault']);
  // a legacy file that does not load denies its service: no edges, whatever is asked
  const broken = new LegacyPolicy({ legacyPath: LEGACY_DIR, fs: memoryFileSource({ [`${LEGACY_DIR}/x.Y`]: 'work vault\n' }) });
  t.same([...graphEdges(broken, si, { ...space, sources: ['work', 'personal'] }, true)], []);
});

t.test('the bundled drop-in runs as a process', async (t) => {
  if (!fs.existsSync(BIN.graph)) {
    t.fail('dist/bin is missing: run `npm run build`');
    return;
  }
  const r = run(BIN.graph, [...exArgs, '--service', 'qubes.Gpg', '--source', 'work', 'untrusted', '--include-ask']);
  t.equal(r.status, 0);
  t.equal(r.stderr, '');
  t.equal(
    r.stdout,
    [
      'digraph g {',
      '  "work" [color = "blue", penwidth = 3];',
      '  "vault" [color = "black", penwidth = 3];',
      '  "work" -> "vault" [label="qubes.Gpg" color=red];',
      '  "untrusted" [color = "red", penwidth = 3];',
      '  "untrusted" -> "vault" [label="qubes.Gpg" color=orange];',
      '}',
      '',
    ].join('\n'),
  );
});
