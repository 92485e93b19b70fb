/**
 * Loading policy trees: `policy.d` directories merged by basename, the
 * `!include*` directives, `!compat-4.0` (SPEC §3, §4.2) and the R4.0
 * per-service files of `--legacy` mode (SPEC §4.4).
 *
 * Loading never stops at the first problem: every error is collected (lint
 * reports them all); callers that evaluate treat any error as "deny all".
 * The first collected error is the one the reference would have reported.
 */
import { expected } from '../errors.js';
import { basename, dirname, resolve as resolvePathname } from 'node:path';
import { PolicyError } from './errors.js';
import { MAX_INCLUDE_DEPTH, MAX_LINE_LENGTH, MAX_POLICY_FILES } from './limits.js';
import { plainRuleService, skippableLine } from './quick-check.js';
import { FileSourceError, joinPath, nodeFileSource, type FileSource } from './file-source.js';
import {
  checkServiceArgument,
  implicitCompatRules,
  normaliseServiceLine,
  parsePolicyLine,
  parseServiceLine,
  type Rule,
} from './rule.js';
import { byteCompare, CHARSET, type Field, pyStrip, splitLines } from './text.js';
import { readDirective } from './directives.js';

export const DEFAULT_POLICY_PATHS = ['/run/qubes/policy.d', '/etc/qubes/policy.d'] as const;
/** The runtime directory may be missing; every other policy directory must exist. */
export const RUNTIME_POLICY_PATH = '/run/qubes/policy.d';
export const DEFAULT_LEGACY_PATH = '/etc/qubes-rpc/policy';
export const POLICY_SUFFIX = '.policy';
export { MAX_INCLUDE_DEPTH } from './limits.js';

export interface LoadOptions {
  /** Policy directories, highest priority first. */
  paths?: readonly string[];
  /** Where `!compat-4.0` reads R4.0 files. */
  legacyPath?: string;
  fs?: FileSource;
  /**
   * Only this service's rules (and the `*` ones) are wanted: other services'
   * ordinary lines are checked without building rules (see quick-check.ts).
   * Every line is still validated, so any error still denies everything.
   */
  focus?: string;
}

export interface LoadResult {
  rules: Rule[];
  errors: PolicyError[];
  /** Every file read, in load order (top-level, included, legacy). */
  files: string[];
  /** Every directory listed (the daemon watches these). */
  dirs: string[];
  /** Informational notes, e.g. legacy files skipped for their names. */
  notices: string[];
}

/** Whether a directory entry name is a candidate policy file (before the charset check). */
export function looksLikePolicyFile(name: string): boolean {
  return name.endsWith(POLICY_SUFFIX) && !name.startsWith('.');
}

/** Whether a candidate policy file name is acceptable (SPEC §3: `0-9 a-z _ . -`). */
export function isValidPolicyFileName(name: string): boolean {
  return CHARSET.policyFileName.test(name);
}

/** Legacy names that are never policy: editor/package-manager leftovers and dotfiles. */
export function isIgnoredLegacyName(name: string): boolean {
  return name.startsWith('.') || name.endsWith('.rpmsave') || name.endsWith('.rpmnew') || name.endsWith('.swp');
}

/** `SVC+ARG` → [SVC, +ARG]; `SVC` → [SVC, null]. */
export function splitLegacyName(name: string): { service: string; argument: string | null } {
  const plus = name.indexOf('+');
  return plus < 0 ? { service: name, argument: null } : { service: name.slice(0, plus), argument: name.slice(plus) };
}

export interface Frame {
  /** Directory that relative include paths resolve against. */
  baseDir: string;
  /** Files currently being loaded (resolved paths), outermost first (cycle and depth checks). */
  stack: string[];
  /**
   * A top-level file whose resolved path is not looked up until it includes
   * something (most files include nothing: no realpath for them); `stack`
   * is then empty and stands for `[resolve(unresolvedTop)]`.
   */
  unresolvedTop?: string;
  /** Inside files that `!compat-4.0` or `--legacy` loads. */
  inLegacy: boolean;
}

/** A line the quick check confirms as a valid rule for a service other than `focus`. */
function isOtherService(line: string, focus: string): boolean {
  const service = plainRuleService(line);
  return service !== null && service !== focus;
}

/** Lines of `policy.d` files a focused load checks one by one before it makes its one-match test. */
export const SKIPPABLE_AFTER = 1000;

