/**
 * qrexec-policy convert / qrexec-legacy-convert: the proof of equivalence
 * (every request of a system evaluated against the R4.0 files through
 * !compat-4.0 and against the converted file gives the same decision, by
 * the same rule), the converted text (golden file for policy.d-examples),
 * what cannot be converted, the options and the errors.
 */
import t, { type Test } from 'tap';
import { matchGolden } from '../helpers/golden.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runConvert, DEFAULT_OUTPUT_NAME } from '../../src/convert/cli.js';
import { loadLegacyDir } from '../../src/convert/load.js';
import { inexpressible, renderConverted } from '../../src/convert/render.js';
import { verifyConverted } from '../../src/convert/verify.js';
import { standaloneMain } from '../../src/cli/standalone.js';
import { command as convertCommand } from '../../src/cli/commands/convert.js';
import { umbrellaMain } from '../../src/cli/umbrella.js';
import { memoryFileSource, nodeFileSource } from '../../src/parser/file-source.js';
import { loadPolicySet, type Policy } from '../../src/policy/policy.js';
import { evaluate } from '../../src/policy/evaluate.js';
import type { Decision } from '../../src/policy/decision.js';
import type { Rule } from '../../src/parser/rule.js';
import { readSystemInfoFile } from '../../src/io/sources.js';
import { systemInfoFromJson, type SystemInfo } from '../../src/policy/system-info.js';
import { BIN, captureIo, captureProcess, run } from '../cli/fixtures/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLES = path.join(ROOT, 'policy.d-examples');
const EX_LEGACY = path.join(EXAMPLES, 'legacy');
const GOLDEN = path.join(ROOT, 'test/convert/golden');

/** The convert command in process (umbrella, or the drop-in). */
async function convert(argv: string[], drop = false) {
  const c = captureIo();
  const cap = await captureProcess(() =>
    drop ? standaloneMain('qrexec-legacy-convert', convertCommand, argv, c.io) : umbrellaMain(['convert', ...argv], c.io),
  );
  return { status: cap.value, out: c.out + cap.stdout, err: c.err + cap.stderr };
}

/** Write a tree of files (relative paths) under `dir`. */
function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
}

// ------------------------------------------------------- a generated legacy tree

/*
 * A generated R4.0 policy directory (deterministic): many services, generic
 * and per-argument files, every token and parameter of the R4.0 format in
 * both spellings (`$`/`@`, commas/blanks), comments, `$include:` and
 * `!include` files, plus the policy.d files around `!compat-4.0` so that
 * falling through (or not) makes a difference.
 */
const GEN_SYSTEM = {
  domains: {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', default_dispvm: 'default-dvm' },
    'fedora-41': { type: 'TemplateVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000001', tags: ['tpl'] },
    'default-dvm': { type: 'AppVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000002', template_for_dispvms: true, tags: ['dvm'], default_dispvm: 'default-dvm' },
    'web-dvm': { type: 'AppVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000003', template_for_dispvms: true, tags: ['dvm', 'web'], power_state: 'Running' },
    work: { type: 'AppVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000004', tags: ['work'], default_dispvm: 'default-dvm', power_state: 'Running' },
    personal: { type: 'AppVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000005', tags: ['personal'], default_dispvm: 'web-dvm' },
    untrusted: { type: 'AppVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000006', tags: ['web'], default_dispvm: 'web-dvm', power_state: 'Running' },
    vault: { type: 'AppVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000007', tags: ['vault'], default_dispvm: null },
    'sys-net': { type: 'AppVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000008', tags: ['sys'], default_dispvm: 'default-dvm', power_state: 'Running' },
    'sys-usb': { type: 'DispVM', uuid: 'bbbbbbbb-0000-4000-8000-000000000009', tags: ['sys'], default_dispvm: 'default-dvm', power_state: 'Running' },
    mgmt: { type: 'AppVM', uuid: 'bbbbbbbb-0000-4000-8000-00000000000a', internal: true, default_dispvm: 'default-dvm' },
  },
};

const QUBES = ['work', 'personal', 'untrusted', 'vault', 'sys-net', 'sys-usb', 'fedora-41', 'mgmt'];

