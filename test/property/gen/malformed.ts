/**
 * Malformed policy trees: a well-formed case with one defect put into a
 * file that is really loaded (bad bytes, a NUL, a truncated rule, a huge
 * line, a BOM, a bad token or parameter, a bad directive, a missing, cyclic
 * or too deep include, a bad file name, a missing R4.0 directory), with
 * where the error must be reported; and pure byte noise, where only "never
 * throws, and denies with the load error if there is one" can be asserted.
 */
import fc from 'fast-check';
import * as path from 'node:path';
import { MAX_INCLUDE_DEPTH, MAX_LINE_LENGTH } from '../../../src/parser/limits.js';
import type { SyntaxErrorId } from '../../../src/parser/errors.js';
import { arbCase, type Case } from './case.js';
import { MEM_DIRS, renderTree, type Rendered } from './policy.js';
import { loadRendered, type ByteFiles } from '../lib/tree.js';

export interface Expected {
  /** The first error's id (null: not checked). */
  id: SyntaxErrorId | null;
  /** The file the first error must name (null: any). */
  file: string | null;
  /** Its line (undefined: not checked). */
  line?: number | null;
}

export interface BrokenCase {
  case: Case;
  rendered: Rendered;
  bytes: ByteFiles;
  legacyPath: string;
  /** The first load error, or null when the defect may happen to be valid (noise). */
  expect: Expected | null;
  what: string;
}

const LINE_DEFECTS: ReadonlyArray<[string, SyntaxErrorId]> = [
  ['svc\0.A * @anyvm @anyvm allow', 'service-chars'],
  ['svc.A', 'field-count'],
  ['svc.A *', 'field-count'],
  ['svc.A * @anyvm', 'field-count'],
  ['svc.A * @anyvm work', 'field-count'],
  ['svc.A * @foo work allow', 'source-token'],
  ['svc.A * @anyvm @tag: allow', 'target-token'],
  ['svc.A * @default @anyvm allow', 'source-token'],
  ['svc.A * @anyvm @anyvm allow target=@anyvm', 'redirect-token'],
  ['svc.A * @anyvm @anyvm allow foo=bar', 'param-invalid'],
  ['svc.A * @anyvm @anyvm allow notify=maybe', 'param-boolean'],
  ['svc.A * @anyvm @anyvm allow target=work target=vault', 'param-duplicate'],
  ['svc.A * @anyvm @anyvm deny target=work', 'param-invalid'],
  ['svc.A * @anyvm @anyvm allow default_target=work', 'param-invalid'],
  ['svc.A * @anyvm @default allow', 'default-allow-target'],
  ['svc.A * @anyvm @anyvm permit', 'action'],
  ['svc.A * @anyvm @anyvm allow nonsense', 'param-syntax'],
  ['* +a @anyvm @anyvm allow', 'wildcard-service-argument'],
  ['svc.A a @anyvm @anyvm allow', 'argument-plus'],
  ['svc.A +a/b @anyvm @anyvm allow', 'argument-chars'],
  ['svc/A * @anyvm @anyvm allow', 'service-chars'],
  ['!bogus', 'directive'],
  ['!include', 'directive-params'],
  ['!include a b', 'directive-params'],
  ['!compat-4.0 now', 'directive-params'],
  ['!include-service svc.A *', 'directive-params'],
  ['!include include/no-such-file', 'include-missing'],
  ['!include-dir include/no-such-dir', 'include-not-dir'],
  ['!include-service svc.A * include/no-such-file', 'include-missing'],
  ['!include-service * +a include/no-such-file', 'wildcard-service-argument'],
];

const SERVICE_DEFECTS: ReadonlyArray<[string, SyntaxErrorId]> = [
  ['@anyvm', 'field-count'],
  ['@anyvm @anyvm', 'field-count'],
  ['$anyvm $anyvm allow,foo=bar', 'param-invalid'],
  ['@anyvm @anyvm allow,notify=perhaps', 'param-boolean'],
  ['@bogus @anyvm allow', 'source-token'],
  ['!include-dir x', 'directive'],
  ['$include:no/such/file', 'include-missing'],
];

