/**
 * Properties of policy files, in memory: (e) splitting a file into several
 * files in the same order, or reformatting every file with `fmt`, changes
 * no decision; (h) converting the R4.0 directory (`convert`) changes no
 * decision; and `fmt` on any text (noise included) never throws and is
 * idempotent.
 */
import fc from 'fast-check';
import * as path from 'node:path';
import { formatText } from '../../../src/fmt/format.js';
import { loadLegacyDir } from '../../../src/convert/load.js';
import { renderConverted } from '../../../src/convert/render.js';
import { verifyConverted } from '../../../src/convert/verify.js';
import type { Decision } from '../../../src/policy/decision.js';
import { decisionToJson } from '../../../src/render/json.js';
import { arbCase, type Case } from '../gen/case.js';
import { arbNoisyPolicy, type BrokenCase } from '../gen/malformed.js';
import { arbLegacy, MEM_DIRS, renderTree, topName, type PolicyLine, type PolicyTree, type Rendered } from '../gen/policy.js';
import { decideReq } from './props-eval.js';
import { differ, fail, property, sameText, show, type AnyProperty } from './property.js';
import { fileSource, loadRendered } from './tree.js';

/** A decision without where its rule is written (the reason names the place too; its kind does not). */
function meaning(d: Decision, rule: (r: { file: string; line: number | null }) => unknown = () => null): string {
  const { reason: _reason, rule: r, ...rest } = decisionToJson(d);
  return JSON.stringify({ ...rest, kind: d.result === 'deny' ? d.kind : null, rule: r && rule(r), text: d.rule?.text ?? null });
}

function lines(text: string): { lines: string[]; eol: string } {
  const eol = text.includes('\r\n') ? '\r\n' : text.includes('\r') ? '\r' : '\n';
  const l = text === '' ? [] : text.split(/\r\n|\r|\n/);
  if (l.length && l[l.length - 1] === '') l.pop();
  return { lines: l, eol };
}

/** (e) A top-level file split at some of its line boundaries into `NN-genI-J.policy` files, in order. */
export const splitFiles = property({
  id: 'split-files',
  letter: 'e',
  title: 'splitting a file into several files in the same order changes no decision',
  arb: fc.tuple(arbCase, fc.nat(), fc.uniqueArray(fc.nat(40), { maxLength: 5 })),
  testRuns: 100,
  fuzzWeight: 2,
  inputs: ([c]) => c.reqs.length,
  check([c, which, cuts]) {
    const rendered = renderTree(c.tree);
    const i = which % rendered.top.length;
    const file = rendered.top[i]!;
    const { lines: all, eol } = lines(rendered.files[file]!);
    const points = [...new Set(cuts.map((k) => k % (all.length + 1)))].sort((a, b) => a - b);
    const starts = [0, ...points.filter((p) => p > 0)];
    const files: Record<string, string> = { ...rendered.files };
    delete files[file];
    const parts = starts.map((from, j) => {
      const part = path.posix.join(MEM_DIRS.policy, topName(i).replace('.policy', `-${j}.policy`));
      const chunk = all.slice(from, starts[j + 1] ?? all.length);
      files[part] = chunk.length ? chunk.join(eol) + eol : '';
      return { part, from };
    });
    // where a rule of the split file is now
    const moved = (r: { file: string; line: number | null }) => {
      if (r.file !== file || r.line === null) return r;
      const p = [...parts].reverse().find((x) => x.from < r.line!)!;
      return { file: p.part, line: r.line - p.from };
    };
    const before = loadRendered(rendered);
    const after = loadRendered({ ...rendered, files });
    for (const q of c.reqs) {
      const a = decideReq(before, c.sys.si, q);
      const b = decideReq(after, c.sys.si, q);
      sameText(`${file} split at lines ${starts.join(', ')}: ${JSON.stringify(q)}`, meaning(a, moved), meaning(b, (r) => r));
    }
  },
});

/** Every file of a rendered tree formatted with fmt in its own format. */
function formatAll(r: Rendered): Rendered {
  const files: Record<string, string> = {};
  for (const [f, text] of Object.entries(r.files)) {
    const out = formatText(text, f, r.formats[f] ?? 'policy');
    if (!out.ok) fail('disagreement', `fmt refuses well-formed ${f}: ${out.errors[0]!.describe()}\n${text}`);
    files[f] = out.text;
  }
  return { ...r, files };
}

