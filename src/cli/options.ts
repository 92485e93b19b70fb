/**
 * Options shared by every command that reads policy (SPEC §2), and the
 * request positionals of eval/explain. Command modules build on these.
 */
import type { Argv } from 'yargs';
import { isLevel } from '../log.js';
import type { SourceOptions } from '../io/sources.js';

export function policyOptions<T>(y: Argv<T>) {
  return y
    .option('path', {
      type: 'string',
      array: true,
      alias: 'policy-path',
      describe: 'policy directory (repeatable); default /run/qubes/policy.d then /etc/qubes/policy.d',
    })
    .option('legacy-path', { type: 'string', describe: 'R4.0 policy directory (default /etc/qubes-rpc/policy)' })
    .option('legacy', { type: 'boolean', describe: 'evaluate with R4.0 semantics only' })
    .option('system-info', {
      type: 'string',
      describe: 'qube facts as JSON (env QREXEC_POLICY_SYSTEM_INFO); without it, ask qubesd',
    })
    .option('qubesd-internal-socket', { type: 'string', describe: 'qubesd internal socket (env QUBESD_INTERNAL_SOCKET)' })
    .option('log-level', {
      type: 'string',
      default: 'warn',
      describe: 'error, warn, info or debug',
      coerce: (v: string | string[]) => {
        if (Array.isArray(v)) throw new Error('option --log-level given more than once');
        if (!isLevel(v)) throw new Error(`invalid log level ${v} (error, warn, info, debug)`);
        return v;
      },
    });
}

/**
 * yargs turns a repeated option into a list; only options declared as
 * lists (`--path`, …) may repeat. Every parser checks this with its own
 * option table, so no command meets a list where it expects one value.
 */
export function rejectRepeatedOptions(a: Record<string, unknown>, parser: Argv<unknown>): true {
  // getOptions() is public yargs API that @types/yargs does not declare
  const options = (parser as unknown as { getOptions(): { string: string[]; array: string[] } }).getOptions();
  for (const k of options.string) if (!options.array.includes(k) && Array.isArray(a[k])) throw new Error(`option --${k} given more than once`);
  return true;
}

export interface RequestWords {
  source?: string | undefined;
  target?: string | undefined;
  service?: string | undefined;
  /** Words beyond the three. */
  extra: string[];
}

/**
 * SOURCE TARGET SERVICE as given. yargs binds only the words before `--` to
 * the command's positionals and leaves the ones after it in `_` (after the
 * command name); they fill the remaining places in order, so that
 * `eval -- SOURCE TARGET SERVICE` works as it does for qrexec-policy-exec.
 */
export function requestWords(a: { _: (string | number)[]; [k: string]: unknown }): RequestWords {
  const rest = a._.slice(1).map(String);
  const word = (k: string) => (a[k] === undefined ? rest.shift() : (a[k] as string));
  const source = word('source');
  const target = word('target');
  const service = word('service');
  return { source, target, service, extra: rest };
}

/**
 * The request positionals, before or after `--`. yargs sees them as
 * optional (it counts only words before `--`); `required` makes the check
 * here demand all three.
 */
export function requestPositionals<T>(y: Argv<T>, required: boolean) {
  return y
    .check((a) => {
      const w = requestWords(a);
      if (w.extra.length) throw new Error(`unexpected argument ${JSON.stringify(w.extra[0])}`);
      if (required && (w.source === undefined || w.target === undefined || w.service === undefined))
        throw new Error('needs SOURCE TARGET SERVICE[+ARG]');
      return true;
    })
    .positional('source', { type: 'string', describe: 'calling qube' })
    .positional('target', { type: 'string', describe: "requested target ('' for none)" })
    .positional('service', { type: 'string', describe: 'SERVICE[+ARGUMENT]' })
    .option('assume-yes-for-ask', { type: 'boolean', describe: 'treat ask as allow for the requested target' })
    .option('requested-source', { type: 'string', describe: 'evaluate for this RemoteVM, relayed by SOURCE' });
}

export function sourceOptions(a: Record<string, unknown>): SourceOptions {
  return {
    path: a['path'] as string[] | undefined,
    legacyPath: a['legacyPath'] as string | undefined,
    legacy: a['legacy'] as boolean | undefined,
    systemInfo: a['systemInfo'] as string | undefined,
    qubesdInternalSocket: a['qubesdInternalSocket'] as string | undefined,
  };
}

