/**
 * Random well-formed policy trees over the names of gen/system.ts: several
 * top-level `policy.d` files using every token, parameter and directive
 * (`!include`, `!include-dir`, `!include-service` with the service-file
 * format, `!compat-4.0` with an R4.0 directory using `$include:`), exotic
 * whitespace and line endings. A tree is plain data; `renderTree` writes it
 * under any pair of directories (in memory or on disk).
 *
 * Every included file is loaded exactly once, so a rule has one place in
 * the evaluation order (the "append after the deciding rule" property needs
 * that).
 */
import fc from 'fast-check';
import * as path from 'node:path';
import { NAMES, TAGS, uuidFor, ZERO_UUID } from './system.js';

export type Action = 'allow' | 'deny' | 'ask';

/** What a rule says, independent of the file format it is written in. */
export interface RuleSpec {
  service: string;
  argument: string;
  source: string;
  target: string;
  action: Action;
  params: string[];
}

/** Field separators and indentation: Python whitespace, as the parser splits it. */
export interface Layout {
  sep: string;
  indent: string;
  trail: string;
}

export type ServiceLine =
  | { kind: 'rule'; rule: RuleSpec; layout: Layout; dollar: boolean; commas: boolean }
  | { kind: 'comment'; text: string }
  | { kind: 'blank' }
  | { kind: 'include'; style: '$include:' | '!include'; abs: boolean; lines: ServiceLine[] };

export type PolicyLine =
  | { kind: 'rule'; rule: RuleSpec; layout: Layout }
  | { kind: 'comment'; text: string }
  | { kind: 'blank' }
  | { kind: 'include'; abs: boolean; lines: PolicyLine[] }
  | { kind: 'include-dir'; abs: boolean; files: PolicyLine[][] }
  | { kind: 'include-service'; service: string; argument: string; abs: boolean; lines: ServiceLine[] }
  | { kind: 'compat' };

export interface LegacyFile {
  /** `SVC` or `SVC+ARG` (or a name !compat-4.0 skips). */
  name: string;
  lines: ServiceLine[];
}

export interface PolicyTree {
  /** Top-level files; named `NN-genI.policy` with distinct NN, so byte order is list order. */
  files: PolicyLine[][];
  /** The R4.0 directory; `null`: it does not exist. */
  legacy: LegacyFile[] | null;
  eol: '\n' | '\r\n' | '\r';
}

export const SERVICES = ['svc.A', 'svc.B', 'qubes.Filecopy'] as const;
export const ARGUMENTS = ['+', '+a', '+b', '+a+b.c_D-e'] as const;
const U = (n: string) => `uuid:${uuidFor(n)}`;

export const SOURCE_TOKENS = [
  ...NAMES, 'dom0', '@adminvm', `uuid:${ZERO_UUID}`, '@anyvm', '*', ...TAGS.map((t) => `@tag:${t}`),
  '@type:AppVM', '@type:TemplateVM', '@type:AdminVM', '@type:RemoteVM', U('work'), U('personal'), U('dvm-a'),
  '@dispvm:dvm-a', '@dispvm:@tag:dvm', 'nobody', '$anyvm',
] as const;
export const TARGET_TOKENS = [
  ...SOURCE_TOKENS, '@default', '@dispvm', '@dispvm:dvm-b', `@dispvm:${U('dvm-a')}`, '@dispvm:@tag:t1',
] as const;
export const REDIRECT_TOKENS = [
  ...NAMES, 'dom0', '@adminvm', `uuid:${ZERO_UUID}`, U('personal'), U('dvm-b'), '@dispvm', '@dispvm:dvm-a', '@dispvm:dvm-b',
  `@dispvm:${U('dvm-b')}`, 'nobody',
] as const;