/** Deterministic numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296;
}

interface GeneratedTree {
  /** Files of the legacy directory, by relative path (`include/...` for included files). */
  legacy: Record<string, string>;
  /** policy.d files; 35-compat.policy holds `!compat-4.0`. */
  policy: Record<string, string>;
  /** Every service the legacy files and the policy.d files name. */
  services: string[];
  /** Arguments worth asking for, by service. */
  args: Record<string, string[]>;
}

function generateLegacyTree(services = 30, seed = 5): GeneratedTree {
  const r = rng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const dollar = (tok: string) => (r() < 0.5 ? tok.replace(/@/g, '$') : tok);
  const source = () => dollar(pick(['@anyvm', '@anyvm', '*', ...QUBES, '@tag:work', '@tag:web', '@type:AppVM', '@type:TemplateVM', 'dom0', '@adminvm', 'uuid:bbbbbbbb-0000-4000-8000-000000000004', 'nosuch']));
  const target = () =>
    dollar(pick(['@anyvm', '@anyvm', '*', ...QUBES, '@default', '@dispvm', '@dispvm:default-dvm', '@dispvm:web-dvm', '@dispvm:@tag:web', '@adminvm', 'dom0', '@tag:sys', '@type:AppVM', 'uuid:bbbbbbbb-0000-4000-8000-000000000007', 'nosuch']));
  const redirect = () => dollar(pick([...QUBES, '@adminvm', 'dom0', '@dispvm', '@dispvm:default-dvm', '@dispvm:web-dvm', 'uuid:bbbbbbbb-0000-4000-8000-000000000005', 'nosuch']));
  const sep = () => (r() < 0.5 ? ',' : ' ');
  const action = (tgt: string) => {
    const x = r();
    const params: string[] = [];
    let act: string;
    if (x < 0.4) {
      act = 'allow';
      if (tgt.endsWith('default') || r() < 0.3) params.push(`target=${redirect()}`);
      if (r() < 0.15) params.push('user=root');
      if (r() < 0.15) params.push(`autostart=${pick(['yes', 'no'])}`);
      if (r() < 0.1) params.push('notify=yes');
    } else if (x < 0.7) {
      act = 'ask';
      if (r() < 0.25) params.push(`target=${redirect()}`);
      if (r() < 0.4) params.push(`default_target=${redirect()}`);
      if (r() < 0.15) params.push('autostart=no');
      if (r() < 0.1) params.push('user=user');
    } else {
      act = 'deny';
      if (r() < 0.3) params.push(`notify=${pick(['yes', 'no'])}`);
    }
    return params.length ? act + sep() + params.join(sep()) : act;
  };
  const ruleLine = () => {
    const tgt = target();
    const src = source();
    const ws = r() < 0.5 ? '\t' : '   ';
    return `${src}${ws}${tgt}${ws}${action(tgt)}`;
  };
  const body = (n: number) => {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      if (r() < 0.2) lines.push(pick(['', '# a comment', '## a section', '   # indented comment']));
      lines.push(ruleLine());
    }
    return lines;
  };

  const legacy: Record<string, string> = {
    'include/common-a': ['## shared rules', ...body(3)].join('\n') + '\n',
    'include/common-b': ['# more shared rules', ...body(2), '$include:include/common-a'].join('\n') + '\n',
  };
  const names: string[] = [];
  const args: Record<string, string[]> = {};
  for (let s = 0; s < services; s++) {
    const svc = `gen.Service${s}${pick(['', '_x', '-y', '.z'])}`;
    names.push(svc);
    const specific = Math.floor(r() * 3);
    args[svc] = ['', '+', '+other'];
    for (let a = 0; a < specific; a++) {
      const arg = `+arg${a}${pick(['', '.v', '+w'])}`;
      args[svc]!.push(arg);
      legacy[svc + arg] = [`## ${svc}${arg}`, ...body(1 + Math.floor(r() * 3))].join('\n') + '\n';
    }
    // a few services have only per-argument files: their other calls fall through to policy.d
    if (specific === 0 || r() < 0.8) {
      const lines = [`## R4.0 policy for ${svc}`, ...body(Math.floor(r() * 5))];
      if (r() < 0.25) lines.splice(1 + Math.floor(r() * (lines.length - 1)), 0, pick(['$include:include/common-a', '!include include/common-b', `$include:${'include/common-a'}`]));
      legacy[svc] = lines.join('\n') + (r() < 0.9 ? '\n' : '');
    }
  }
  // R4.0 leftovers the loader skips; a file whose name gives no service (its rules can never apply)
  legacy['gen.Service0.rpmsave'] = '$anyvm $anyvm allow\n';
  legacy['.hidden'] = '$anyvm $anyvm allow\n';
  legacy['+orphan'] = '# no service\n$anyvm $anyvm allow\n';

  const around = (n: number) => {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const tgt = target().replace(/\$/g, '@');
      lines.push(`${pick(names)}\t${pick(['*', '*', '+arg0', '+other'])}\t${source().replace(/\$/g, '@')}\t${tgt}\t${action(tgt).replace(/,/g, ' ').replace(/\$/g, '@')}`);
    }
    return lines.join('\n') + '\n';
  };
  const policy = {
    '30-user.policy': around(services / 2),
    '35-compat.policy': '# R4.0 files are read here\n!compat-4.0\n',
    '90-default.policy': around(services) + 'gen.Unnamed * @anyvm @anyvm ask\n* * @anyvm @adminvm allow autostart=no\n* * @anyvm @anyvm deny\n',
  };
  return { legacy, policy, services: [...names, 'gen.Unnamed', 'other.Service'], args };
}

