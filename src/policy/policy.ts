/**
 * A loaded policy, ready to evaluate. Rules are indexed by service (with the
 * `*` rules merged in file order) so a request only walks the rules that can
 * apply to its service, however large the whole policy is.
 */
import type { FileSource } from '../parser/file-source.js';
import type { PolicyError } from '../parser/errors.js';
import { loadLegacyService, loadPolicy, type LoadOptions, type LoadResult } from '../parser/loader.js';
import type { Rule } from '../parser/rule.js';

/**
 * What may decide a request for one service: its rules, or that no R4.0
 * file exists for it (`--legacy`: "policy not found"), or the error that
 * denies it (a file `--legacy` reads on demand does not load).
 */
export type Candidates =
  | { readonly kind: 'rules'; readonly rules: readonly Rule[] }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'error'; readonly error: PolicyError };

/** "policy not found" (`--legacy`, no file for the service). */
export const NOT_FOUND: Candidates = Object.freeze({ kind: 'not-found' });

/** A rule list as candidates. */
export function ruleList(rules: readonly Rule[]): Candidates {
  return { kind: 'rules', rules };
}

export interface RuleSet {
  /** Set when the policy cannot be used at all: every request is denied. */
  readonly error: PolicyError | null;
  /**
   * The rules that may apply to `service` (its own and the `*` ones) in
   * policy order, or why there are none to walk.
   */
  candidates(service: string, argument: string): Candidates;
}

type RuleCandidates = Extract<Candidates, { kind: 'rules' }>;

export class Policy implements RuleSet {
  readonly error: PolicyError | null;
  private readonly byService = new Map<string, RuleCandidates>();
  private wildcardOnly: RuleCandidates | null = null;
  private serviceSet: ReadonlySet<string> | null = null;

  constructor(
    readonly rules: readonly Rule[],
    readonly errors: readonly PolicyError[] = [],
    readonly load: Omit<LoadResult, 'rules' | 'errors'> = { files: [], dirs: [], notices: [] },
  ) {
    this.error = errors[0] ?? null;
  }

  /** Computed on first use: loading stays a single pass over the files. */
  private get services(): ReadonlySet<string> {
    if (this.serviceSet === null) {
      const services = new Set<string>();
      for (const r of this.rules) if (r.service !== null) services.add(r.service);
      this.serviceSet = services;
    }
    return this.serviceSet;
  }

  /** A policy.d policy always has rules to walk (maybe none); the lists are made once per service. */
  candidates(service: string): RuleCandidates {
    if (!this.services.has(service)) {
      this.wildcardOnly ??= { kind: 'rules', rules: this.rules.filter((r) => r.service === null) };
      return this.wildcardOnly;
    }
    let hit = this.byService.get(service);
    if (hit === undefined) {
      // a one-shot caller (qrexec-policy-exec) asks for one service: filter just that;
      // a second service means a long-lived caller: index every service in one pass
      if (this.byService.size === 0) {
        hit = { kind: 'rules', rules: this.rules.filter((r) => r.service === null || r.service === service) };
        this.byService.set(service, hit);
      } else {
        this.indexAll();
        hit = this.byService.get(service)!;
      }
    }
    return hit;
  }

  /** The rules of `service` (its own and the `*` ones), in policy order. */
  rulesFor(service: string): readonly Rule[] {
    return this.candidates(service).rules;
  }

  /** One pass over the rules: each service's own rules with the `*` rules merged in order. */
  private indexAll(): void {
    const lists = new Map<string, Rule[]>();
    const wildcards: Rule[] = [];
    for (const r of this.rules) {
      if (r.service === null) {
        wildcards.push(r);
        for (const l of lists.values()) l.push(r);
      } else {
        let l = lists.get(r.service);
        // a service first seen here still gets the `*` rules that came before it
        if (l === undefined) lists.set(r.service, (l = wildcards.slice()));
        l.push(r);
      }
    }
    for (const [s, l] of lists) this.byService.set(s, { kind: 'rules', rules: l });
    this.wildcardOnly = { kind: 'rules', rules: wildcards };
  }

  /** Every service some rule names (for tools that enumerate requests). */
  get namedServices(): ReadonlySet<string> {
    return this.services;
  }
}

/** Load `policy.d` directories into a Policy. */
export function loadPolicySet(opts: LoadOptions = {}): Policy {
  const { rules, errors, ...rest } = loadPolicy(opts);
  return new Policy(rules, errors, rest);
}

/**
 * `--legacy`: R4.0 semantics, one file per service read on demand (SPEC §4.4).
 * The per-service rule lists are cached, so a batch reads each file once.
 */
export class LegacyPolicy implements RuleSet {
  readonly error: PolicyError | null = null;
  private readonly cache = new Map<string, Candidates>();
  /** Files read so far (for reload watching). */
  readonly files: string[] = [];

  /** The R4.0 directory read. */
  readonly legacyPath: string;

  constructor(private readonly opts: { legacyPath: string; fs?: FileSource }) {
    this.legacyPath = opts.legacyPath;
  }

  candidates(service: string, argument: string): Candidates {
    const key = service + argument;
    let hit = this.cache.get(key);
    if (hit === undefined) {
      const { rules, errors, files } = loadLegacyService(service, argument, this.opts);
      this.files.push(...files);
      hit = errors.length ? { kind: 'error', error: errors[0]! } : rules === null ? NOT_FOUND : ruleList(rules);
      this.cache.set(key, hit);
    }
    return hit;
  }
}
