/**
 * What the daemon answers from: the policy (kept in memory, read again once
 * a change under the policy or legacy directories has settled, cache.ts)
 * and the system info (a file kept the same way, or qubesd asked for every
 * request, as the reference does).
 */
import { expected } from '../errors.js';
import { loadPolicySet, type Policy } from '../policy/policy.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { decodeSystemInfo, fetchSystemInfo, FROM_QUBESD, readSystemInfoFile } from '../io/sources.js';
import { nodeFileSource, type FileSource } from '../parser/file-source.js';
import { ReloadingCache } from './cache.js';
import type { NoteTransition } from './health.js';
import { fileSpecs, treeSpecs, type WatchSpec } from './watch.js';

export interface PolicySource {
  /** Synchronous when nothing changed since the last read. */
  get(): Policy | Promise<Policy>;
  /** What get() would give at once, or null; starts nothing (no read, no wait). */
  peek(): Policy | null;
  invalidate(): void;
  close(): void;
}

/** A file that could not be read or listed for want of descriptors (this process's, or the system's): passing, and worth a hint. */
const OUT_OF_FDS = /\bE[MN]FILE\)?$/;
export const FD_HINT = 'out of file descriptors: raise LimitNOFILE in the service unit';

function outOfFds(p: Policy): boolean {
  return p.errors.some((e) => (e.id === 'file-read' || e.id === 'policy-dir' || e.id === 'legacy-dir') && OUT_OF_FDS.test(e.message));
}

/** One line for the whole failure: the first error, and how many more there are. */
function policyError(p: Policy): string | null {
  if (p.error === null) return null;
  const more = p.errors.length - 1;
  const hint = outOfFds(p) ? `; ${FD_HINT}` : '';
  return p.error.describe() + (more > 0 ? ` (and ${more} more error${more > 1 ? 's' : ''})` : '') + hint;
}

/** `files`: how files are read (tests make reading fail). */
export function policySource(paths: readonly string[], legacyPath: string, note: NoteTransition, files: FileSource = nodeFileSource): PolicySource {
  return new ReloadingCache<Policy>({
    roots: () => [...paths, legacyPath].flatMap((root) => treeSpecs(root)),
    load: (seen) => {
      const value = loadPolicySet({ paths, legacyPath, fs: seen.source(files) });
      const deps: WatchSpec[] = [...value.load.dirs.flatMap((dir) => fileSpecs(dir, true)), ...value.load.files.flatMap((f) => fileSpecs(f))];
      // a file that could not be opened for want of descriptors is no reason to deny until the next edit
      return { value, deps, retry: outOfFds(value) };
    },
    loaded: (p, watching) =>
      note({
        subject: 'policy',
        error: policyError(p),
        summary: `${p.rules.length} rules from ${p.load.files.length} files`,
        watching,
      }),
  });
}

export type SystemInfoResult = SystemInfo | SystemInfoError;

export interface SystemInfoSource {
  /** Synchronous when the answer is at hand (a cached file). */
  get(): SystemInfoResult | Promise<SystemInfoResult>;
  /** What get() would give at once, or null; starts nothing (no read, no qubesd call). */
  peek(): SystemInfoResult | null;
  invalidate(): void;
  close(): void;
}

/** `--system-info FILE`: read once, again after it changes (`read`: how; tests make it fail). */
export function systemInfoFile(file: string, note: NoteTransition, read: (file: string) => SystemInfo = readSystemInfoFile): SystemInfoSource {
  return new ReloadingCache<SystemInfoResult>({
    roots: () => fileSpecs(file),
    load: (seen) => {
      let value: SystemInfoResult;
      seen.resolve(file);
      seen.stat(file);
      try {
        value = read(file);
      } catch (err) {
        expected(err, SystemInfoError);
        value = err;
      }
      const retry = value instanceof SystemInfoError && OUT_OF_FDS.test(value.message);
      return { value, deps: [], retry };
    },
    loaded: (si, watching) =>
      note({
        subject: 'system info',
        error: si instanceof SystemInfoError ? si.message + (OUT_OF_FDS.test(si.message) ? `; ${FD_HINT}` : '') : null,
        summary: si instanceof SystemInfoError ? '' : `${si.qubes.size} qubes from ${file}`,
        watching,
      }),
  });
}

/**
 * No file: ask qubesd for every request. A reply the same, byte for byte, as
 * the previous one is the same system info: its decoded form is used again
 * (decoding and checking 50 qubes' JSON took a quarter of the daemon's time
 * per request, profiled in issue 17), and so are the ask targets worked out
 * for it (policy/ask.ts keeps them per system info).
 */
export function systemInfoFromQubesd(socket: string): SystemInfoSource {
  let last: { reply: Buffer; si: SystemInfo } | null = null;
  return {
    get: () =>
      fetchSystemInfo(socket)
        .then((reply) => {
          if (last !== null && last.reply.equals(reply)) return last.si;
          const si = decodeSystemInfo(reply, FROM_QUBESD);
          last = { reply, si };
          return si;
        })
        .catch((err: unknown) => {
          expected(err, SystemInfoError);
          return err;
        }),
    // never at hand: every request asks qubesd
    peek: () => null,
    invalidate: () => {},
    close: () => {},
  };
}