function splitKeepEol(text: string): { lines: string[]; eol: string } {
  const eol = text.includes('\r\n') ? '\r\n' : text.includes('\r') ? '\r' : '\n';
  const lines = text === '' ? [] : text.split(/\r\n|\r|\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return { lines, eol };
}

/**
 * `text` with `line` inserted before 0-based line `at` (taken modulo the
 * number of places, or with `clamp` capped at the end); returns the new text
 * and the 1-based line.
 */
export function insertLine(text: string, at: number, line: string, clamp = false): { text: string; line: number } {
  const { lines, eol } = splitKeepEol(text);
  const k = clamp ? Math.min(at, lines.length) : at % (lines.length + 1);
  lines.splice(k, 0, line);
  return { text: lines.join(eol) + eol, line: k + 1 };
}

function withFile(r: Rendered, file: string, text: string): Rendered {
  return { ...r, files: { ...r.files, [file]: text } };
}

/** Files the clean tree really loads, with their format. */
function loadedFiles(r: Rendered): { policy: string[]; service: string[] } {
  const files = loadRendered(r).load.files;
  return { policy: files.filter((f) => r.formats[f] === 'policy'), service: files.filter((f) => r.formats[f] === 'service') };
}

function mutations(c: Case): fc.Arbitrary<BrokenCase> {
  const rendered = renderTree(c.tree);
  const loaded = loadedFiles(rendered);
  const base = { case: c, bytes: {}, legacyPath: MEM_DIRS.legacy };
  const anyLoaded = [...loaded.policy, ...loaded.service];
  const policyFile = fc.constantFrom(...loaded.policy);
  const at = fc.nat();

  const lineDefect = fc.tuple(policyFile, at, fc.constantFrom(...LINE_DEFECTS)).map(([file, k, [line, id]]) => {
    const ins = insertLine(rendered.files[file]!, k, line);
    return { ...base, rendered: withFile(rendered, file, ins.text), expect: { id, file, line: ins.line }, what: `${JSON.stringify(line)} at ${file}:${ins.line}` };
  });
  const hugeLine = fc.tuple(policyFile, at, fc.constantFrom('#', 'svc.A * @anyvm @anyvm allow #')).map(([file, k, head]) => {
    const ins = insertLine(rendered.files[file]!, k, head.padEnd(MAX_LINE_LENGTH + 1, 'x'));
    return { ...base, rendered: withFile(rendered, file, ins.text), expect: { id: 'line-too-long' as const, file, line: ins.line }, what: `huge line at ${file}:${ins.line}` };
  });
  const badBytes = fc.tuple(fc.constantFrom(...anyLoaded), at, fc.constantFrom([0xff], [0xc3, 0x28], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf])).map(([file, k, bad]) => {
    const bytes = Buffer.from(rendered.files[file]!, 'utf8');
    const i = k % (bytes.length + 1);
    const out = Buffer.concat([bytes.subarray(0, i), Buffer.from(bad), bytes.subarray(i)]);
    return { ...base, rendered, bytes: { [file]: out }, expect: { id: 'file-encoding' as const, file, line: null }, what: `bytes ${bad} at ${file}+${i}` };
  });
  const bom = policyFile.map((file) => ({
    ...base,
    rendered: withFile(rendered, file, '\ufeff' + rendered.files[file]!),
    // the BOM makes the first line a rule line that cannot parse (as in Qubes)
    expect: { id: null, file, line: 1 },
    what: `BOM in ${file}`,
  }));
  const cycle = fc.tuple(policyFile, at).map(([file, k]) => {
    const a = path.posix.join(MEM_DIRS.policy, 'include/cyc-a');
    const b = path.posix.join(MEM_DIRS.policy, 'include/cyc-b');
    const ins = insertLine(rendered.files[file]!, k, '!include include/cyc-a');
    const r = { ...withFile(rendered, file, ins.text) };
    r.files = { ...r.files, [a]: '# a\n!include include/cyc-b\n', [b]: `!include ${a}\n` };
    return { ...base, rendered: r, expect: { id: 'include-cycle' as const, file: b, line: 1 }, what: `cycle from ${file}:${ins.line}` };
  });
  const deep = fc.tuple(policyFile, at, fc.integer({ min: MAX_INCLUDE_DEPTH, max: MAX_INCLUDE_DEPTH + 8 })).map(([file, k, n]) => {
    const ins = insertLine(rendered.files[file]!, k, '!include include/deep-0');
    const files: Record<string, string> = { ...rendered.files, [file]: ins.text };
    for (let i = 0; i < n; i++) files[path.posix.join(MEM_DIRS.policy, `include/deep-${i}`)] = `!include include/deep-${i + 1}\n`;
    files[path.posix.join(MEM_DIRS.policy, `include/deep-${n}`)] = 'svc.A * @anyvm @anyvm allow\n';
    return { ...base, rendered: { ...rendered, files }, expect: { id: 'include-depth' as const, file: null }, what: `${n + 1} nested includes from ${file}` };
  });
  const badName = fc.constantFrom('50-Bad.policy', '50-bad name.policy', '50-bad+x.policy', '50-ü.policy').map((name) => {
    const file = path.posix.join(MEM_DIRS.policy, name);
    return { ...base, rendered: withFile(rendered, file, 'svc.A * @anyvm @anyvm allow\n'), expect: { id: 'file-name' as const, file }, what: `file name ${name}` };
  });
  const noLegacy = fc.tuple(policyFile, at).map(([file, k]) => {
    const ins = insertLine(rendered.files[file]!, k, '!compat-4.0');
    return { ...base, rendered: withFile(rendered, file, ins.text), legacyPath: '/no/such/legacy', expect: { id: 'legacy-dir' as const, file: null }, what: `!compat-4.0 without the R4.0 directory` };
  });
  const options: fc.Arbitrary<BrokenCase>[] = [lineDefect, hugeLine, badBytes, bom, cycle, deep, badName, noLegacy];
  if (loaded.service.length)
    options.push(
      fc.tuple(fc.constantFrom(...loaded.service), at, fc.constantFrom(...SERVICE_DEFECTS)).map(([file, k, [line, id]]) => {
        const ins = insertLine(rendered.files[file]!, k, line);
        return { ...base, rendered: withFile(rendered, file, ins.text), expect: { id, file, line: ins.line }, what: `${JSON.stringify(line)} at ${file}:${ins.line}` };
      }),
    );
  return fc.oneof(...options);
}