// ------------------------------------------------------------------ the proof

interface Side {
  policy: Policy;
  /** Where a deciding rule comes from, comparable across the two sides. */
  origin: (r: Rule) => string;
}

const realpaths = new Map<string, string>();
const real = (f: string): string => {
  let r = realpaths.get(f);
  if (r === undefined) realpaths.set(f, (r = fs.existsSync(f) ? fs.realpathSync(f) : f));
  return r;
};

/**
 * A policy read from `policyDir`. Rules are named relative to `policyDir`,
 * R4.0 rules relative to the legacy directory, and the rules of the
 * converted file (if any) by the R4.0 rules they came from.
 */
function side(policyDir: string, legacyDir: string, converted?: { file: string; from: readonly Rule[] }): Side {
  const policy = loadPolicySet({ paths: [policyDir], legacyPath: legacyDir });
  const legacy = real(legacyDir);
  const named = (r: Rule) => {
    const f = real(r.file);
    const where = f.startsWith(legacy + path.sep) ? `legacy/${path.relative(legacy, f)}` : path.relative(real(policyDir), f);
    return `${where}:${r.line}${r.format === 'implicit' ? ' (implicit)' : ''}`;
  };
  const stands = new Map<Rule, Rule>();
  if (converted) {
    const mine = policy.rules.filter((r) => real(r.file) === real(converted.file));
    if (mine.length !== converted.from.length) throw new Error(`${mine.length} converted rules read, ${converted.from.length} expected`);
    mine.forEach((r, i) => stands.set(r, converted.from[i]!));
  }
  return { policy, origin: (r) => named(stands.get(r) ?? r) };
}

/** What a decision says, with the deciding rule by origin (reasons name files, so they are left out). */
function meaning(d: Decision, s: Side): string {
  const common = { result: d.result, rule: d.rule ? s.origin(d.rule) : null, requested: d.requestedTarget };
  switch (d.result) {
    case 'allow':
      return JSON.stringify({ ...common, target: d.target, user: d.user, autostart: d.autostart, notify: d.notify });
    case 'ask':
      return JSON.stringify({ ...common, targets: d.targets, default: d.defaultTarget, user: d.user, autostart: d.autostart, notify: d.notify });
    case 'deny':
      return JSON.stringify({ ...common, kind: d.kind, notify: d.notify });
  }
}

