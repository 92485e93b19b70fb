/**
 * `qrexec-policy eval`: one decision (human line or `--json`), or a stream of
 * them with `--batch` (SPEC §3.3).
 */
import { expected } from '../errors.js';
import * as fs from 'node:fs';
import { evaluate } from '../policy/evaluate.js';
import type { Decision } from '../policy/decision.js';
import type { RuleSet } from '../policy/policy.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { decisionJsonLine } from '../render/json.js';
import { obtainSystemInfo, openRuleSet, readSystemInfoFile, systemInfoPath, type SourceOptions } from './sources.js';
import { winstonLogger, type Level } from '../log.js';

export interface EvalArgs extends SourceOptions {
  source?: string | undefined;
  target?: string | undefined;
  service?: string | undefined;
  json?: boolean | undefined;
  assumeYesForAsk?: boolean | undefined;
  requestedSource?: string | undefined;
  batch?: string | undefined;
  logLevel?: Level | undefined;
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  env: NodeJS.ProcessEnv;
}

export const defaultIo = (): Io => ({
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  env: process.env,
});

/** Exit status of `eval` for a decision: 0 allow, 1 deny, 3 ask. */
export function evalStatus(d: Decision): number {
  return d.result === 'allow' ? 0 : d.result === 'ask' ? 3 : 1;
}

function ruleWhere(d: Decision): string {
  if (!d.rule) return '';
  return ` (rule ${d.rule.file}${d.rule.line === null ? '' : ':' + d.rule.line})`;
}

/** One line for people: `allow to personal (rule …:12)`. */
export function decisionText(d: Decision): string {
  switch (d.result) {
    case 'allow': {
      const extra = [d.user ? `user=${d.user}` : '', d.autostart ? '' : 'autostart=no', d.notify ? 'notify=yes' : '']
        .filter(Boolean)
        .join(' ');
      return `allow to ${d.target}${extra ? ' ' + extra : ''}${ruleWhere(d)}`;
    }
    case 'ask':
      return (
        `ask: choose from ${d.targets.join(', ')}` +
        (d.defaultTarget ? ` (default ${d.defaultTarget})` : '') +
        ruleWhere(d)
      );
    case 'deny':
      return `deny: ${d.reason}${ruleWhere(d)}`;
  }
}

function denySystemInfo(args: EvalArgs, err: SystemInfoError): Decision {
  return {
    result: 'deny',
    kind: 'load-error',
    reason: err.message,
    notify: true,
    service: null,
    argument: null,
    source: args.source ?? '',
    requestedTarget: null,
    rule: null,
    warnings: [],
    requestedSource: args.requestedSource ?? null,
  };
}

export async function runEval(args: EvalArgs, io: Io = defaultIo()): Promise<number> {
  if (args.batch !== undefined) return runBatch(args, io);
  let d: Decision;
  try {
    const si = await obtainSystemInfo(args, io.env);
    d = evaluate(
      openRuleSet(args),
      si,
      { source: args.source!, target: args.target!, service: args.service!, requestedSource: args.requestedSource ?? null },
      { assumeYesForAsk: !!args.assumeYesForAsk },
    );
  } catch (err) {
    expected(err, SystemInfoError);
    d = denySystemInfo(args, err);
  }
  if (d.warnings.length) {
    // winston is loaded only when there is something to say
    const log = await winstonLogger(args.logLevel ?? 'warn');
    for (const w of d.warnings) log.log('warn', w);
  }
  io.out((args.json ? decisionJsonLine(d) : decisionText(d)) + '\n');
  return evalStatus(d);
}

/** One batch input line, validated. */
interface BatchRequest {
  source: string;
  target: string;
  service: string;
  path?: string[] | undefined;
  legacyPath?: string;
  systemInfo?: string;
  requestedSource?: string;
  assumeYesForAsk?: boolean;
}

function badLine(reason: string): Decision {
  return {
    result: 'deny',
    kind: 'bad-request',
    reason,
    notify: true,
    service: null,
    argument: null,
    source: '',
    requestedTarget: null,
    rule: null,
    warnings: [],
    requestedSource: null,
  };
}