/** `!include-service` with a valid named service, a valid argument and a path, separated by spaces and tabs. */
const PLAIN_INCLUDE_SERVICE = /^!include-service[ \t]+([A-Za-z0-9._-]+)[ \t]+(\*|\+[A-Za-z0-9._+-]*)[ \t]+([\x21-\x7e]+)$/;

export class PolicyLoader {
  readonly result: LoadResult = { rules: [], errors: [], files: [], dirs: [], notices: [] };
  private readonly fs: FileSource;
  private readonly legacyPath: string;

  private readonly focus: string | undefined;
  /**
   * The one-match test for lines of a focused load that need no more
   * (quick-check.ts), made once the load has met SKIPPABLE_AFTER lines:
   * making and compiling it costs about what the quick check spends on
   * that many lines.
   */
  private skippable: RegExp | undefined;
  private linesMet = 0;
  /**
   * What this load has looked up already: the same include file is often
   * named by many directives (one per admin service), and looking it up
   * once per load also gives every directive the same view of it.
   */
  private readonly resolved = new Map<string, string>();
  /** An include path as written, resolved against a directory: the same few, named by many directives. */
  private readonly includes = new Map<string, string>();
  private readonly kinds = new Map<string, ReturnType<FileSource['kind']>>();
  private readonly texts = new Map<string, string>();
  /** Service files (resolved) that parsed without an error and include nothing: the same for any service. */
  private readonly cleanLeaves = new Set<string>();

  constructor(opts: { fs?: FileSource; legacyPath?: string; focus?: string } = {}) {
    this.fs = opts.fs ?? nodeFileSource;
    this.legacyPath = opts.legacyPath ?? DEFAULT_LEGACY_PATH;
    this.focus = opts.focus;
  }

  private error(e: PolicyError): void {
    this.result.errors.push(e);
  }

  /** Load the `policy.d` directories (merged by basename, byte order). */
  loadDirs(paths: readonly string[]): this {
    const chosen = new Map<string, string>();
    for (const dir of paths) {
      const listed = this.listPolicyDir(dir, null, null);
      if (listed === null) continue;
      for (const file of listed) {
        const base = basename(file);
        if (!chosen.has(base)) chosen.set(base, file);
      }
    }
    // all-or-nothing: a bad file name anywhere denies everything, before any file loads
    if (this.result.errors.length) return this;
    const order = [...chosen.keys()].sort(byteCompare);
    for (const base of order) {
      const file = chosen.get(base)!;
      // the stack holds resolved paths, so a cycle through a linked directory is still one cycle;
      // a file's own is looked up only once it includes something
      this.loadPolicyFile(file, { baseDir: dirname(file), stack: [], unresolvedTop: file, inLegacy: false });
    }
    return this;
  }

  /**
   * The valid policy files of a directory, sorted; `null` if it cannot be
   * listed (an error is recorded unless it is the optional runtime dir).
   */
  private listPolicyDir(dir: string, from: string | null, line: number | null): string[] | null {
    let names: string[];
    try {
      // a listing that tells regular files apart saves a stat per file (links are still followed by kind())
      if (this.fs.listKinds === undefined) names = this.fs.list(dir);
      else {
        names = [];
        for (const [name, kind] of this.fs.listKinds(dir)) {
          names.push(name);
          if (kind !== undefined) this.kinds.set(joinPath(dir, name), kind);
        }
      }
    } catch (err) {
      expected(err, FileSourceError);
      if (from === null && resolvePathname(dir) === RUNTIME_POLICY_PATH && err.kind === 'missing') return null;
      // a top-level directory is the error's file: name it once
      const what = from === null ? 'cannot read the policy directory' : `cannot read policy directory ${dir}`;
      this.error(new PolicyError('policy-dir', `${what}: ${err.problem}`, from ?? dir, line));
      return null;
    }
    this.result.dirs.push(dir);
    const files: string[] = [];
    let bad = false;
    for (const name of names) {
      if (!looksLikePolicyFile(name)) continue;
      const file = joinPath(dir, name);
      if (this.kind(file) !== 'file') continue;
      if (!isValidPolicyFileName(name)) {
        this.error(
          new PolicyError('file-name', `invalid filename: ${file} (allowed characters: 0-9 a-z _ . -)`, file, null),
        );
        bad = true;
      }
      files.push(file);
    }
    if (bad) return null;
    return files.sort((a, b) => byteCompare(basename(a), basename(b)));
  }

