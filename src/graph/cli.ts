/**
 * `qrexec-policy graph` / `qrexec-policy-graph`: load the policy and the
 * system info, evaluate the graph's space, write DOT or JSON.
 */
import * as fs from 'node:fs';
import { describeIo, expected, UsageError } from '../errors.js';
import { listLegacyDir } from '../parser/loader.js';
import { nodeFileSource } from '../parser/file-source.js';
import type { PolicyError } from '../parser/errors.js';
import { Policy, type LegacyPolicy, type RuleSet } from '../policy/policy.js';
import type { Io } from '../io/io.js';
import { CANNOT_DECIDE, openSources, type SourceOptions } from '../io/sources.js';
import { graphEdges, type GraphEdge } from './collect.js';
import { renderDot, renderJson } from './render.js';
import { optionValues, selectServices, selectSources, selectTargets } from './select.js';
import { graphTargets, servicePairs, type ServicePair } from './space.js';

export interface GraphArgs extends SourceOptions {
  includeAsk?: boolean | undefined;
  source?: string[] | string | undefined;
  target?: string[] | string | undefined;
  service?: string[] | string | undefined;
  output?: string | undefined;
  skipLabels?: boolean | undefined;
  fullOutput?: boolean | undefined;
  format?: string | undefined;
}

/** Why the graph cannot be drawn: a one-line message and the exit status. */
class GraphFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** A service name no rule names, standing for all such services (the `*` rules). */
export function otherServiceName(named: ReadonlySet<string | null>): string {
  let name = 'qrexec-policy-graph.OtherService';
  for (let i = 2; named.has(name); i++) name = `qrexec-policy-graph.OtherService${i}`;
  return name;
}

/**
 * The service/argument pairs to draw, after checking that the policy loads,
 * and every service named anywhere (the stand-in for the others must be
 * none of them, whatever the filters keep).
 */
function pairsOf(ruleset: RuleSet, filters: string[] | null): { pairs: ServicePair[]; named: Set<string | null> } {
  let rules: readonly { service: string | null; argument: string | null }[];
  if (ruleset instanceof Policy) {
    if (ruleset.errors.length) throw new GraphFailure(loadErrors(ruleset.errors), 1);
    rules = ruleset.rules;
  } else {
    // --legacy: one R4.0 file per service and argument
    const listing = listLegacyDir(nodeFileSource, (ruleset as LegacyPolicy).legacyPath);
    /* c8 ignore next -- unreadablePolicy() listed it a moment ago; if it changed since, this still fails closed */
    if ('error' in listing) throw new GraphFailure(listing.error, 1);
    rules = listing.entries;
  }
  const pairs = servicePairs(rules, filters);
  if (!(ruleset instanceof Policy)) {
    for (const p of pairs) {
      const c = p.service === null ? null : ruleset.candidates(p.service, p.argument ?? '+');
      if (c?.kind === 'error') throw new GraphFailure(loadErrors([c.error]), 1);
    }
  }
  return { pairs, named: new Set([...rules.map((r) => r.service), ...pairs.map((p) => p.service)]) };
}

function loadErrors(errors: readonly PolicyError[]): string {
  return `the policy does not load, so every call is denied:\n${errors.map((e) => '  ' + e.describe()).join('\n')}`;
}

/** Where the output goes: the --output file (created or truncated) or standard output. */
function openOutput(file: string | undefined, io: Io): { write: (s: string) => void; close: () => void } {
  if (file === undefined) return { write: io.out, close: () => {} };
  let fd: number;
  try {
    fd = fs.openSync(file, 'w');
  } catch (err) {
    throw new GraphFailure(`cannot write ${file}: ${describeIo(err)}`, 1);
  }
  const write = (s: string) => {
    try {
      fs.writeSync(fd, s);
    } catch (err) {
      throw new GraphFailure(`cannot write ${file}: ${describeIo(err)}`, 1);
    }
  };
  return { write, close: () => fs.closeSync(fd) };
}

function* onlyTargets(edges: Iterable<GraphEdge>, targets: ReadonlySet<string> | null): Generator<GraphEdge> {
  for (const e of edges) if (targets === null || targets.has(e.target)) yield e;
}

export async function runGraph(args: GraphArgs, io: Io, name = 'qrexec-policy graph'): Promise<number> {
  try {
    const format = args.format ?? 'dot';
    if (format !== 'dot' && format !== 'json') throw new UsageError(`--format ${format}: expected dot or json`);
    const targets = selectTargets(optionValues('target', args.target));
    const services = selectServices(optionValues('service', args.service));
    const sourceValues = optionValues('source', args.source);
    const opened = await openSources(args, io.env);
    if ('problem' in opened) throw new GraphFailure(`could not decide: ${opened.problem}`, CANNOT_DECIDE);
    const { si, ruleset } = opened;
    const sources = selectSources(sourceValues, si);
    const { pairs, named } = pairsOf(ruleset, services);
    const space = { sources, targets: graphTargets(si), pairs, otherService: otherServiceName(named) };
    // with --full-output every call that may happen is drawn, asks included (as the reference does)
    const edges = onlyTargets(graphEdges(ruleset, si, space, !!args.includeAsk || !!args.fullOutput), targets);
    const opts = { skipLabels: !!args.skipLabels, fullOutput: !!args.fullOutput };
    const out = openOutput(args.output, io);
    try {
      (format === 'json' ? renderJson : renderDot)(edges, si, opts, out.write);
    } finally {
      out.close();
    }
    return 0;
  } catch (err) {
    expected(err, GraphFailure);
    io.err(`${name}: ${err.message}\n`);
    return err.status;
  }
}
