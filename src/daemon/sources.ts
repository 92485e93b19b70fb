/**
 * What the daemon answers from: the policy (kept in memory, reloaded after
 * any change under the policy or legacy directories) and the system info
 * (a file kept the same way, or qubesd asked for every request, as the
 * reference does).
 */
import { expected } from '../errors.js';
import { loadPolicySet, type Policy } from '../policy/policy.js';
import { SystemInfoError, type SystemInfo } from '../policy/system-info.js';
import { obtainSystemInfo, readSystemInfoFile } from '../io/sources.js';
import { ReloadingCache } from './cache.js';
import type { NoteTransition } from './health.js';
import { fileSpecs, treeSpecs, type WatchSpec } from './watch.js';

export interface PolicySource {
  get(): Policy;
  invalidate(): void;
  close(): void;
}

/** One line for the whole failure: the first error, and how many more there are. */
function policyError(p: Policy): string | null {
  if (p.error === null) return null;
  const more = p.errors.length - 1;
  return p.error.describe() + (more > 0 ? ` (and ${more} more error${more > 1 ? 's' : ''})` : '');
}

export function policySource(paths: readonly string[], legacyPath: string, note: NoteTransition): PolicySource {
  return new ReloadingCache<Policy>({
    roots: () => [...paths, legacyPath].flatMap((root) => treeSpecs(root)),
    load: () => {
      const value = loadPolicySet({ paths, legacyPath });
      const deps: WatchSpec[] = [
        ...value.load.dirs.map((dir) => ({ dir })),
        ...value.load.files.flatMap((f) => fileSpecs(f, false)),
      ];
      return { value, deps };
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
  invalidate(): void;
  close(): void;
}

/** `--system-info FILE`: read once, again after it changes. */
export function systemInfoFile(file: string, note: NoteTransition): SystemInfoSource {
  return new ReloadingCache<SystemInfoResult>({
    roots: () => fileSpecs(file, true),
    load: () => {
      let value: SystemInfoResult;
      try {
        value = readSystemInfoFile(file);
      } catch (err) {
        expected(err, SystemInfoError);
        value = err;
      }
      return { value, deps: [] };
    },
    loaded: (si, watching) =>
      note({
        subject: 'system info',
        error: si instanceof SystemInfoError ? si.message : null,
        summary: si instanceof SystemInfoError ? '' : `${si.qubes.size} qubes from ${file}`,
        watching,
      }),
  });
}

/** No file: ask qubesd for every request. */
export function systemInfoFromQubesd(socket: string): SystemInfoSource {
  return {
    get: () =>
      obtainSystemInfo({ qubesdInternalSocket: socket }, {}).catch((err: unknown) => {
        expected(err, SystemInfoError);
        return err;
      }),
    invalidate: () => {},
    close: () => {},
  };
}
