/**
 * Policy trees whose includes the kernel resolves: a fixed small world of
 * files, directories and symbolic links (a directory link inside policy.d,
 * one pointing outside it, a file link, a broken link, top-level `.policy`
 * links), different rules in every file, and directive lines that reach
 * them by every spelling: relative, `./`, `dir/..`, `lnk/..` (where the
 * kernel and plain text disagree on the file meant), absolute, missing, a
 * directory where a file is wanted and the reverse, self-inclusion, and
 * chains of includes around the depth limit.
 */
import fc from 'fast-check';
import { NAMES } from '../../test/property/gen/system.js';
import type { RuleSpec } from '../../test/property/gen/policy.js';
import type { Layout, Place } from '../lib/case.js';
import { arbRuleOf, BASE_SHAPE } from './rules.js';

/** Files of the world (relative to the case root; `.policy` names under a directory for !include-dir). */
const WORLD_FILES = [
  'policy.d/include/a',
  'policy.d/include/b',
  'policy.d/x',
  'policy.d/sub/x',
  'policy.d/sub/deeper/50-c.policy',
  'policy.d/sub/deeper/60-d.policy',
  'policy.d/sub/s',
  'policy.d/s',
  'elsewhere/x',
  'elsewhere/s',
  'elsewhere/deeper/50-e.policy',
] as const;

/** Symbolic links: [where, what it says]; `{root}` is the case root. */
const WORLD_LINKS: ReadonlyArray<[string, string]> = [
  ['policy.d/lnk', 'sub/deeper'],
  ['policy.d/elnk', '{root}/elsewhere/deeper'],
  ['policy.d/include/flink', '../sub/x'],
  ['policy.d/broken', 'nowhere'],
  ['policy.d/70-linked.policy', 'sub/x'],
  ['policy.d/75-dirlink.policy', 'sub'],
  ['policy.d/76-broken.policy', 'gone'],
];

const INCLUDE_PATHS = [
  'include/a', 'include/b', './include/a', 'sub/../include/a', 'lnk/../x', 'elnk/../x', 'lnk/50-c.policy', 'include/flink',
  'include/../x', '{root}/elsewhere/x', '{root}/policy.d/lnk/../x', 'include/missing', 'include', 'broken', 'x', 'sub/x',
  'lnk/../../x', 'elnk/../s',
];
const INCLUDE_DIRS = ['sub/deeper', 'lnk', 'elnk', '{root}/elsewhere/deeper', 'include/a', 'missing-dir', 'lnk/..', 'sub', '.'];
const SERVICE_PATHS = ['s', 'sub/s', 'lnk/../s', 'elnk/../s', '{root}/elsewhere/s', 'include/a', 'missing'];

type Directive =
  | { kind: 'include'; path: string }
  | { kind: 'include-dir'; path: string }
  | { kind: 'include-service'; service: string; argument: string; path: string }
  | { kind: 'chain'; depth: number };

const arbDirective: fc.Arbitrary<Directive> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...INCLUDE_PATHS).map((path) => ({ kind: 'include' as const, path })) },
  { weight: 2, arbitrary: fc.constantFrom(...INCLUDE_DIRS).map((path) => ({ kind: 'include-dir' as const, path })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom('svc.A', 'svc.B', '*'), fc.constantFrom('*', '+a', '+'), fc.constantFrom(...SERVICE_PATHS))
      .map(([service, argument, path]) => ({ kind: 'include-service' as const, service, argument: service === '*' ? '*' : argument, path })),
  },
  { weight: 1, arbitrary: fc.constantFrom(2, 20, 31, 32, 33, 40).map((depth) => ({ kind: 'chain' as const, depth })) },
);

const rule = arbRuleOf({
  ...BASE_SHAPE,
  sources: ['@anyvm', 'work', 'personal', '*'],
  targets: ['@anyvm', ...NAMES.slice(0, 5), '@default', '@dispvm'],
  redirects: ['vault', 'work', 'personal', '@dispvm'],
  anyServiceRate: 0.2,
});

const ruleLine = (r: RuleSpec) => [r.service, r.argument, r.source, r.target, r.action, ...r.params].join(' ');
const serviceLine = (r: RuleSpec) => [r.source, r.target, [r.action, ...r.params].join(',')].join(' ');

export interface IncludeCase {
  layout: (at: Place) => Layout;
  /** Every rule written anywhere (for aiming requests). */
  rules: RuleSpec[];
}

export const arbIncludeLayout: fc.Arbitrary<IncludeCase> = fc
  .record({
    // rules of every world file; service files get service-format lines
    contents: fc.array(fc.array(rule, { maxLength: 3 }), { minLength: WORLD_FILES.length, maxLength: WORLD_FILES.length }),
    top: fc.array(fc.array(fc.oneof({ weight: 2, arbitrary: rule.map((r) => ({ rule: r })) }, { weight: 3, arbitrary: arbDirective.map((d) => ({ d })) }), { maxLength: 6 }), {
      minLength: 1,
      maxLength: 3,
    }),
    // include/b includes itself now and then (a cycle)
    cycle: fc.nat(9).map((n) => n === 0),
  })
  .map(({ contents, top, cycle }) => {
    const rules: RuleSpec[] = [...contents.flat(), ...top.flatMap((f) => f.flatMap((l) => ('rule' in l ? [l.rule] : [])))];
    const layout = (at: Place): Layout => {
      const abs = (rel: string) => `${at.root}/${rel}`;
      const fill = (p: string) => p.replaceAll('{root}', at.root);
      const files: Record<string, string> = {};
      WORLD_FILES.forEach((f, i) => {
        const service = f.endsWith('/s') || f === 'policy.d/s';
        files[abs(f)] = contents[i]!.map(service ? serviceLine : ruleLine).join('\n') + '\n';
      });
      if (cycle) files[abs('policy.d/include/b')] += '!include include/b\n';
      const directive = (d: Directive): string => {
        switch (d.kind) {
          case 'include':
            return `!include ${fill(d.path)}`;
          case 'include-dir':
            return `!include-dir ${fill(d.path)}`;
          case 'include-service':
            return `!include-service ${d.service} ${d.argument} ${fill(d.path)}`;
          case 'chain': {
            // include/chain-0 includes chain-1 … which holds one rule
            for (let i = 0; i < d.depth; i++) files[abs(`policy.d/include/chain-${i}`)] = `!include include/chain-${i + 1}\n`;
            files[abs(`policy.d/include/chain-${d.depth}`)] = 'svc.A * @anyvm vault allow\n';
            return '!include include/chain-0';
          }
        }
      };
      top.forEach((lines, i) => {
        files[abs(`policy.d/${10 + i * 10}-top.policy`)] = lines.map((l) => ('rule' in l ? ruleLine(l.rule) : directive(l.d))).join('\n') + '\n';
      });
      return {
        files,
        dirs: [abs('policy.d'), abs('legacy')],
        links: WORLD_LINKS.map(([w, t]) => [abs(w), fill(t)]),
      };
    };
    return { layout, rules };
  });