const weighted = <T>(...pairs: [number, fc.Arbitrary<T>][]): fc.Arbitrary<T> =>
  fc.oneof(...pairs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

const token = (list: readonly string[], common: string[]) =>
  weighted([4, fc.constantFrom(...common)], [2, fc.constantFrom(...list)]);

const serviceArg = weighted<[string, string]>(
  [1, fc.constant(['*', '*'])],
  [6, fc.tuple(fc.constantFrom(...SERVICES), weighted([3, fc.constant('*')], [2, fc.constantFrom(...ARGUMENTS)]))],
);

const yesNo = fc.constantFrom('yes', 'no');

/** A valid rule: parameters only where the action takes them, each once, in any order. */
export const arbRule: fc.Arbitrary<RuleSpec> = fc
  .record({
    sa: serviceArg,
    source: token(SOURCE_TOKENS, ['@anyvm', '@anyvm', 'work', 'personal', 'untrusted', '*']),
    target: token(TARGET_TOKENS, ['@anyvm', '@anyvm', 'work', 'personal', 'vault', '@default', '@dispvm', 'dom0', '@adminvm']),
    action: weighted<Action>([4, fc.constant('allow')], [3, fc.constant('deny')], [3, fc.constant('ask')]),
    redirect: weighted([3, fc.constant(null)], [1, fc.constantFrom(...REDIRECT_TOKENS)]),
    dflt: weighted([3, fc.constant(null)], [1, fc.constantFrom(...REDIRECT_TOKENS.filter((t) => t !== ''))]),
    user: weighted([4, fc.constant(null)], [1, fc.constantFrom('root', 'user')]),
    autostart: weighted([4, fc.constant(null)], [1, yesNo]),
    notify: weighted([3, fc.constant(null)], [1, yesNo]),
    order: fc.nat(),
  })
  .map(({ sa, source, target, action, redirect, dflt, user, autostart, notify, order }) => {
    const params: string[] = [];
    if (notify !== null) params.push(`notify=${notify}`);
    if (action !== 'deny') {
      // allow @default needs target= (SPEC §3)
      const r = action === 'allow' && target === '@default' && redirect === null ? 'work' : redirect;
      if (r !== null) params.push(`target=${r}`);
      if (user !== null) params.push(`user=${user}`);
      if (autostart !== null) params.push(`autostart=${autostart}`);
    }
    if (action === 'ask' && dflt !== null) params.push(`default_target=${dflt}`);
    // a rotation: parameters may come in any order
    const k = params.length ? order % params.length : 0;
    return { service: sa[0], argument: sa[1], source, target, action, params: [...params.slice(k), ...params.slice(0, k)] };
  });

/** Python whitespace the parser splits on (no line ends: those end the line). */
const EXOTIC = ['\t', '\u000b', '\u000c', '\u001c', '\u0085', '\u00a0', '\u2003', '\u3000'];
export const arbLayout: fc.Arbitrary<Layout> = fc.record({
  sep: weighted([8, fc.constant(' ')], [2, fc.constantFrom('  ', '\t', ' \t ')], [1, fc.constantFrom(...EXOTIC)]),
  indent: weighted([8, fc.constant('')], [1, fc.constantFrom(' ', '\t', '\u00a0')]),
  trail: weighted([8, fc.constant('')], [1, fc.constantFrom(' ', '\t', '\u3000')]),
});

const comment = fc.constantFrom('# comment', '#', '## --- section ---', '#!include not/a/directive', '# lint: ignore shadowed');

function serviceLines(depth: number): fc.Arbitrary<ServiceLine[]> {
  const rule = fc
    .record({ rule: arbRule, layout: arbLayout, dollar: fc.boolean(), commas: fc.boolean() })
    .map((r) => ({ kind: 'rule' as const, ...r }));
  const items: [number, fc.Arbitrary<ServiceLine>][] = [
    [8, rule],
    [1, comment.map((text) => ({ kind: 'comment' as const, text }))],
    [1, fc.constant({ kind: 'blank' as const })],
  ];
  if (depth > 0)
    items.push([
      1,
      fc
        .record({ style: fc.constantFrom<'$include:' | '!include'>('$include:', '!include'), abs: fc.boolean(), lines: serviceLines(depth - 1) })
        .map((r) => ({ kind: 'include' as const, ...r })),
    ]);
  return fc.array(weighted(...items), { maxLength: 5 });
}

function policyLines(depth: number): fc.Arbitrary<PolicyLine[]> {
  const items: [number, fc.Arbitrary<PolicyLine>][] = [
    [12, fc.record({ rule: arbRule, layout: arbLayout }).map((r) => ({ kind: 'rule' as const, ...r }))],
    [1, comment.map((text) => ({ kind: 'comment' as const, text }))],
    [1, fc.constant({ kind: 'blank' as const })],
    [
      1,
      fc
        .record({ sa: serviceArg, abs: fc.boolean(), lines: serviceLines(1) })
        .map(({ sa, abs, lines }) => ({ kind: 'include-service' as const, service: sa[0], argument: sa[1], abs, lines })),
    ],
  ];
  if (depth > 0) {
    items.push([1, fc.record({ abs: fc.boolean(), lines: policyLines(depth - 1) }).map((r) => ({ kind: 'include' as const, ...r }))]);
    items.push([
      1,
      fc
        .record({ abs: fc.boolean(), files: fc.array(policyLines(depth - 1), { maxLength: 3 }) })
        .map((r) => ({ kind: 'include-dir' as const, ...r })),
    ]);
  }
  return fc.array(weighted(...items), { maxLength: 16 });
}

/** An R4.0 directory: per-service and per-argument files, plus names !compat-4.0 passes over. */
export const arbLegacy: fc.Arbitrary<LegacyFile[]> = fc
  .uniqueArray(
    fc.record({
      name: weighted(
        [8, fc.tuple(fc.constantFrom(...SERVICES), fc.constantFrom('', ...ARGUMENTS)).map(([s, a]) => s + a)],
        [1, fc.constantFrom('.hidden', 'svc.A.rpmsave', 'svc.B.swp', 'svc.A+a.rpmnew', 'bad name', 'svc.Ä', '+a')],
      ),
      lines: serviceLines(1),
    }),
    { selector: (f) => f.name, maxLength: 5 },
  );

/** Where `!compat-4.0` goes: a top-level file and a line in it (taken modulo their counts). */
const compatAt = weighted([2, fc.constant(null)], [1, fc.tuple(fc.nat(), fc.nat())]);

export const arbTree: fc.Arbitrary<PolicyTree> = fc
  .record({
    files: fc.array(policyLines(1), { minLength: 1, maxLength: 4 }),
    compat: compatAt,
    legacy: fc.option(arbLegacy, { freq: 4 }),
    eol: weighted<'\n' | '\r\n' | '\r'>([8, fc.constant('\n')], [1, fc.constantFrom<'\r\n' | '\r'>('\r\n', '\r')]),
  })
  .map(({ files, compat, legacy, eol }) => {
    if (compat === null) return { files, legacy, eol };
    // one !compat-4.0 at most in the whole tree, in a top-level file; the R4.0 directory then exists
    const [f, at] = compat;
    const out = files.map((l) => [...l]);
    const target = out[f % out.length]!;
    target.splice(at % (target.length + 1), 0, { kind: 'compat' });
    return { files: out, legacy: legacy ?? [], eol };
  });

/** Where a rendered tree lives. */
export interface Dirs {
  policy: string;
  legacy: string;
}

export const MEM_DIRS: Dirs = { policy: '/etc/qubes/policy.d', legacy: '/etc/qubes-rpc/policy' };

export interface Rendered {
  /** Every file by absolute path. */
  files: Record<string, string>;
  /** Directories that exist even when empty. */
  dirs: string[];
  /** The top-level files in load order (absolute paths). */
  top: string[];
  /** The format each file is written in. */
  formats: Record<string, 'policy' | 'service'>;
}

/** `$anyvm` for `@anyvm` (the service-file format accepts both). */
function dollar(tok: string): string {
  return tok.startsWith('@') ? '$' + tok.slice(1) : tok;
}

function ruleText(r: RuleSpec, l: Layout): string {
  return l.indent + [r.service, r.argument, r.source, r.target, r.action, ...r.params].join(l.sep) + l.trail;
}

function serviceRuleText(r: RuleSpec, l: Layout, useDollar: boolean, commas: boolean): string {
  const tok = useDollar ? dollar : (t: string) => t;
  const params = r.params.map((p) => {
    const eq = p.indexOf('=');
    return p.slice(0, eq + 1) + tok(p.slice(eq + 1));
  });
  const action = commas ? [r.action, ...params].join(',') : [r.action, ...params].join(l.sep);
  return l.indent + [tok(r.source), tok(r.target), action].join(l.sep) + l.trail;
}

/** The top-level file name of index `i` (distinct two-digit prefixes keep the list order). */
export function topName(i: number): string {
  return `${String(10 + i * 10).padStart(2, '0')}-gen${i}.policy`;
}

/** Write a tree as files under `dirs`. */
export function renderTree(tree: PolicyTree, dirs: Dirs = MEM_DIRS): Rendered {
  const files: Record<string, string> = {};
  const formats: Record<string, 'policy' | 'service'> = {};
  const extraDirs: string[] = [dirs.policy];
  let n = 0;
  const ref = (base: string, rel: string, abs: boolean) => (abs ? path.posix.join(base, rel) : rel);

  const service = (lines: ServiceLine[], base: string): string[] =>
    lines.map((l) => {
      switch (l.kind) {
        case 'rule':
          return serviceRuleText(l.rule, l.layout, l.dollar, l.commas);
        case 'comment':
          return l.text;
        case 'blank':
          return '';
        case 'include': {
          const rel = `include/sinc-${n++}`;
          files[path.posix.join(base, rel)] = join(service(l.lines, base));
          formats[path.posix.join(base, rel)] = 'service';
          const p = ref(base, rel, l.abs);
          return l.style === '$include:' ? `$include:${p}` : `!include ${p}`;
        }
      }
    });
  const policy = (lines: PolicyLine[]): string[] =>
    lines.map((l) => {
      switch (l.kind) {
        case 'rule':
          return ruleText(l.rule, l.layout);
        case 'comment':
          return l.text;
        case 'blank':
          return '';
        case 'include': {
          const rel = `include/inc-${n++}`;
          files[path.posix.join(dirs.policy, rel)] = join(policy(l.lines));
          formats[path.posix.join(dirs.policy, rel)] = 'policy';
          return `!include ${ref(dirs.policy, rel, l.abs)}`;
        }
        case 'include-dir': {
          const rel = `incdir-${n++}`;
          const dir = path.posix.join(dirs.policy, rel);
          extraDirs.push(dir);
          l.files.forEach((f, i) => {
            files[path.posix.join(dir, `${10 + i}-part.policy`)] = join(policy(f));
            formats[path.posix.join(dir, `${10 + i}-part.policy`)] = 'policy';
          });
          return `!include-dir ${ref(dirs.policy, rel, l.abs)}`;
        }
        case 'include-service': {
          const rel = `include/svc-${n++}`;
          files[path.posix.join(dirs.policy, rel)] = join(service(l.lines, dirs.policy));
          formats[path.posix.join(dirs.policy, rel)] = 'service';
          return `!include-service ${l.service} ${l.argument} ${ref(dirs.policy, rel, l.abs)}`;
        }
        case 'compat':
          return '!compat-4.0';
      }
    });
  const join = (lines: string[]) => (lines.length ? lines.join(tree.eol) + tree.eol : '');

  const top = tree.files.map((f, i) => {
    const file = path.posix.join(dirs.policy, topName(i));
    files[file] = join(policy(f));
    formats[file] = 'policy';
    return file;
  });
  if (tree.legacy !== null) {
    extraDirs.push(dirs.legacy);
    for (const f of tree.legacy) {
      files[path.posix.join(dirs.legacy, f.name)] = join(service(f.lines, dirs.legacy));
      formats[path.posix.join(dirs.legacy, f.name)] = 'service';
    }
  }
  return { files, dirs: extraDirs, top, formats };
}

/** The rules of service-format lines (with what they include) for a service and argument. */
export function serviceFileRules(lines: ServiceLine[], svc: string, arg: string, out: RuleSpec[] = []): RuleSpec[] {
  for (const l of lines) {
    if (l.kind === 'rule') {
      // the service-file format reads `$` as `@` everywhere on the line
      const d = (s: string) => s.replaceAll('$', '@');
      out.push({ ...l.rule, service: svc, argument: arg, source: d(l.rule.source), target: d(l.rule.target), params: l.rule.params.map(d) });
    } else if (l.kind === 'include') serviceFileRules(l.lines, svc, arg, out);
  }
  return out;
}

/** Whether `!compat-4.0` and `--legacy` read an R4.0 file of this name (SPEC §4.2). */
export function isLegacyPolicyName(name: string): boolean {
  return /^[A-Za-z0-9._+-]+$/.test(name) && !/\.(rpmsave|rpmnew|swp)$/.test(name) && !name.startsWith('.');
}

/** Every rule of a tree with the service and argument it applies to (the order is not the load order). */
export function allRules(tree: PolicyTree): RuleSpec[] {
  const out: RuleSpec[] = [];
  const service = (lines: ServiceLine[], svc: string, arg: string) => serviceFileRules(lines, svc, arg, out);
  const policy = (lines: PolicyLine[]) => {
    for (const l of lines) {
      if (l.kind === 'rule') out.push(l.rule);
      else if (l.kind === 'include') policy(l.lines);
      else if (l.kind === 'include-dir') l.files.forEach(policy);
      else if (l.kind === 'include-service') service(l.lines, l.service, l.argument);
      else if (l.kind === 'compat')
        for (const f of tree.legacy ?? []) {
          const plus = f.name.indexOf('+');
          if (isLegacyPolicyName(f.name))
            service(f.lines, plus < 0 ? f.name : f.name.slice(0, plus), plus < 0 ? '*' : f.name.slice(plus));
        }
    }
  };
  tree.files.forEach(policy);
  return out;
}