function printable(b: BrokenCase): BrokenCase {
  const show = () => JSON.stringify({ defect: b.what, files: b.rendered.files, bytes: Object.keys(b.bytes), requests: b.case.reqs }, null, 1);
  return Object.defineProperty(b, fc.toStringMethod, { value: show, enumerable: false });
}

/** A case with exactly one defect whose first error is known. */
export const arbBrokenPolicy: fc.Arbitrary<BrokenCase> = arbCase.chain((c) => mutations(c).map(printable));

/** A case with random characters (any code point, NUL and lone surrogates included) put into a loaded file. */
export const arbNoisyPolicy: fc.Arbitrary<BrokenCase> = arbCase.chain((c) => {
  const rendered = renderTree(c.tree);
  const { policy, service } = loadedFiles(rendered);
  return fc
    .tuple(fc.constantFrom(...policy, ...service), fc.nat(), fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.boolean())
    .map(([file, k, noise, replace]) => {
      const text = rendered.files[file]!;
      const i = k % (text.length + 1);
      const out = text.slice(0, i) + noise + text.slice(replace ? Math.min(text.length, i + noise.length) : i);
      return printable({ case: c, rendered: withFile(rendered, file, out), bytes: {}, legacyPath: MEM_DIRS.legacy, expect: null, what: `noise ${JSON.stringify(noise)} at ${file}+${i}` });
    });
});
