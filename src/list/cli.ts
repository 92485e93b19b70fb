/**
 * `qrexec-policy list`: for every concrete (source, target, SERVICE[+ARG])
 * the policy mentions, the decision and the deciding rule (issue 9). Loads
 * the policy and system info like every command, selects, and renders the
 * rows as text or JSON. Exit status 0 (even when nothing matches), 1 when
 * the policy or system info cannot be used, 2 for a bad option value.
 */
import { expected } from '../errors.js';
import { nodeFileSource } from '../parser/file-source.js';
import { listLegacyDir } from '../parser/loader.js';
import type { Rule } from '../parser/rule.js';
import { Policy, type LegacyPolicy, type RuleSet } from '../policy/policy.js';
import { splitServiceArg } from '../policy/request.js';
import type { Io } from '../io/io.js';
import { CANNOT_DECIDE, openSources, showPaths, type SourceOptions } from '../io/sources.js';
import { legacyMentions, ruleMentions, serviceEntries, sourcesOf, targetsOf, type Mentions, type ServiceEntry } from './axes.js';
import { globFilter, parseActions } from './select.js';
import { listRows } from './rows.js';
import { BufferedOut, OutputClosed, streamSink, type Watched } from './output.js';
import { writeJson } from './json.js';
import { writeText } from './text.js';

export interface ListArgs extends SourceOptions {
  source?: readonly string[] | undefined;
  target?: readonly string[] | undefined;
  service?: readonly string[] | undefined;
  action?: readonly string[] | undefined;
  format?: 'text' | 'json' | undefined;
  explain?: boolean | undefined;
  /** `false` with --no-color. */
  color?: boolean | undefined;
}

/** Io, plus facts about the stream `out` writes to; the defaults describe process.stdout, where the CLI writes. */
export interface ListIo extends Io {
  /** Is the output a terminal? */
  isTTY?: boolean;
  /** The stream to wait for (a slow reader) and to watch (a reader that has gone). */
  stream?: Watched;
}

const NAME = 'qrexec-policy list';

/** Colour only on a terminal, never with --no-color or NO_COLOR (https://no-color.org). */
export function useColour(args: ListArgs, io: ListIo): boolean {
  return args.color !== false && !io.env['NO_COLOR'] && (io.isTTY ?? process.stdout.isTTY === true);
}

/** The services and arguments to enumerate, or why the policy cannot be listed. */
function mentionsOf(ruleset: RuleSet): Mentions | string {
  if (ruleset instanceof Policy) {
    if (ruleset.error !== null) return `policy failed to load: ${ruleset.error.describe()}`;
    return ruleMentions(ruleset.rules);
  }
  // --legacy: one R4.0 file per service, read on demand; the directory says which exist
  const listed = listLegacyDir(nodeFileSource, (ruleset as LegacyPolicy).legacyPath);
  /* c8 ignore next -- unreadablePolicy() listed it a moment ago; if it changed since, this still fails closed */
  if ('error' in listed) return listed.error;
  return legacyMentions(listed.entries);
}

/**
 * Every rule that can decide a row of the selected entries, or the load error
 * in the files they read (--legacy reads them per service).
 */
function candidateRules(ruleset: RuleSet, entries: readonly ServiceEntry[]): Set<Rule> | string {
  const rules = new Set<Rule>();
  for (const e of entries) {
    const { service, argument } = splitServiceArg(e.request);
    const c = ruleset.candidates(service, argument);
    if (c.kind === 'error') return `policy failed to load: ${c.error.describe()}`;
    if (c.kind === 'rules') for (const r of c.rules) rules.add(r);
  }
  return rules;
}

export async function runList(args: ListArgs, io: ListIo): Promise<number> {
  // a bad value is a UsageError: the command line reports it (exit 2)
  const select = {
    actions: parseActions(args.action),
    source: globFilter('--source', args.source),
    target: globFilter('--target', args.target),
    service: globFilter('--service', args.service),
  };
  const sources = await openSources(args, io.env);
  if ('problem' in sources) {
    io.err(`${NAME}: could not decide: ${sources.problem}\n`);
    return CANNOT_DECIDE;
  }
  const { si, ruleset } = sources;
  const mentions = mentionsOf(ruleset);
  const entries = typeof mentions === 'string' ? [] : serviceEntries(mentions).filter((e) => select.service(e.name));
  const rules = typeof mentions === 'string' ? mentions : candidateRules(ruleset, entries);
  if (typeof rules === 'string') {
    // fail closed: no rows at all rather than rows from a policy that does not load
    io.err(`${NAME}: ${rules}\n`);
    return 1;
  }

  const targets = targetsOf(si).filter(select.target);
  const rows = listRows(ruleset, si, {
    sources: sourcesOf(si).filter(select.source),
    entries,
    targets,
    actions: select.actions,
    explain: !!args.explain,
  });
  const sink = streamSink(io.stream ?? process.stdout, io.out);
  const out = new BufferedOut(sink);
  const render =
    args.format === 'json' ? writeJson(rows, out) : writeText(rows, out, useColour(args, io), { targets, rules, show: showPaths(args) });
  try {
    const n = await render.finally(sink.release);
    if (n === 0 && args.format !== 'json') io.err(`${NAME}: nothing matches the selection\n`);
    return 0;
  } catch (err) {
    // the reader left (`list | head`): stop quietly; the listing is incomplete, so not 0
    expected(err, OutputClosed);
    return 1;
  }
}
