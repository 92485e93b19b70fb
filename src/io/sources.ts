/**
 * Where the policy and the system info come from, for every command:
 * `--path`, `--legacy-path`, `--legacy`, `--system-info` /
 * `QREXEC_POLICY_SYSTEM_INFO`, or qubesd (SPEC §2, §5).
 */
// named imports: a namespace import of a built-in costs the per-call bundle a copy of every export (~0.1 ms and ~10 KB each)
import { statSync } from 'node:fs';
import { DEFAULT_LEGACY_PATH, DEFAULT_POLICY_PATHS, listLegacyDir } from '../parser/loader.js';
import { MAX_SYSTEM_INFO_SIZE } from '../parser/limits.js';
import { LegacyPolicy, loadPolicySet, type Policy, type RuleSet } from '../policy/policy.js';
import { parseSystemInfo, SystemInfo, SystemInfoError } from '../policy/system-info.js';
import { configuredPath, QUBESD_INTERNAL_SOCKET } from '../exec/paths.js';
import { decodeUtf8, FileSourceError, joinPath, nodeFileSource, readFileText, type FileSource } from '../parser/file-source.js';
import { asGiven, type ShowPath } from '../render/text.js';
import { describeIo, expected } from '../errors.js';

export interface SourceOptions {
  path?: readonly string[] | undefined;
  legacyPath?: string | undefined;
  legacy?: boolean | undefined;
  systemInfo?: string | undefined;
  qubesdInternalSocket?: string | undefined;
}

/**
 * Exit status of a command that could not decide anything: the system info
 * or a policy directory cannot be read (not a denial: nothing was decided).
 */
export const CANNOT_DECIDE = 4;

/**
 * The error that makes `ruleset` unusable because a directory of it cannot
 * be read (a policy or R4.0 directory; not a policy that reads but does not
 * load), or null.
 */
export function unreadablePolicy(ruleset: RuleSet, fs: FileSource = nodeFileSource): string | null {
  if (ruleset instanceof LegacyPolicy) {
    const dir = ruleset.legacyPath;
    if (fs.kind(dir) !== 'dir') return `${dir}: the legacy policy directory does not exist`;
    const listing = listLegacyDir(fs, dir);
    return 'error' in listing ? listing.error : null;
  }
  const e = (ruleset as Policy).errors.find((x) => x.id === 'policy-dir' || x.id === 'legacy-dir');
  return e === undefined ? null : e.describe();
}

/**
 * The system info and the rule set the options name, or why nothing can be
 * decided with them (say it, and exit CANNOT_DECIDE): the system info or a
 * policy directory cannot be read.
 */
export async function openSources(
  opts: SourceOptions,
  env: NodeJS.ProcessEnv,
  fs: FileSource = nodeFileSource,
): Promise<{ si: SystemInfo; ruleset: RuleSet } | { problem: string }> {
  let si: SystemInfo;
  try {
    si = await obtainSystemInfo(opts, env);
  } catch (err) {
    expected(err, SystemInfoError);
    return { problem: err.message };
  }
  const ruleset = openRuleSet(opts);
  const problem = unreadablePolicy(ruleset, fs);
  return problem === null ? { si, ruleset } : { problem };
}

/** The policy directories the options name, highest priority first. */
function policyDirs(opts: SourceOptions): readonly string[] {
  return opts.path && opts.path.length ? opts.path : DEFAULT_POLICY_PATHS;
}

/**
 * How paths of this policy are shown: as the command line named the
 * directories (the loader names the files it includes by their real paths).
 */
export function showPaths(opts: SourceOptions, fs: FileSource = nodeFileSource): ShowPath {
  const dirs = [...(opts.legacy ? [] : policyDirs(opts)), opts.legacyPath ?? DEFAULT_LEGACY_PATH];
  return asGiven(dirs.map((d) => [joinPath(d, '.'), fs.resolve(d)] as const));
}

/**
 * The rule set the options name. `focus` (a service) is for one-shot callers
 * that decide a single request: only that service's rules are built, while
 * every line is still checked (see parser/quick-check.ts).
 */
export function openRuleSet(opts: SourceOptions, focus?: string): RuleSet {
  const legacyPath = opts.legacyPath ?? DEFAULT_LEGACY_PATH;
  if (opts.legacy) return new LegacyPolicy({ legacyPath });
  const paths = policyDirs(opts);
  return loadPolicySet(focus === undefined ? { paths, legacyPath } : { paths, legacyPath, focus });
}

/**
 * JSON text is UTF-8 (RFC 8259 §8.1). Lenient decoding would turn a bad byte
 * into U+FFFD and so a qube name into some other name: refuse it instead.
 * Node's own decoding first; its U+FFFD, a bad byte or a real one, sends the
 * bytes through the strict decoder policy files use. One leading
 * byte-order mark is dropped.
 */
export function decodeSystemInfo(bytes: Uint8Array, source: string): SystemInfo {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return parseText(text.includes('\ufffd') ? strictText(bytes, source) : text, source);
}

/** `bytes` as strict UTF-8; SystemInfoError `SOURCE: not valid UTF-8` for bad ones. */
function strictText(bytes: Uint8Array, source: string): string {
  try {
    return decodeUtf8(bytes, source);
  } catch (err) {
    expected(err, FileSourceError);
    throw new SystemInfoError(err.message);
  }
}

/** The document, without one leading byte-order mark. */
function parseText(text: string, source: string): SystemInfo {
  return parseSystemInfo(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, source);
}

/** Read and validate a system-info file, as policy files are read; SystemInfoError names the file and the problem. */
export function readSystemInfoFile(file: string): SystemInfo {
  const source = `system info ${file}`;
  let text: string;
  try {
    if (statSync(file).size > MAX_SYSTEM_INFO_SIZE) throw new SystemInfoError(`${source}: larger than ${MAX_SYSTEM_INFO_SIZE} bytes`);
    text = readFileText(file, (bytes) => strictText(bytes, source));
  } catch (err) {
    if (err instanceof SystemInfoError) throw err;
    throw new SystemInfoError(`cannot read system info ${file}: ${describeIo(err)}`);
  }
  return parseText(text, source);
}

/** The system-info file to use, if any (option first, then the environment). */
export function systemInfoPath(opts: SourceOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return opts.systemInfo ?? (env['QREXEC_POLICY_SYSTEM_INFO'] || undefined);
}

/** Where qubesd's system info is named in messages. */
export const FROM_QUBESD = 'system info from qubesd';

/** qubesd's internal.GetSystemInfo reply, undecoded (SystemInfoError if qubesd cannot be asked). */
export async function fetchSystemInfo(socket: string): Promise<Buffer> {
  // the socket client is loaded only when there is no file to read
  const { qubesdCall, QubesdError } = await import('../exec/qubesd.js');
  try {
    return await qubesdCall({ socket, method: 'internal.GetSystemInfo', dest: 'dom0' });
  } catch (err) {
    if (err instanceof QubesdError) throw new SystemInfoError(`no system info: give --system-info FILE or run in dom0 (${err.message})`);
    throw err;
  }
}

/** System info from the file, or from qubesd's internal.GetSystemInfo. */
export async function obtainSystemInfo(opts: SourceOptions, env: NodeJS.ProcessEnv = process.env): Promise<SystemInfo> {
  const file = systemInfoPath(opts, env);
  if (file !== undefined) return readSystemInfoFile(file);
  const socket = configuredPath(opts.qubesdInternalSocket, env, 'QUBESD_INTERNAL_SOCKET', QUBESD_INTERNAL_SOCKET);
  return decodeSystemInfo(await fetchSystemInfo(socket), FROM_QUBESD);
}
