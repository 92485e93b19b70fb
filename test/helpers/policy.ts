/**
 * Shared test helpers: in-memory policy trees and system info, and one-call
 * evaluation. Tests use the real parser, loader and evaluator (no mocks).
 */
import { memoryFileSource, type FileSource } from '../../src/parser/file-source.js';
import { PolicyLoader } from '../../src/parser/loader.js';
import { LegacyPolicy, Policy } from '../../src/policy/policy.js';
import { SystemInfo, systemInfoFromJson } from '../../src/policy/system-info.js';
import { evaluate, type EvaluateOptions } from '../../src/policy/evaluate.js';
import type { Decision } from '../../src/policy/decision.js';

export const POLICY_DIR = '/etc/qubes/policy.d';
export const LEGACY_DIR = '/etc/qubes-rpc/policy';

/** Domain facts with defaults filled in (SPEC §5.1 field names). */
export type DomainSpec = Record<string, unknown>;

let uuidCounter = 0;
function nextUuid(): string {
  uuidCounter++;
  return `00000000-0000-4000-8000-${uuidCounter.toString(16).padStart(12, '0')}`;
}

/**
 * A small realistic system: dom0, a template, a disposable template
 * (default-dvm, tagged dvm), a second one (alt-dvm), work/personal/untrusted
 * AppVMs, vault (tag vault, halted), sys-net (running), an internal
 * disposable template. Override or add domains by name.
 */
export function makeSystem(overrides: Record<string, DomainSpec | null> = {}): SystemInfo {
  const base: Record<string, DomainSpec> = {
    dom0: { type: 'AdminVM', power_state: 'Running', uuid: '00000000-0000-0000-0000-000000000000', default_dispvm: 'default-dvm' },
    'fedora-41': { type: 'TemplateVM', tags: ['tpl'], default_dispvm: 'default-dvm' },
    'default-dvm': { type: 'AppVM', tags: ['dvm'], template_for_dispvms: true, default_dispvm: 'default-dvm' },
    'alt-dvm': { type: 'AppVM', tags: ['dvm', 'web'], template_for_dispvms: true, default_dispvm: 'alt-dvm', power_state: 'Running' },
    work: { type: 'AppVM', tags: ['work'], default_dispvm: 'default-dvm', power_state: 'Running' },
    personal: { type: 'AppVM', tags: ['personal'], default_dispvm: 'default-dvm' },
    untrusted: { type: 'AppVM', tags: ['web'], default_dispvm: 'alt-dvm', power_state: 'Running' },
    vault: { type: 'AppVM', tags: ['vault'], default_dispvm: null },
    'sys-net': { type: 'AppVM', tags: ['sys'], default_dispvm: 'default-dvm', power_state: 'Running' },
    'mgmt-dvm': { type: 'AppVM', template_for_dispvms: true, internal: true },
  };
  const domains: Record<string, DomainSpec> = {};
  for (const [name, spec] of Object.entries({ ...base, ...overrides })) {
    if (spec === null) continue;
    domains[name] = { uuid: nextUuidFor(name), guivm: name === 'dom0' ? null : 'dom0', ...spec };
  }
  return systemInfoFromJson({ domains });
}

const stableUuids = new Map<string, string>();
/** Stable per-name uuids so tests can write `uuid:` forms. */
export function nextUuidFor(name: string): string {
  let u = stableUuids.get(name);
  if (u === undefined) {
    u = nextUuid();
    stableUuids.set(name, u);
  }
  return u;
}

/** uuid of a qube of `makeSystem()` (dom0 is the zero uuid). */
export function uuidOf(si: SystemInfo, name: string): string {
  const q = si.get(name);
  if (!q || !q.uuid) throw new Error(`no uuid for ${name}`);
  return q.uuid;
}

export interface TreeOptions {
  /** Files of the legacy directory (for !compat-4.0 / --legacy), by name. */
  legacy?: Record<string, string>;
  /** Extra files anywhere, by absolute path. */
  extra?: Record<string, string>;
  /** Extra (possibly empty) directories, by absolute path. */
  dirs?: string[];
}

/** An in-memory file system with `files` in POLICY_DIR (names relative to it). */
export function memTree(files: Record<string, string>, opts: TreeOptions = {}): FileSource {
  const all: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) all[`${POLICY_DIR}/${name}`] = content;
  for (const [name, content] of Object.entries(opts.legacy ?? {})) all[`${LEGACY_DIR}/${name}`] = content;
  Object.assign(all, opts.extra ?? {});
  return memoryFileSource(all, [POLICY_DIR, ...(opts.legacy ? [LEGACY_DIR] : []), ...(opts.dirs ?? [])]);
}

/** Load a policy from in-memory files (errors are kept in `policy.errors`). */
export function memPolicy(files: Record<string, string>, opts: TreeOptions = {}): Policy {
  const fs = memTree(files, opts);
  const loader = new PolicyLoader({ fs, legacyPath: LEGACY_DIR });
  loader.loadDirs([POLICY_DIR]);
  const { rules, errors, ...rest } = loader.result;
  return new Policy(rules, errors, rest);
}

/** A `--legacy` rule set over in-memory legacy files. */
export function memLegacy(legacy: Record<string, string>): LegacyPolicy {
  return new LegacyPolicy({ legacyPath: LEGACY_DIR, fs: memTree({}, { legacy }) });
}

/** Evaluate `source -> target service` against one in-memory file `50-test.policy`. */
export function decide(
  policyText: string | Policy | LegacyPolicy,
  source: string,
  target: string,
  service: string,
  opts: EvaluateOptions & { si?: SystemInfo; requestedSource?: string } = {},
): Decision {
  const ruleset = typeof policyText === 'string' ? memPolicy({ '50-test.policy': policyText }) : policyText;
  const si = opts.si ?? makeSystem();
  return evaluate(ruleset, si, { source, target, service, requestedSource: opts.requestedSource ?? null }, opts);
}