  private readText(file: string): string | null {
    if (this.result.files.length >= MAX_POLICY_FILES) {
      this.error(new PolicyError('too-many-files', `more than ${MAX_POLICY_FILES} policy files; not reading ${file}`, file, null));
      return null;
    }
    try {
      let text = this.texts.get(file);
      if (text === undefined) this.texts.set(file, (text = this.fs.read(file)));
      this.result.files.push(file);
      return text;
    } catch (err) {
      expected(err, FileSourceError);
      const id = err.kind === 'encoding' ? 'file-encoding' : err.kind === 'too-large' ? 'file-too-large' : 'file-read';
      this.error(new PolicyError(id, err.problem, file, null));
      return null;
    }
  }

  /** The lines of a file, or an error for a line longer than the limit. */
  private lines(text: string, file: string): string[] | null {
    const lines = splitLines(text);
    const long = lines.findIndex((l) => l.length > MAX_LINE_LENGTH);
    if (long < 0) return lines;
    this.error(new PolicyError('line-too-long', `line longer than ${MAX_LINE_LENGTH} characters`, file, long + 1, 1));
    return null;
  }

  /** `fs.resolve`, once per path and load. */
  private resolvePath(p: string): string {
    let r = this.resolved.get(p);
    if (r === undefined) this.resolved.set(p, (r = this.fs.resolve(p)));
    return r;
  }

  /** `fs.kind`, once per path and load. */
  private kind(p: string): ReturnType<FileSource['kind']> {
    let k = this.kinds.get(p);
    if (k === undefined) this.kinds.set(p, (k = this.fs.kind(p)));
    return k;
  }

  /** The frame's include stack, resolving a top-level file's path now if that was put off. */
  private stackOf(frame: Frame): string[] {
    return frame.unresolvedTop !== undefined ? [this.resolvePath(frame.unresolvedTop)] : frame.stack;
  }

  /** Check cycle/depth before entering `file`; returns the frame to load it with. */
  private enter(file: string, frame: Frame, from: string, line: number, column: number): Frame | null {
    const stack = this.stackOf(frame);
    if (stack.includes(file)) {
      const chain = [...stack.slice(stack.indexOf(file)), file].join(' -> ');
      this.error(new PolicyError('include-cycle', `include cycle: ${chain}`, from, line, column));
      return null;
    }
    if (stack.length > MAX_INCLUDE_DEPTH) {
      this.error(
        new PolicyError('include-depth', `includes nested deeper than ${MAX_INCLUDE_DEPTH} levels`, from, line, column),
      );
      return null;
    }
    return { baseDir: frame.baseDir, stack: [...stack, file], inLegacy: frame.inLegacy };
  }

