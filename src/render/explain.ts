/**
 * `explain`: the decision for a person. Which rule decided, which earlier
 * rules were passed over and which column did not match (and why), and for
 * an ask where every offered target came from. It reuses the evaluator's
 * own matching functions, so it cannot explain a different decision.
 */
import type { Rule } from '../parser/rule.js';
import { expected } from '../errors.js';
import type { Token } from '../parser/tokens.js';
import { evaluate } from '../policy/evaluate.js';
import type { Decision } from '../policy/decision.js';
import {
  defaultDispvmName,
  EvaluationFault,
  matchesServiceArgument,
  matchesSource,
  matchesTarget,
} from '../policy/match.js';
import type { RuleSet } from '../policy/policy.js';
import { parseRequest, type Request, type RequestInput, type TargetValue } from '../policy/request.js';
import type { SystemInfo } from '../policy/system-info.js';
import { asIs, reasonText, ruleDisplay, ruleLocation, type ShowPath } from './text.js';


function describeSourceMismatch(tok: Token, req: Request): string {
  const src = req.source;
  const who = src.text;
  switch (tok.kind) {
    case 'anyvm':
      return `@anyvm never matches dom0`;
    case 'adminvm':
      return `${who} is not dom0`;
    case 'qube':
      return `${who} is not ${tok.text}`;
    case 'tag':
    case 'type':
      if (src.qube === null) return unnamed(who, tok);
      return tok.kind === 'tag' ? `${who} has no tag ${tok.tag}` : `${who} is of type ${src.qube.type}, not ${tok.type}`;
    case 'dispvm-template':
    case 'dispvm-tag':
      return `${tok.text} never matches a caller (a running disposable calls under its own name)`;
    /* c8 ignore next 2 -- any and @default/@dispvm (not valid sources) never reach here */
    default:
      return `${tok.text} does not match ${who}`;
  }
}

/** Why a @tag:/@type: token cannot match a value that is no name or uuid: of a listed qube. */
function unnamed(value: string, tok: Token): string {
  if (value.startsWith('@')) return `${value} names no qube (only names and uuid: forms do), so ${tok.text} never matches it, as in Qubes`;
  return `${value} is not a known qube, so ${tok.text} never matches it`;
}

function describeTarget(v: TargetValue): string {
  return v.kind === 'default' ? '@default (no target named)' : v.text;
}

function describeTargetMismatch(tok: Token, req: Request): string {
  const v = req.target;
  const what = describeTarget(v);
  switch (tok.kind) {
    case 'anyvm':
      return `@anyvm never matches dom0 (${what})`;
    case 'adminvm':
      return `${what} is not dom0`;
    case 'default':
      return `the caller named a target (${what}); @default matches only calls without one`;
    case 'dispvm':
      return `${what} is not @dispvm`;
    case 'qube':
      return `${what} is not ${tok.text}`;
    case 'tag':
    case 'type':
      // a key of the system info: a qube, or dom0 spelled by name or zero uuid
      if (v.kind !== 'qube' && !(v.kind === 'dom0' && v.text !== '@adminvm')) return unnamed(v.text, tok);
      return tok.kind === 'tag' ? `${what} has no tag ${tok.tag}` : `${what} is not of type ${tok.type}`;
    case 'dispvm-template':
      if (v.kind === 'dispvm') {
        // without a default template, matching has already stopped with a fault
        return `@dispvm from ${req.source.text} means @dispvm:${defaultDispvmName(req.source)!}, not ${tok.text}`;
      }
      return `${what} is not ${tok.text}`;
    case 'dispvm-tag':
      return `${what} is not a disposable from a template tagged ${tok.tag}`;
    /* c8 ignore next 2 -- * matches every target */
    case 'any':
      return 'unreachable';
  }
}

/** Why a rule did not match, naming the first column that failed. */
export function mismatchReason(rule: Rule, req: Request, si: SystemInfo): string {
  if (rule.service !== null && rule.service !== req.service) return `service: ${rule.service} is not ${req.service}`;
  if (!matchesServiceArgument(rule, req)) return `argument: ${rule.argument} is not ${req.argument}`;
  try {
    if (!matchesSource(rule.source, req.source, si)) return `source: ${describeSourceMismatch(rule.source, req)}`;
    if (!matchesTarget(rule.target, req.target, req.source, si))
      return `target: ${describeTargetMismatch(rule.target, req)}`;
  } catch (err) {
    expected(err, EvaluationFault);
    return `cannot be evaluated: ${err.message}`;
  }
  return 'matches';
}

