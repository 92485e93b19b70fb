/**
 * The Policy Admin API services (the drop-in for Qubes' qubes-policy-admin,
 * issue 16, SPEC §11), and policy.Eval. One call: a service name with an
 * argument, a payload; a reply, or a PolicyAdminException refusal. Reads
 * take no lock (writes are atomic renames: a reader always sees a whole
 * file); Replace and Remove hold the directory lock from the token check
 * to the rename, so two changes with one token cannot both pass it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { byteCompare, CHARSET } from '../parser/text.js';
import { looksLikePolicyFile, POLICY_SUFFIX, RUNTIME_POLICY_PATH } from '../parser/loader.js';
import { loadPolicySet } from '../policy/policy.js';
import { evaluate } from '../policy/evaluate.js';
import { SystemInfoError } from '../policy/system-info.js';
import { decisionJsonLine } from '../render/json.js';
import { obtainSystemInfo } from '../io/sources.js';
import { expected } from '../errors.js';
import {
  PolicyAdminException,
  PolicyAdminFileNotFoundException,
  PolicyAdminInvalidFilePathException,
  PolicyAdminProtocolException,
  PolicyAdminSyntaxException,
} from './errors.js';
import { displayName, INCLUDE_DIR, target, type Area, type Target } from './names.js';
import { checkToken, parseToken, tokenOf } from './token.js';
import { decodePolicyText, loadErrorAfter, type Change } from './validate.js';
import { withDirLock, type LockOptions } from './lock.js';
import { ensureDirLike, removeFileDurable, removeLeftovers, writeFileAtomic } from './write.js';

export interface AdminContext {
  /** QREXEC_POLICY_DIR: the directory the API manages. */
  policyDir: string;
  /** QREXEC_POLICY_LEGACY_DIR: where `!compat-4.0` reads. */
  legacyDir: string;
  /** Where policy.Eval finds system info (QREXEC_POLICY_SYSTEM_INFO, QUBESD_INTERNAL_SOCKET). */
  env: NodeJS.ProcessEnv;
  /** Group of written files (`qubes`), or null. */
  gid: number | null;
  lock?: LockOptions;
  /** Called between a durable write and its rename (tests crash there). */
  beforeRename?: () => void;
}

export interface Reply {
  /** What goes to stdout. */
  out: Uint8Array;
  /** What the call did, for the log line. */
  did: string;
}

const EMPTY = new Uint8Array(0);

interface Method {
  /** The call takes no `+ARGUMENT`. */
  noArg: boolean;
  /** The call takes no payload. */
  noPayload: boolean;
  run(ctx: AdminContext, arg: string, payload: Uint8Array): Promise<Reply>;
}

// ------------------------------------------------------------------ reading

/** The current bytes of a file to be changed, null if missing; refuses anything but a regular file. */
export function currentBytes(t: Target): Buffer | null {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(t.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!st.isFile())
    throw new PolicyAdminInvalidFilePathException(`${t.path} is not a regular file (a link or a directory): change it in dom0 by hand`);
  return fs.readFileSync(t.path);
}