/** Every (source, target, service) of the system, evaluated on both sides; returns the count and the first differences. */
function compareAll(a: Side, b: Side, si: SystemInfo, services: Record<string, string[]>): { requests: number; differ: string[]; allow: number; ask: number; byLegacy: number } {
  const qubes = [...si.qubes.values()];
  const sources = [...qubes.map((q) => q.name), '@adminvm'];
  const targets = [
    ...qubes.map((q) => q.name),
    ...qubes.filter((q) => q.templateForDispvms).map((q) => '@dispvm:' + q.name),
    '@dispvm',
    '@default',
    '',
    '@adminvm',
    `uuid:${qubes[1]!.uuid}`,
    'nosuch',
  ];
  const differ: string[] = [];
  let requests = 0;
  let allow = 0;
  let ask = 0;
  let byLegacy = 0;
  for (const [svc, args] of Object.entries(services))
    for (const arg of args)
      for (const source of sources)
        for (const target of targets)
          for (const assumeYesForAsk of [false, true]) {
            if (assumeYesForAsk && target !== 'work' && target !== '@dispvm:default-dvm') continue;
            const req = { source, target, service: svc + arg, requestedSource: null };
            const da = evaluate(a.policy, si, req, { assumeYesForAsk });
            const db = evaluate(b.policy, si, req, { assumeYesForAsk });
            requests++;
            if (da.result === 'allow') allow++;
            if (da.result === 'ask') ask++;
            if (da.rule && a.origin(da.rule).startsWith('legacy/')) byLegacy++;
            const ma = meaning(da, a);
            const mb = meaning(db, b);
            if (ma !== mb && differ.length < 5) differ.push(`${source} -> ${target} ${svc}${arg}${assumeYesForAsk ? ' (yes)' : ''}:\n  ${ma}\n  ${mb}`);
          }
  return { requests, differ, allow, ask, byLegacy };
}

/** The services and arguments a policy names, with an argument no rule names and none at all. */
function servicesOf(p: Policy, extra: string[] = []): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const r of p.rules) {
    if (r.service === null || r.service === '') continue;
    (out[r.service] ??= new Set(['', '+', '+unnamed-arg'])).add(r.argument ?? '+');
  }
  for (const s of extra) out[s] ??= new Set(['', '+x']);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v]]));
}

/**
 * The three trees of the proof, on disk: A the R4.0 files through !compat-4.0;
 * B the converted file in place of the !compat-4.0 file; C the converted file
 * next to it while !compat-4.0 is still there (both read).
 */
async function prove(t: Test, dir: string, name: string, policyFiles: Record<string, string>, legacyDir: string, si: SystemInfo, extraServices: string[]) {
  const a = path.join(dir, 'a');
  const b = path.join(dir, 'b');
  const c = path.join(dir, 'c');
  for (const d of [a, b, c]) writeFiles(d, policyFiles);
  // B: `convert --output-name 35-compat.policy --force` replaces the file holding !compat-4.0
  let r = await convert(['--legacy-path', legacyDir, '--output-dir', b, '--output-name', '35-compat.policy', '--force']);
  t.equal(r.status, 0, `${name}: converted (${r.err.trim().split('\n').at(-1)})`);
  // C: the default name, read just before 35-compat.policy
  r = await convert(['--legacy-path', legacyDir, '--output-dir', c]);
  t.equal(r.status, 0);
  t.ok(fs.existsSync(path.join(c, DEFAULT_OUTPUT_NAME)));
  const bLines = fs.readFileSync(path.join(b, '35-compat.policy'), 'utf8').split('\n');
  t.notOk(bLines.some((l) => l.trim() === '!compat-4.0'), 'B has no !compat-4.0');

  const from = renderConverted(loadLegacyDir(legacyDir, nodeFileSource), 'x.policy').rules;
  const sideA = side(a, legacyDir);
  const sideB = side(b, legacyDir, { file: path.join(b, '35-compat.policy'), from });
  const sideC = side(c, legacyDir, { file: path.join(c, DEFAULT_OUTPUT_NAME), from });
  t.equal(sideA.policy.errors.length, 0, 'A loads');
  t.equal(sideB.policy.errors.length, 0, 'B loads');
  t.ok(sideA.policy.load.files.some((f) => real(f).startsWith(real(legacyDir))), 'A reads the R4.0 files');
  t.notOk(sideB.policy.load.files.some((f) => real(f).startsWith(real(legacyDir))), 'B reads no R4.0 file');
  const services = servicesOf(sideA.policy, extraServices);
  const ab = compareAll(sideA, sideB, si, services);
  t.same(ab.differ, [], `${name}: A and B decide ${ab.requests} requests alike (${ab.allow} allow, ${ab.ask} ask, ${ab.byLegacy} by R4.0 rules)`);
  t.ok(ab.allow > 0 && ab.ask > 0 && ab.byLegacy > 0, 'the requests exercise allow, ask and the R4.0 rules');
  // C reads the converted rules and then the R4.0 files again: the second copy never changes an answer
  const ac = compareAll(sideA, sideC, si, services);
  t.same(ac.differ, [], `${name}: with !compat-4.0 still read, the answers stay the same (${ac.requests} requests)`);
  return { services: Object.keys(services).length, requests: ab.requests };
}