export interface ExplainOptions {
  assumeYesForAsk?: boolean;
  /** How paths are shown (default: as the loader names them). */
  show?: ShowPath;
  /** List every passed-over rule, not only the first ones. */
  all?: boolean;
}

const SKIP_LIMIT = 50;

/** Render the explanation; returns the text and the decision it explains. */
export function explain(
  ruleset: RuleSet,
  si: SystemInfo,
  input: RequestInput,
  opts: ExplainOptions = {},
): { text: string; decision: Decision } {
  const skipped: Rule[] = [];
  const askLines: string[] = [];
  const show = opts.show ?? asIs;
  const decision = evaluate(ruleset, si, input, {
    assumeYesForAsk: !!opts.assumeYesForAsk,
    onSkip: (r) => skipped.push(r),
    askTrace: {
      rule(rule, op, values) {
        if (values.length === 0) return;
        const verb = op === 'add' ? '+' : '-';
        askLines.push(`  ${verb} ${values.join(', ')}    ${ruleLocation(rule, show)}: ${ruleDisplay(rule)}`);
      },
      step(what, removed, added) {
        const parts = [...removed.map((r) => `- ${r}`), ...added.map((a) => `+ ${a}`)];
        askLines.push(`  ${parts.join(', ')}    (${what})`);
      },
    },
  });

  const out: string[] = [];
  const target = input.target === '' ? "'' (none)" : input.target;
  out.push(`request:  ${input.source} -> ${target}  ${input.service}`);
  const parsed = parseRequest(input, si);
  if (parsed.ok) {
    const r = parsed.request;
    out.push(`          service ${r.service}, argument ${r.argument}, target ${describeTarget(r.target)}`);
  }
  out.push(`decision: ${headline(decision, show)}`);
  for (const w of decision.warnings) out.push(`warning:  ${w}`);
  if (decision.rule) {
    out.push('', `deciding rule: ${ruleLocation(decision.rule, show)}`, `    ${ruleDisplay(decision.rule)}`);
  }

  if (parsed.ok && (skipped.length || decision.rule)) {
    const req = parsed.request;
    const shown = opts.all ? skipped : skipped.slice(0, SKIP_LIMIT);
    out.push('', `rules passed over before it (${skipped.length}):`);
    if (skipped.length === 0) out.push('  none');
    for (const r of shown) out.push(`  ${ruleLocation(r, show)}: ${ruleDisplay(r)}`, `      ${mismatchReason(r, req, si)}`);
    if (shown.length < skipped.length)
      out.push(`  ... ${skipped.length - shown.length} more (use --all to list them)`);
    const considered = ruleset.candidates(req.service, req.argument);
    if (considered.kind === 'rules' && 'rules' in ruleset) {
      const total = (ruleset as { rules: readonly Rule[] }).rules.length;
      const others = total - considered.rules.length;
      if (others > 0) out.push(`  (${others} rules for other services were not considered)`);
    }
  }
  if (decision.result === 'ask' || (askLines.length && decision.rule?.action === 'ask')) {
    out.push('', 'offered targets, collected from every rule for this call (last rule first):');
    if (decision.rule?.redirect) out.push(`  only ${decision.rule.redirect.text}, from target= of the deciding rule`);
    out.push(...askLines);
  }
  return { text: out.join('\n') + '\n', decision };
}

function headline(d: Decision, show: ShowPath): string {
  switch (d.result) {
    case 'allow':
      return `allow, to ${d.target}` + (d.user ? ` as user ${d.user}` : '') + (d.autostart ? '' : ' (autostart=no)');
    case 'ask':
      return `ask, offering ${d.targets.join(', ')}` + (d.defaultTarget ? `; default ${d.defaultTarget}` : '');
    case 'deny':
      return `deny: ${reasonText(d, show)}`;
  }
}