function list(ctx: AdminContext, area: Area): Reply {
  const dir = area === 'include' ? path.join(ctx.policyDir, INCLUDE_DIR) : ctx.policyDir;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    // no include directory yet: nothing to list
    if (area === 'include' && (err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
    else throw err;
  }
  const isFile = (n: string) => fs.statSync(path.join(dir, n), { throwIfNoEntry: false })?.isFile() === true;
  const shown =
    area === 'include'
      ? names.filter((n) => !n.startsWith('.') && isFile(n))
      : names.filter((n) => looksLikePolicyFile(n) && isFile(n)).map((n) => n.slice(0, -POLICY_SUFFIX.length));
  return { out: Buffer.from(shown.sort(byteCompare).map((n) => n + '\n').join('')), did: `${shown.length} files` };
}

function get(ctx: AdminContext, area: Area, name: string): Reply {
  const t = target(ctx.policyDir, area, name);
  let data: Buffer;
  try {
    data = fs.readFileSync(t.path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR') throw new PolicyAdminFileNotFoundException(`not found: ${t.path}`);
    throw err;
  }
  const token = tokenOf(data);
  return { out: Buffer.concat([Buffer.from(token + '\n'), data]), did: `read ${t.path} ${token}` };
}

// ------------------------------------------------------------------ changing

function refuseIfBroken(ctx: AdminContext, change: Change, t: Target): void {
  const err = loadErrorAfter(ctx.policyDir, ctx.legacyDir, [change]);
  if (err === null) return;
  const removed = change.content === null && err.id === 'include-missing' && err.message.includes(t.path) ? ' (the file this change removes)' : '';
  throw new PolicyAdminSyntaxException(`change refused, the policy would not load: ${err.describe()}${removed}`);
}

/** Under the lock: leftovers of a killed writer are removed before anything else. */
function locked<T>(ctx: AdminContext, fn: () => T): Promise<T> {
  return withDirLock(
    ctx.policyDir,
    () => {
      removeLeftovers(ctx.policyDir);
      removeLeftovers(path.join(ctx.policyDir, INCLUDE_DIR));
      return fn();
    },
    { env: ctx.env, ...ctx.lock },
  );
}

async function replace(ctx: AdminContext, area: Area, name: string, payload: Uint8Array): Promise<Reply> {
  const t = target(ctx.policyDir, area, name);
  const nl = payload.indexOf(0x0a);
  if (nl < 0) throw new PolicyAdminProtocolException('the payload must start with a token line (any, new or sha256:HEX)');
  const token = parseToken(Buffer.from(payload.subarray(0, nl)).toString('latin1'));
  const data = payload.subarray(nl + 1);
  const decoded = decodePolicyText(data);
  if ('badLine' in decoded) throw new PolicyAdminSyntaxException(`${t.path}:${decoded.badLine}: not valid UTF-8`);
  return locked(ctx, () => {
    const current = currentBytes(t);
    checkToken(token, current, displayName(t));
    refuseIfBroken(ctx, { path: t.path, content: decoded.text }, t);
    if (area === 'include') ensureDirLike(t.dir, ctx.policyDir);
    writeFileAtomic(t.path, data, { gid: ctx.gid, beforeRename: ctx.beforeRename });
    return { out: EMPTY, did: describeWrite({ path: t.path, data, before: current }) };
  });
}

async function remove(ctx: AdminContext, area: Area, name: string, payload: Uint8Array): Promise<Reply> {
  const t = target(ctx.policyDir, area, name);
  // the token alone; a line end after it is tolerated
  let text = Buffer.from(payload).toString('latin1');
  if (text.endsWith('\n')) text = text.slice(0, -1);
  const token = parseToken(text);
  return locked(ctx, () => {
    const current = currentBytes(t);
    checkToken(token, current, displayName(t));
    if (current === null) throw new PolicyAdminFileNotFoundException(`not found: ${t.path}`);
    refuseIfBroken(ctx, { path: t.path, content: null }, t);
    removeFileDurable(t.path);
    return { out: EMPTY, did: describeWrite({ path: t.path, data: null, before: current }) };
  });
}

interface WriteChange {
  path: string;
  data: Uint8Array | null;
  before: Uint8Array | null;
}

/** `replaced FILE sha256:OLD -> sha256:NEW` (created: `(none)`, removed: `(removed)`). */
export function describeWrite(c: WriteChange): string {
  const verb = c.data === null ? 'removed' : c.before === null ? 'created' : 'replaced';
  return `${verb} ${c.path} ${c.before === null ? '(none)' : tokenOf(c.before)} -> ${c.data === null ? '(removed)' : tokenOf(c.data)}`;
}

// ------------------------------------------------------------------ questions about the policy

/**
 * Which files hold rules for a service (its own and `*` rules), in policy
 * order: `NAME` for a file of the policy directory, `include/NAME` for one
 * of its include directory (Qubes gives just `NAME` there, which names a
 * different file), the full path for anything else (R4.0 files, includes
 * elsewhere), so that each answer is something `policy.Get` can fetch or a
 * path to look at.
 */
function getFiles(ctx: AdminContext, service: string): Reply {
  if (service === '') throw new PolicyAdminProtocolException('the argument must name a service');
  if (service.includes('+')) throw new PolicyAdminProtocolException(`invalid service ${JSON.stringify(service)}: a service name has no '+'`);
  const policy = loadPolicySet({ paths: [ctx.policyDir], legacyPath: ctx.legacyDir });
  if (policy.error) throw new PolicyAdminException(`the policy does not load: ${policy.error.describe()}`);
  const resolved = new Map<string, string>();
  const real = (p: string) => {
    let r = resolved.get(p);
    if (r === undefined) resolved.set(p, (r = fs.realpathSync(p)));
    return r;
  };
  const top = real(ctx.policyDir);
  const include = path.join(top, INCLUDE_DIR);
  const seen = new Set<string>();
  for (const r of policy.rules) {
    if (r.service !== null && r.service !== service) continue;
    const dir = real(path.dirname(r.file));
    const base = path.basename(r.file);
    const shown =
      dir === top && base.endsWith(POLICY_SUFFIX) ? base.slice(0, -POLICY_SUFFIX.length) : dir === include ? `${INCLUDE_DIR}/${base}` : r.file;
    seen.add(shown);
  }
  return { out: Buffer.from([...seen].map((f) => f + '\n').join('')), did: `${seen.size} files` };
}

/** `SOURCE TARGET SERVICE[+ARG]`, one line. */
function parseEvalPayload(payload: Uint8Array): { source: string; target: string; service: string } {
  let text = Buffer.from(payload).toString('latin1');
  if (text.endsWith('\n')) text = text.slice(0, -1);
  const words = text.split(' ');
  if (text.includes('\n') || words.length !== 3 || words.some((w) => w === ''))
    throw new PolicyAdminProtocolException('the payload must be one line: SOURCE TARGET SERVICE[+ARG] (@default for no target)');
  if (!/^[\x20-\x7e]*$/.test(text)) throw new PolicyAdminProtocolException('the payload must be printable ASCII');
  const [source, tgt, service] = words as [string, string, string];
  return { source, target: tgt, service };
}

/**
 * policy.Eval (qubes-issues #6264): the `eval --json` decision for one
 * request, from the policy qrexec decides with (the runtime directory, then
 * the policy directory), with system info from QREXEC_POLICY_SYSTEM_INFO or
 * qubesd. A policy that does not load answers a deny, as eval does.
 */
async function evalRequest(ctx: AdminContext, payload: Uint8Array): Promise<Reply> {
  const req = parseEvalPayload(payload);
  let si;
  try {
    si = await obtainSystemInfo({}, ctx.env);
  } catch (err) {
    expected(err, SystemInfoError);
    throw new PolicyAdminException(`cannot decide: ${err.message}`);
  }
  const policy = loadPolicySet({ paths: [RUNTIME_POLICY_PATH, ctx.policyDir], legacyPath: ctx.legacyDir, focus: req.service.split('+')[0]! });
  const d = evaluate(policy, si, { ...req, requestedSource: null });
  return { out: Buffer.from(decisionJsonLine(d) + '\n'), did: `${req.source} -> ${req.target} ${req.service}: ${d.result}` };
}

// ------------------------------------------------------------------ the table

const METHODS: Readonly<Record<string, Method>> = {
  'policy.List': { noArg: true, noPayload: true, run: async (ctx) => list(ctx, 'policy') },
  'policy.include.List': { noArg: true, noPayload: true, run: async (ctx) => list(ctx, 'include') },
  'policy.Get': { noArg: false, noPayload: true, run: async (ctx, arg) => get(ctx, 'policy', arg) },
  'policy.include.Get': { noArg: false, noPayload: true, run: async (ctx, arg) => get(ctx, 'include', arg) },
  'policy.Replace': { noArg: false, noPayload: false, run: (ctx, arg, p) => replace(ctx, 'policy', arg, p) },
  'policy.include.Replace': { noArg: false, noPayload: false, run: (ctx, arg, p) => replace(ctx, 'include', arg, p) },
  'policy.Remove': { noArg: false, noPayload: false, run: (ctx, arg, p) => remove(ctx, 'policy', arg, p) },
  'policy.include.Remove': { noArg: false, noPayload: false, run: (ctx, arg, p) => remove(ctx, 'include', arg, p) },
  'policy.GetFiles': { noArg: false, noPayload: true, run: async (ctx, arg) => getFiles(ctx, arg) },
  'policy.Eval': { noArg: true, noPayload: false, run: (ctx, _arg, p) => evalRequest(ctx, p) },
};

export const SERVICES: readonly string[] = Object.keys(METHODS);

/** `policy.Get+30-user` → [`policy.Get`, `30-user`]; no `+` → empty argument. */
export function splitServiceName(full: string): [string, string] {
  const plus = full.indexOf('+');
  return plus < 0 ? [full, ''] : [full.slice(0, plus), full.slice(plus + 1)];
}

/** Handle one call; throws a PolicyAdminException to refuse it. */
export async function handleCall(ctx: AdminContext, fullName: string, payload: Uint8Array): Promise<Reply> {
  const [service, arg] = splitServiceName(fullName);
  if (!CHARSET.rpcname.test(arg))
    throw new PolicyAdminProtocolException(`invalid argument ${JSON.stringify(arg)}: use letters, digits, '.', '+', '-' and '_'`);
  const m = Object.hasOwn(METHODS, service) ? METHODS[service]! : undefined;
  if (m === undefined) throw new PolicyAdminProtocolException(`unrecognized method: ${service}`);
  if (m.noArg && arg !== '') throw new PolicyAdminProtocolException(`${service} takes no argument`);
  if (m.noPayload && payload.length !== 0) throw new PolicyAdminProtocolException(`${service} takes no payload`);
  return m.run(ctx, arg, payload);
}