t.test('proof: policy.d-examples and its legacy directory', async (t) => {
  const files = Object.fromEntries(
    fs
      .readdirSync(EXAMPLES, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !path.join(e.parentPath, e.name).startsWith(EX_LEGACY))
      .map((e) => {
        const full = path.join(e.parentPath, e.name);
        return [path.relative(EXAMPLES, full), fs.readFileSync(full, 'utf8')];
      }),
  );
  const si = readSystemInfoFile(path.join(EXAMPLES, 'system-info.json'));
  const r = await prove(t, t.testdir({}), 'policy.d-examples', files, EX_LEGACY, si, ['admin.vm.List', 'qubes.StartApp', 'qubes.UpdatesProxy']);
  t.ok(r.services >= 20, `${r.services} services`);
});

t.test('proof: a generated legacy directory with 30 services', async (t) => {
  const gen = generateLegacyTree(30);
  const dir = t.testdir({});
  const legacy = path.join(dir, 'legacy');
  writeFiles(legacy, gen.legacy);
  const si = systemInfoFromJson(GEN_SYSTEM);
  const services = Object.keys(gen.legacy).filter((n) => !n.startsWith('include/') && !n.startsWith('.') && !n.endsWith('.rpmsave'));
  t.ok(new Set(services.map((n) => n.split('+')[0])).size >= 20, `${services.length} legacy files`);
  const r = await prove(t, dir, 'generated', gen.policy, legacy, si, gen.services);
  t.ok(r.requests > 10000, `${r.requests} requests`);
});

// ------------------------------------------------------------ the converted text

