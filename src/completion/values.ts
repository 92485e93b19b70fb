/**
 * Qube and service names for completion, from the system info and the
 * policy the command line typed so far names (or their defaults). A source
 * that cannot be read offers nothing: completion never prints an error
 * into the middle of a command line.
 */
import { Policy } from '../policy/policy.js';
import { SystemInfoError } from '../policy/system-info.js';
import { obtainSystemInfo, openRuleSet, type SourceOptions } from '../io/sources.js';
import { expected } from '../errors.js';
import type { Lister } from './complete.js';

/** The source options among the words typed (`--path DIR`, `--policy-path=DIR`, …); the last of a single-valued one wins. */
export function sourcesGiven(given: ReadonlyMap<string, string[]>): SourceOptions {
  const last = (name: string) => given.get(name)?.at(-1);
  return {
    path: [...(given.get('--path') ?? []), ...(given.get('--policy-path') ?? [])],
    legacyPath: last('--legacy-path'),
    legacy: given.has('--legacy'),
    systemInfo: last('--system-info'),
    qubesdInternalSocket: last('--qubesd-internal-socket'),
  };
}

function withDefaults(opts: SourceOptions): SourceOptions {
  return opts.path?.length ? opts : { ...opts, path: undefined };
}

export function sourceLister(env: NodeJS.ProcessEnv): Lister {
  return {
    async qubes(given) {
      try {
        return [...(await obtainSystemInfo(withDefaults(sourcesGiven(given)), env)).qubes.keys()];
      } catch (err) {
        expected(err, SystemInfoError);
        return [];
      }
    },
    async services(given) {
      const ruleset = openRuleSet(withDefaults(sourcesGiven(given)));
      // a policy that does not load still names its services; --legacy has no rule list to read
      if (!(ruleset instanceof Policy)) return [];
      const names = new Set<string>();
      for (const r of ruleset.rules) {
        if (r.service === null) continue;
        names.add(r.service);
        if (r.argument !== null) names.add(r.service + r.argument);
      }
      return [...names];
    },
  };
}