  /** Load one file in the `policy.d` format; `frame.stack` ends with `file`. */
  loadPolicyFile(file: string, frame: Frame): void {
    const text = this.readText(file);
    if (text === null) return;
    const lines = this.lines(text, file);
    if (lines === null) return;
    const focus = this.focus;
    if (focus !== undefined && this.skippable === undefined && (this.linesMet += lines.length) > SKIPPABLE_AFTER)
      this.skippable = skippableLine(focus);
    const skippable = this.skippable;
    for (let i = 0; i < lines.length; i++) {
      const lineno = i + 1;
      const raw = lines[i]!;
      // a valid rule of another service, a comment: nothing to build (most lines end here)
      if (skippable !== undefined && skippable.test(raw)) continue;
      if (focus !== undefined && isOtherService(raw, focus)) continue;
      const { text: line, offset } = pyStrip(raw);
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('!')) {
        this.directive(line, offset, file, lineno, frame);
        continue;
      }
      if (focus !== undefined && line !== raw && isOtherService(line, focus)) continue;
      const parsed = parsePolicyLine(line, { file, line: lineno }, offset);
      if (parsed.rule) this.result.rules.push(parsed.rule);
      else for (const e of parsed.errors) this.error(e);
    }
  }

  private resolveInclude(p: string, frame: Frame): string {
    const key = frame.baseDir + '\0' + p;
    let r = this.includes.get(key);
    if (r === undefined) this.includes.set(key, (r = this.resolvePath(joinPath(frame.baseDir, p))));
    return r;
  }

  private directive(line: string, offset: number, file: string, lineno: number, frame: Frame): void {
    // the common `!include-service SVC ARG PATH` with valid names, in one match (a shipped tree has
    // over a hundred); the general reading below gives the same service, argument, path and column
    const plain = PLAIN_INCLUDE_SERVICE.exec(line);
    if (plain !== null) {
      const [, service, argument, p] = plain as unknown as [string, string, string, string];
      this.includeServiceFile(service, argument === '*' ? null : argument, p, offset + line.length - p.length + 1, file, lineno, frame);
      return;
    }
    const d = readDirective(line, offset, 'policy');
    if (!d.ok) {
      this.error(new PolicyError(d.id, d.message, file, lineno, d.column));
      return;
    }
    const { word, params } = d;
    switch (d.name) {
      case '!include': {
        const target = this.resolveInclude(params[0]!.text, frame);
        if (this.kind(target) !== 'file') {
          this.error(new PolicyError('include-missing', `not a file: ${target}`, file, lineno, params[0]!.column));
          return;
        }
        const inner = this.enter(target, frame, file, lineno, params[0]!.column);
        if (inner) this.loadPolicyFile(target, inner);
        return;
      }
      case '!include-dir': {
        const target = this.resolveInclude(params[0]!.text, frame);
        if (this.kind(target) !== 'dir') {
          this.error(new PolicyError('include-not-dir', `not a directory: ${target}`, file, lineno, params[0]!.column));
          return;
        }
        const files = this.listPolicyDir(target, file, lineno);
        if (files === null) return;
        for (const f of files) {
          // like Qubes, rules name the file inside the (resolved) directory; cycles use its real path
          const inner = this.enter(this.resolvePath(f), frame, file, lineno, params[0]!.column);
          if (inner) this.loadPolicyFile(f, inner);
        }
        return;
      }
      case '!include-service': {
        const [svc, arg, p] = params as [Field, Field, Field];
        const checked = checkServiceArgument(svc, arg, { file, line: lineno });
        if (checked.errors.length) {
          for (const e of checked.errors) this.error(e);
          return;
        }
        this.includeServiceFile(checked.service, checked.argument, p.text, p.column, file, lineno, frame);
        return;
      }
      case '!compat-4.0': {
        if (frame.inLegacy) {
          this.error(new PolicyError('compat-recursive', '!compat-4.0 is not recursive', file, lineno, word.column));
          return;
        }
        this.result.notices.push(`${file}:${lineno}: !compat-4.0 is transitional and will be deprecated`);
        this.loadCompat(file, lineno, word.column, frame);
        return;
      }
    }
  }

  private includeServiceFile(
    service: string | null,
    argument: string | null,
    p: string,
    column: number,
    from: string,
    lineno: number,
    frame: Frame,
  ): void {
    const target = this.resolveInclude(p, frame);
    if (this.kind(target) !== 'file') {
      this.error(new PolicyError('include-missing', `not a file: ${target}`, from, lineno, column));
      return;
    }
    const inner = this.enter(target, frame, from, lineno, column);
    if (inner === null) return;
    // another service's copy of a file already found good: its lines parse alike for any
    // service (the directive checked the service), and no rule of it is wanted here
    if (this.focus !== undefined && service !== null && service !== this.focus && this.cleanLeaves.has(target)) {
      // still counted and listed as read, as the full load would
      this.readText(target);
      return;
    }
    this.loadServiceFile(target, service, argument, inner);
  }

  /** Load one file in the service-file format (SPEC §4.3); `frame.stack` ends with `file`. */
  loadServiceFile(file: string, service: string | null, argument: string | null, frame: Frame): void {
    const text = this.readText(file);
    if (text === null) return;
    const lines = this.lines(text, file);
    if (lines === null) return;
    const errorsBefore = this.result.errors.length;
    let leaf = true;
    for (let i = 0; i < lines.length; i++) {
      const lineno = i + 1;
      const { text: stripped, offset } = pyStrip(lines[i]!);
      if (stripped === '' || stripped.startsWith('#')) continue;
      const line = normaliseServiceLine(stripped);
      if (line.startsWith('!')) {
        // the service-file format has one directive, !include (of another service file)
        leaf = false;
        const d = readDirective(line, offset, 'service');
        if (!d.ok) this.error(new PolicyError(d.id, d.message, file, lineno, d.column));
        else this.includeServiceFile(service, argument, d.params[0]!.text, d.params[0]!.column, file, lineno, frame);
        continue;
      }
      const parsed = parseServiceLine(line, service, argument, { file, line: lineno }, offset, 'service', stripped);
      if (parsed.rule) this.result.rules.push(parsed.rule);
      else for (const e of parsed.errors) this.error(e);
    }
    if (leaf && this.result.errors.length === errorsBefore) this.cleanLeaves.add(file);
  }

  /** `!compat-4.0`: the whole legacy directory, in R4.0 order with implicit denies. */
  private loadCompat(from: string, lineno: number, column: number, frame: Frame): void {
    const listing = listLegacyDir(this.fs, this.legacyPath);
    if ('error' in listing) {
      this.error(new PolicyError('legacy-dir', listing.error, from, lineno, column));
      return;
    }
    this.result.dirs.push(this.legacyPath);
    this.result.notices.push(...listing.skipped);
    const legacyFrame: Frame = { baseDir: this.legacyPath, stack: this.stackOf(frame), inLegacy: true };
    for (const entry of listing.entries) {
      // Qubes opens each legacy file by its resolved path but names the implicit denies by the listed one
      const resolved = this.resolvePath(entry.file);
      const inner = this.enter(resolved, legacyFrame, from, lineno, column);
      if (!inner) continue;
      this.loadServiceFile(resolved, entry.service, entry.argument, inner);
      // a specific-argument file never falls through to the generic one (R4.0 semantics)
      if (entry.argument !== null) this.result.rules.push(...implicitCompatRules(entry.service, entry.argument, entry.file));
    }
  }
}