function parseBatchLine(line: string): BatchRequest | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'bad batch line: not valid JSON';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'bad batch line: not a JSON object';
  const o = v as Record<string, unknown>;
  for (const k of ['source', 'target', 'service'] as const) {
    if (typeof o[k] !== 'string') return `bad batch line: "${k}" must be a string`;
  }
  const req: BatchRequest = { source: o['source'] as string, target: o['target'] as string, service: o['service'] as string };
  const p = o['path'];
  if (p !== undefined) {
    if (typeof p === 'string') req.path = [p];
    // an empty list means "not given": the command line's --path applies
    else if (Array.isArray(p) && p.every((x) => typeof x === 'string')) req.path = p.length ? (p as string[]) : undefined;
    else return 'bad batch line: "path" must be a string or an array of strings';
  }
  for (const [k, field] of [
    ['legacy_path', 'legacyPath'],
    ['system_info', 'systemInfo'],
    ['requested_source', 'requestedSource'],
  ] as const) {
    const x = o[k];
    if (x === undefined || x === null) continue;
    if (typeof x !== 'string') return `bad batch line: "${k}" must be a string`;
    req[field] = x;
  }
  const ay = o['assume_yes_for_ask'];
  if (ay !== undefined) {
    if (typeof ay !== 'boolean') return 'bad batch line: "assume_yes_for_ask" must be a boolean';
    req.assumeYesForAsk = ay;
  }
  return req;
}

/**
 * `eval --json --batch FILE|-`: one JSON decision per input line, in order.
 * Policies are loaded once per (path, legacy_path) and system info once per file.
 */
export async function runBatch(args: EvalArgs, io: Io = defaultIo()): Promise<number> {
  let input: string;
  try {
    input = fs.readFileSync(args.batch === '-' ? 0 : args.batch!, 'utf8');
  } catch (err) {
    io.err(`qrexec-policy eval: cannot read ${args.batch}: ${(err as NodeJS.ErrnoException).code ?? err}\n`);
    return 2;
  }
  const lines = input.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();

  const policies = new Map<string, RuleSet>();
  const infos = new Map<string, SystemInfo | SystemInfoError>();
  const systemInfo = async (file: string | undefined): Promise<SystemInfo | SystemInfoError> => {
    const key = file ?? '\0qubesd';
    let si = infos.get(key);
    if (si === undefined) {
      try {
        si = file === undefined ? await obtainSystemInfo({ ...args, systemInfo: undefined }, { ...io.env, QREXEC_POLICY_SYSTEM_INFO: '' }) : readSystemInfoFile(file);
      } catch (err) {
        expected(err, SystemInfoError);
        si = err;
      }
      infos.set(key, si);
    }
    return si;
  };

  let out: string[] = [];
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const req = parseBatchLine(line);
    let d: Decision;
    if (typeof req === 'string') {
      d = badLine(req);
    } else {
      const srcOpts: SourceOptions = {
        ...args,
        path: req.path ?? args.path,
        legacyPath: req.legacyPath ?? args.legacyPath,
      };
      const key = JSON.stringify([srcOpts.path ?? null, srcOpts.legacyPath ?? null, !!srcOpts.legacy]);
      let rules = policies.get(key);
      if (rules === undefined) {
        rules = openRuleSet(srcOpts);
        policies.set(key, rules);
      }
      const si = await systemInfo(req.systemInfo ?? systemInfoPath(args, io.env));
      if (si instanceof SystemInfoError) {
        d = denySystemInfo({ source: req.source, requestedSource: req.requestedSource ?? args.requestedSource }, si);
      } else {
        d = evaluate(
          rules,
          si,
          {
            source: req.source,
            target: req.target,
            service: req.service,
            requestedSource: req.requestedSource ?? args.requestedSource ?? null,
          },
          { assumeYesForAsk: req.assumeYesForAsk ?? !!args.assumeYesForAsk },
        );
      }
    }
    out.push(decisionJsonLine(d));
    if (out.length >= 512) {
      io.out(out.join('\n') + '\n');
      out = [];
    }
  }
  if (out.length) io.out(out.join('\n') + '\n');
  return 0;
}