t.test('the converted file for policy.d-examples (golden)', async (t) => {
  const r = await convert(['--legacy-path', EX_LEGACY]);
  t.equal(r.status, 0);
  const text = r.out.split(EX_LEGACY).join('policy.d-examples/legacy');
  const golden = path.join(GOLDEN, 'policy.d-examples.policy');
  matchGolden(t, golden, text);
  t.equal(
    r.err,
    [
      `qrexec-policy convert: ignoring ${EX_LEGACY}/include (not a file)`,
      `qrexec-policy convert: 6 rules and 2 implicit denies from 3 R4.0 files of ${EX_LEGACY} read back as the same rules`,
      '',
    ].join('\n'),
  );
  // order, $-tokens, commas, inlined include, implicit denies, comments carried over
  const rules = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  t.same(
    rules.map((l) => l.split(/\s+/).join(' ')),
    [
      'admin.vm.List * sys-gui @adminvm allow target=dom0',
      'admin.vm.List * sys-gui @anyvm allow target=dom0',
      'qubes.StartApp +firefox untrusted @dispvm allow',
      'qubes.StartApp +firefox @anyvm @dispvm:default-dvm allow',
      'qubes.StartApp +firefox @anyvm @anyvm deny',
      'qubes.StartApp +firefox @anyvm @adminvm deny',
      'qubes.UpdatesProxy * @type:TemplateVM @default allow target=sys-net',
      'qubes.UpdatesProxy * @anyvm @anyvm deny',
    ],
  );
  t.match(text, /# from include\/admin-global-ro, included here\n## Included by the read-only/);
  t.match(text, /# untrusted browses in a disposable from its default disposable template\nqubes\.StartApp/);
  t.match(text, /# implicit in R4\.0: what this file does not match is denied\n/);
});

t.test('what cannot be converted is reported and kept as a comment', async (t) => {
  const dir = t.testdir({
    legacy: {
      '+orphan': '# a file without a service\n$anyvm $anyvm allow\n',
      '+orphan2': 'work vault deny\n',
      'qubes.Ok': 'work vault allow\n',
    },
  });
  const r = await convert(['--legacy-path', path.join(dir, 'legacy')]);
  t.equal(r.status, 0, 'the rest is converted: those rules can never apply');
  t.match(r.err, new RegExp(`not converted: ${dir}/legacy/\\+orphan:2: its file name gives no service name, so it can never apply: \\$anyvm \\$anyvm allow\\n`));
  t.match(r.err, /not converted: .*\+orphan2:1: .*: work vault deny\n/);
  t.match(r.err, /1 rules and 0 implicit denies from 3 R4\.0 files/);
  t.match(r.out, /# NOT CONVERTED \(its file name gives no service name, so it can never apply\): \$anyvm \$anyvm allow\n/);
  t.match(r.out, /# NOT CONVERTED \(.*\): @anyvm @anyvm deny\n# NOT CONVERTED \(.*\): @anyvm @adminvm deny\n/, 'its implicit denies too');
  t.match(r.out, /\nqubes\.Ok {2}\* {2}work {2}vault {2}allow\n/);
  t.equal(inexpressible({ service: 'x' } as Rule), null);
});

t.test('links, includes outside the directory, comments without rules', async (t) => {
  const dir = fs.realpathSync(t.testdir({
    elsewhere: { shared: '# shared from elsewhere\nwork personal allow\n' },
    real: { 'qubes.Linked': '# linked file\nwork vault allow\n' },
    legacy: {
      'qubes.Abs': 'PLACEHOLDER',
      'qubes.Comments': '## only comments here\n\n## and more\n',
      'qubes.Mixed': '# top\n$include:include/x\n# after the include\nwork vault deny\n# trailing\n',
      include: { x: '# from x\nvault work ask\n' },
    },
  }));
  const legacy = path.join(dir, 'legacy');
  fs.writeFileSync(path.join(legacy, 'qubes.Abs'), `$include:${dir}/elsewhere/shared\n`);
  fs.symlinkSync(path.join(dir, 'real/qubes.Linked'), path.join(legacy, 'qubes.Linked'));
  const r = await convert(['--legacy-path', legacy]);
  t.equal(r.status, 0, r.err);
  t.match(r.out, new RegExp(`## === qubes\\.Abs .*\\n# from ${dir}/elsewhere/shared, included here\\n# shared from elsewhere\\nqubes\\.Abs `));
  t.match(r.out, /## === qubes\.Comments .*\n## only comments here\n\n## and more\n/);
  t.match(r.out, /## === qubes\.Linked .*\n# linked file\nqubes\.Linked /, 'a linked file is the file itself, not an include');
  t.match(r.out, /## === qubes\.Mixed .*\n# top\n# from include\/x, included here\n# from x\nqubes\.Mixed .*ask\n# after the include\nqubes\.Mixed .*deny\n# trailing\n/);
});

t.test('a directory name with a newline stays inside its comment', async (t) => {
  const dir = t.testdir({});
  const legacy = path.join(dir, 'odd\nname');
  writeFiles(legacy, { 'qubes.A': '$include:inc\u0007luded/x\n', 'inc\u0007luded/x': 'work vault allow\n' });
  const r = await convert(['--legacy-path', legacy]);
  t.equal(r.status, 0, r.err);
  t.match(r.out, /^## in .*odd\\u000aname\.\n/m);
  t.match(r.out, /^# from inc\\u0007luded\/x, included here\n/m);
});

t.test('the converter checks what it wrote by reading it back', async (t) => {
  const fsrc = memoryFileSource({ '/l/qubes.A': 'work vault allow\nwork @default ask,default_target=vault\n', '/l/qubes.B+x': '$anyvm $dispvm allow,user=u\n' });
  const load = loadLegacyDir('/l', fsrc);
  const conv = renderConverted(load, 'c.policy');
  t.same(verifyConverted(conv.text, 'c.policy', conv.rules), []);
  const lines = conv.text.split('\n');
  const ruleAt = (svc: string) => lines.findIndex((l) => l.startsWith(svc));
  const without = (i: number) => lines.filter((_, k) => k !== i).join('\n');
  const last = lines.length - 1 - [...lines].reverse().findIndex((l) => l.startsWith('qubes.B'));
  t.match(verifyConverted(without(last), 'c.policy', conv.rules), [/the rule of \/l\/qubes\.B\+x is missing/]);
  t.match(verifyConverted(without(ruleAt('qubes.B')), 'c.policy', conv.rules), [/the rule of \/l\/qubes\.B\+x:1 reads back differently/]);
  t.match(verifyConverted(conv.text + 'qubes.C * a b deny\n', 'c.policy', conv.rules), [/extra rule at line \d+/]);
  t.match(verifyConverted(conv.text.replace(/allow +user=u/, 'allow user=v'), 'c.policy', conv.rules), [/the rule of \/l\/qubes\.B\+x:1 reads back differently at line \d+/]);
  t.match(verifyConverted(conv.text + 'broken line\n', 'c.policy', conv.rules), [/does not load: \/converted\/c\.policy:\d+: wrong number of fields/]);
  t.match(verifyConverted(conv.text.replace(/^qubes\.A /m, 'qubes.Z '), 'c.policy', conv.rules), [/the rule of \/l\/qubes\.A:1 reads back differently/]);
});

// ------------------------------------------------------------ options and errors

t.test('--output-dir, --force, --dry-run, --output-name; the drop-in', async (t) => {
  const dir = t.testdir({ out: { 'keep.policy': 'x\n' } });
  const out = path.join(dir, 'out');
  const file = path.join(out, DEFAULT_OUTPUT_NAME);
  let r = await convert(['--legacy-path', EX_LEGACY, '--output-dir', out, '--dry-run']);
  t.equal(r.status, 0);
  t.equal(r.out, '');
  t.match(r.err, new RegExp(`would write ${file} \\(dry run\\)\\n$`));
  t.notOk(fs.existsSync(file), 'a dry run writes nothing');
  r = await convert(['--legacy-path', EX_LEGACY, '--dry-run']);
  t.equal(r.status, 0);
  t.equal(r.out, '', 'nor prints the file');
  r = await convert(['--legacy-path', EX_LEGACY, '--output-dir', out], true);
  t.equal(r.status, 0);
  t.match(r.err, new RegExp(`^qrexec-legacy-convert: .*\\n.*\\nqrexec-legacy-convert: wrote ${file}; now remove the !compat-4\\.0 line`));
  const text = fs.readFileSync(file, 'utf8');
  t.equal(text.split(EX_LEGACY).join('policy.d-examples/legacy'), fs.readFileSync(path.join(GOLDEN, 'policy.d-examples.policy'), 'utf8'));
  t.same(fs.readdirSync(out).sort(), [DEFAULT_OUTPUT_NAME, 'keep.policy'], 'no temporary file left');
  // never over an existing file without --force
  fs.writeFileSync(file, 'mine\n');
  r = await convert(['--legacy-path', EX_LEGACY, '--output-dir', out]);
  t.equal(r.status, 1);
  t.match(r.err, new RegExp(`${file} exists; not replaced \\(use --force to replace it\\)\\n$`));
  t.equal(fs.readFileSync(file, 'utf8'), 'mine\n');
  r = await convert(['--legacy-path', EX_LEGACY, '--output-dir', out, '--force']);
  t.equal(r.status, 0);
  t.equal(fs.readFileSync(file, 'utf8'), text);
  r = await convert(['--legacy-path', EX_LEGACY, '--output-dir', out, '--output-name', '36-other.policy']);
  t.equal(r.status, 0);
  t.ok(fs.existsSync(path.join(out, '36-other.policy')));
  // --help and --version
  r = await convert(['--help'], true);
  t.equal(r.status, 0);
  t.match(r.out, /^usage: qrexec-legacy-convert \[options\]/);
  for (const opt of ['--legacy-path', '--output-dir', '--output-name', '--dry-run', '--force']) t.ok(r.out.includes(opt), opt);
  r = await convert(['--help']);
  t.match(r.out, /qrexec-policy convert/);
});

t.test('errors: nothing written, one line naming the file, line or value', async (t) => {
  const dir = t.testdir({
    broken: { 'qubes.A': 'work vault allow\nwork vault\n', 'qubes.B': '$include:include/none\n', 'qubes.C+x': 'work vault allow,bogus=1\n' },
    cycle: { 'qubes.A': '$include:include/a\n', include: { a: '$include:include/a\n' } },
    empty: { 'qubes.A.rpmnew': 'x\n', sub: {} },
    out: {},
    'a-file': 'x',
  });
  let r = await convert(['--legacy-path', path.join(dir, 'broken'), '--output-dir', path.join(dir, 'out')]);
  t.equal(r.status, 1);
  t.equal(r.out, '');
  t.same(r.err.split('\n'), [
    `qrexec-policy convert: ${dir}/broken does not load (with !compat-4.0 every call would be denied); nothing converted:`,
    `  ${dir}/broken/qubes.A:2: wrong number of fields`,
    `  ${dir}/broken/qubes.B:1: not a file: ${dir}/broken/include/none`,
    `  ${dir}/broken/qubes.C+x:1: invalid parameters for action Allow: ['bogus=1']`,
    '',
  ]);
  t.same(fs.readdirSync(path.join(dir, 'out')), [], 'nothing written');
  r = await convert(['--legacy-path', path.join(dir, 'cycle')]);
  t.equal(r.status, 1);
  t.match(r.err, /include cycle: .*include\/a -> .*include\/a/);
  r = await convert(['--legacy-path', path.join(dir, 'nosuch')]);
  t.equal(r.status, 1);
  t.match(r.err, /^qrexec-policy convert: .*nosuch does not load .*\n {2}cannot read legacy policy directory .*nosuch: does not exist\n$/);
  r = await convert(['--legacy-path', path.join(dir, 'empty')]);
  t.equal(r.status, 0);
  t.equal(r.out, '');
  t.match(r.err, /ignoring .*empty\/sub \(not a file\)\n.*no R4\.0 policy files in .*empty; nothing to convert\n$/);
  r = await convert(['--legacy-path', EX_LEGACY, '--output-dir', path.join(dir, 'no/such')]);
  t.equal(r.status, 1);
  t.match(r.err, /cannot write .*no\/such\/35-compat-converted\.policy: does not exist\n$/);
  fs.mkdirSync(path.join(dir, 'out', DEFAULT_OUTPUT_NAME));
  r = await convert(['--legacy-path', EX_LEGACY, '--output-dir', path.join(dir, 'out'), '--force']);
  t.equal(r.status, 1);
  t.match(r.err, /cannot write .*out\/35-compat-converted\.policy: is a directory\n$/);
  t.same(fs.readdirSync(path.join(dir, 'out')), [DEFAULT_OUTPUT_NAME], 'the temporary file is gone');
  r = await convert(['--legacy-path', EX_LEGACY, '--output-dir', path.join(dir, 'a-file')]);
  t.equal(r.status, 1);
  t.match(r.err, /cannot write .*a-file\/35-compat-converted\.policy: a part of the path is not a directory\n$/);
  for (const bad of ['Upper.policy', 'x.txt', '.hidden.policy', 'a/b.policy']) {
    r = await convert(['--legacy-path', EX_LEGACY, '--output-name', bad]);
    t.equal(r.status, 2, bad);
    t.match(r.err, new RegExp(`^qrexec-policy convert: --output-name ${bad.replace('.', '\\.')}: a policy file name ends in \\.policy`));
  }
  r = await convert(['--bogus'], true);
  t.equal(r.status, 2);
  t.equal(r.err, "qrexec-legacy-convert: unknown option --bogus\nRun 'qrexec-legacy-convert --help' for usage.\n");
});

t.test('without --legacy-path: /etc/qubes-rpc/policy', { skip: fs.existsSync('/etc/qubes-rpc/policy') && 'this machine has /etc/qubes-rpc/policy' }, async (t) => {
  const c = captureIo();
  t.equal(await runConvert({}, c.io), 1);
  t.match(c.err, /^qrexec-policy convert: \/etc\/qubes-rpc\/policy does not load /);
});

t.test('the bundled drop-in runs as a process', async (t) => {
  if (!fs.existsSync(BIN.convert)) {
    t.fail('dist/bin is missing: run `npm run build`');
    return;
  }
  const r = run(BIN.convert, ['--legacy-path', EX_LEGACY]);
  t.equal(r.status, 0);
  t.equal(r.stdout.split(EX_LEGACY).join('policy.d-examples/legacy'), fs.readFileSync(path.join(GOLDEN, 'policy.d-examples.policy'), 'utf8'));
  t.match(r.stderr, /^qrexec-legacy-convert: ignoring /);
});