export interface LegacyEntry {
  service: string;
  argument: string | null;
  file: string;
}

/**
 * The R4.0 files of a legacy directory in evaluation order: by service, then
 * specific arguments sorted, then the any-argument file (SPEC §4.2).
 */
export function listLegacyDir(
  fs: FileSource,
  dir: string,
): { entries: LegacyEntry[]; skipped: string[] } | { error: string } {
  let names: string[];
  try {
    names = fs.list(dir);
  } catch (err) {
    expected(err, FileSourceError);
    return { error: `cannot read legacy policy directory ${dir}: ${err.problem}` };
  }
  const skipped: string[] = [];
  const entries: LegacyEntry[] = [];
  for (const name of names) {
    const file = joinPath(dir, name);
    if (isIgnoredLegacyName(name)) continue;
    if (fs.kind(file) !== 'file') {
      skipped.push(`ignoring ${file} (not a file)`);
      continue;
    }
    if (!CHARSET.rpcname.test(name)) {
      skipped.push(`ignoring ${file} (invalid characters in name)`);
      continue;
    }
    entries.push({ ...splitLegacyName(name), file });
  }
  entries.sort((a, b) => {
    const bySvc = byteCompare(a.service, b.service);
    if (bySvc !== 0) return bySvc;
    /* c8 ignore next -- file names are unique, so service and argument never both repeat */
    if (a.argument === b.argument) return 0;
    if (a.argument === null) return 1;
    if (b.argument === null) return -1;
    return byteCompare(a.argument, b.argument);
  });
  return { entries, skipped };
}

/** Load `policy.d` directories with everything they include. */
export function loadPolicy(opts: LoadOptions = {}): LoadResult {
  const loader = new PolicyLoader(opts);
  loader.loadDirs(opts.paths ?? DEFAULT_POLICY_PATHS);
  return loader.result;
}

/**
 * `--legacy` (R4.0 semantics): the rules of file `SVC+ARG`, else `SVC`, from
 * the legacy directory; `null` rules when neither exists ("policy not found").
 */
export function loadLegacyService(
  service: string,
  argument: string,
  opts: { legacyPath?: string; fs?: FileSource } = {},
): { rules: Rule[] | null; errors: PolicyError[]; files: string[] } {
  const fs = opts.fs ?? nodeFileSource;
  const dir = opts.legacyPath ?? DEFAULT_LEGACY_PATH;
  if (fs.kind(dir) !== 'dir') {
    return {
      rules: null,
      errors: [new PolicyError('legacy-dir', 'the legacy policy directory does not exist', dir, null)],
      files: [],
    };
  }
  const loader = new PolicyLoader({ fs, legacyPath: dir });
  for (const [name, arg] of [
    [service + argument, argument],
    [service, null],
  ] as const) {
    if (isIgnoredLegacyName(name) || !CHARSET.rpcname.test(name)) continue;
    const file = joinPath(dir, name);
    if (fs.kind(file) !== 'file') continue;
    loader.loadServiceFile(file, service, arg, { baseDir: dir, stack: [file], inLegacy: true });
    return { rules: loader.result.rules, errors: loader.result.errors, files: loader.result.files };
  }
  return { rules: null, errors: [], files: [] };
}
