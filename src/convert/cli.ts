/**
 * `qrexec-policy convert` / `qrexec-legacy-convert`: an R4.0 policy
 * directory → one `policy.d` file, printed or written (never over an
 * existing file without --force), after proving that it reads back as the
 * same rules. Everything that is not converted is reported.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeFileSource } from '../parser/file-source.js';
import { DEFAULT_LEGACY_PATH, isValidPolicyFileName, looksLikePolicyFile } from '../parser/loader.js';
import { ruleWhere } from '../parser/rule.js';
import type { Io } from '../io/io.js';
import { loadLegacyDir } from './load.js';
import { renderConverted } from './render.js';
import { verifyConverted } from './verify.js';
import { describeIo } from '../errors.js';

export const DEFAULT_OUTPUT_NAME = '35-compat-converted.policy';

export interface ConvertArgs {
  legacyPath?: string | undefined;
  outputDir?: string | undefined;
  outputName?: string | undefined;
  dryRun?: boolean | undefined;
  force?: boolean | undefined;
}

/** Write `text` to `file` in one step (a temporary file renamed over it); returns an error message or null. */
function writeAtomically(file: string, text: string, force: boolean): string | null {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    if (force) fs.renameSync(tmp, file);
    else {
      // link never replaces a file (one may have appeared since the check): without --force, nothing is replaced
      fs.linkSync(tmp, file);
      fs.unlinkSync(tmp);
    }
    return null;
  } catch (err) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      // it was never created
    }
    return `cannot write ${file}: ${describeIo(err)}`;
  }
}

export async function runConvert(args: ConvertArgs, io: Io, name = 'qrexec-policy convert'): Promise<number> {
  const say = (s: string) => io.err(`${name}: ${s}\n`);
  const outputName = args.outputName ?? DEFAULT_OUTPUT_NAME;
  if (!looksLikePolicyFile(outputName) || !isValidPolicyFileName(outputName)) {
    say(`--output-name ${outputName}: a policy file name ends in .policy, does not start with a dot and uses only 0-9 a-z _ . -`);
    return 2;
  }
  const dir = args.legacyPath ?? DEFAULT_LEGACY_PATH;
  const load = loadLegacyDir(dir, nodeFileSource);
  for (const s of load.skipped) say(s);
  if (load.errors.length) {
    say(`${dir} does not load (with !compat-4.0 every call would be denied); nothing converted:`);
    for (const e of load.errors) io.err(`  ${e.describe()}\n`);
    return 1;
  }
  const files = load.sections.length;
  if (files === 0) {
    say(`no R4.0 policy files in ${dir}; nothing to convert`);
    return 0;
  }
  const converted = renderConverted(load, outputName);
  for (const n of converted.notConverted) say(`not converted: ${ruleWhere(n.rule)}: ${n.reason}: ${n.rule.text}`);
  const problems = verifyConverted(converted.text, outputName, converted.rules);
  /* c8 ignore next 5 -- only a bug in the converter gets here (verify.ts is tested on altered text) */
  if (problems.length) {
    for (const p of problems) say(`internal error: ${p}`);
    say('nothing written');
    return 1;
  }
  const implicit = converted.rules.filter((r) => r.format === 'implicit').length;
  say(
    `${converted.rules.length - implicit} rules and ${implicit} implicit denies from ${files} R4.0 files of ${dir}` +
      ` read back as the same rules`,
  );
  if (args.outputDir === undefined) {
    if (!args.dryRun) io.out(converted.text);
    return 0;
  }
  const target = path.join(args.outputDir, outputName);
  if (args.dryRun) {
    say(`would write ${target} (dry run)`);
    return 0;
  }
  if (!args.force && fs.existsSync(target)) {
    say(`${target} exists; not replaced (use --force to replace it)`);
    return 1;
  }
  const failed = writeAtomically(target, converted.text, !!args.force);
  if (failed !== null) {
    say(failed);
    return 1;
  }
  say(`wrote ${target}; now remove the !compat-4.0 line (35-compat.policy) or the R4.0 files, which it replaces`);
  return 0;
}
