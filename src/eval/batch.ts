/**
 * `qrexec-policy eval --json --batch FILE|-`: one JSON request per input
 * line, one JSON decision per output line, in order (SPEC §3.3).
 */
import { describeIo, expected } from '../errors.js';
import * as fs from 'node:fs';
import { denyUnevaluated, evaluate } from '../policy/evaluate.js';
import type { Decision } from '../policy/decision.js';
import type { RuleSet } from '../policy/policy.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { decisionJsonLine } from '../render/json.js';
import { defaultIo, type Io } from '../io/io.js';
import { obtainSystemInfo, openRuleSet, readSystemInfoFile, systemInfoPath, type SourceOptions } from '../io/sources.js';
import { denySystemInfo, type EvalArgs } from './cli.js';

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
    io.err(`qrexec-policy eval: cannot read ${args.batch}: ${describeIo(err)}\n`);
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
      d = denyUnevaluated('bad-request', req, '', null);
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