/** (e) Every file reformatted with fmt: the very same decisions (fmt keeps every rule on its line). */
export const fmtKeepsDecisions = property<Case>({
  id: 'fmt',
  letter: 'e',
  title: 'reformatting every file with fmt changes no decision, and fmt is idempotent',
  arb: arbCase,
  testRuns: 100,
  fuzzWeight: 2,
  inputs: (c) => c.reqs.length,
  check(c) {
    const rendered = renderTree(c.tree);
    const formatted = formatAll(rendered);
    const again = formatAll(formatted);
    for (const f of Object.keys(formatted.files)) sameText(`fmt of fmt of ${f}`, formatted.files[f]!, again.files[f]!);
    const before = loadRendered(rendered);
    const after = loadRendered(formatted);
    for (const q of c.reqs) sameText(`after fmt: ${JSON.stringify(q)}`, show(decideReq(before, c.sys.si, q)), show(decideReq(after, c.sys.si, q)));
  },
});

/** fmt on any text: an answer (formatted, or the syntax errors), never an exception; formatted text is stable. */
export const fmtNoise = property<BrokenCase>({
  id: 'fmt-noise',
  letter: 'a',
  title: 'fmt never throws on any file, and what it formats it formats for good',
  arb: arbNoisyPolicy,
  testRuns: 100,
  fuzzWeight: 1,
  check(b) {
    for (const [f, text] of Object.entries(b.rendered.files)) {
      const format = b.rendered.formats[f] ?? 'policy';
      const out = formatText(text, f, format);
      if (!out.ok) {
        if (out.errors.length === 0) fail('unexplained-deny', `fmt refused ${f} without naming an error`);
        continue;
      }
      const again = formatText(out.text, f, format);
      if (!again.ok) fail('disagreement', `fmt output of ${f} does not parse: ${again.errors[0]!.describe()}`);
      sameText(`fmt of fmt of ${f}`, out.text, again.text);
    }
  },
});

/**
 * (h) A tree whose top-level file K is just `!compat-4.0`, against the same
 * tree with that file replaced by the converted R4.0 directory.
 */
export const convertKeepsDecisions = property({
  id: 'convert',
  letter: 'h',
  title: 'converting the R4.0 files (convert) changes no decision',
  arb: fc.tuple(arbCase, arbLegacy, fc.nat()),
  testRuns: 100,
  fuzzWeight: 2,
  inputs: ([c]) => c.reqs.length,
  check([c, legacy, at]) {
    // no other !compat-4.0: the converted file replaces the only one
    const files: PolicyLine[][] = c.tree.files.map((f) => f.filter((l) => l.kind !== 'compat'));
    const k = at % (files.length + 1);
    files.splice(k, 0, [{ kind: 'compat' }]);
    const tree: PolicyTree = { ...c.tree, files, legacy };
    const rendered = renderTree(tree);
    const compatFile = rendered.top[k]!;
    const load = loadLegacyDir(MEM_DIRS.legacy, fileSource(rendered));
    if (load.errors.length) fail('disagreement', `a well-formed R4.0 directory does not load: ${load.errors[0]!.describe()}`);
    const name = path.posix.basename(compatFile);
    const converted = renderConverted(load, name);
    const problems = verifyConverted(converted.text, name, converted.rules);
    if (problems.length) fail('disagreement', `convert's own check fails: ${problems.join('; ')}`);
    const before = loadRendered(rendered);
    const after = loadRendered({ ...rendered, files: { ...rendered.files, [compatFile]: converted.text } });
    if (after.errors.length) fail('disagreement', `the converted file does not load: ${after.errors[0]!.describe()}\n${converted.text}`);
    for (const q of c.reqs) {
      const a = decideReq(before, c.sys.si, q);
      const b = decideReq(after, c.sys.si, q);
      const ma = meaning(a);
      const mb = meaning(b);
      // the rule text differs in form (`$anyvm` → `@anyvm`, columns): compare what it decides
      if (JSON.stringify({ ...JSON.parse(ma), text: null }) !== JSON.stringify({ ...JSON.parse(mb), text: null }))
        differ(`converted R4.0 files: ${JSON.stringify(q)}\n${converted.text}`, ma, mb);
    }
  },
});

export const FILE_PROPERTIES: AnyProperty[] = [splitFiles, fmtKeepsDecisions, fmtNoise, convertKeepsDecisions];
