/**
 * What completion knows of each umbrella command, read from the same yargs
 * modules that parse the command line (so it cannot offer an option that
 * does not exist): options with what their values are, and positional words.
 */
import yargs from 'yargs';
import type { CommandSpec, ValueKind } from '../completion/complete.js';
import { LEVELS } from '../log.js';
import type { SubCommand } from './command.js';

const QUBE_OPTIONS = new Set(['source', 'target', 'requested-source']);
/** String options whose value is not a file name. */
const FREE_OPTIONS = new Set(['action', 'token', 'workers', 'ask-timeout', 'request-timeout', 'qubesd-timeout', 'output-name', 'since']);
const POSITIONAL_KINDS: Readonly<Record<string, ValueKind>> = {
  source: { kind: 'qube' },
  target: { kind: 'qube' },
  service: { kind: 'service' },
  shell: { kind: 'choices', choices: ['bash', 'zsh'] },
};

interface OptionTable {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
  choices: Record<string, string[]>;
}

function optionKind(name: string, t: OptionTable): ValueKind | null {
  if (t.boolean.includes(name)) return null;
  if (t.choices[name]) return { kind: 'choices', choices: t.choices[name]! };
  if (name === 'log-level') return { kind: 'choices', choices: LEVELS };
  if (QUBE_OPTIONS.has(name)) return { kind: 'qube' };
  if (name === 'service') return { kind: 'service' };
  return FREE_OPTIONS.has(name) ? { kind: 'free' } : { kind: 'file' };
}

export function commandSpec(sub: SubCommand): CommandSpec {
  const [name, ...words] = sub.command.split(' ') as [string, ...string[]];
  const positionalNames = words.map((w) => w.replace(/[[\]<>.]/g, ''));
  const t = (sub.builder(yargs([])) as unknown as { getOptions(): OptionTable }).getOptions();
  const options = new Map<string, ValueKind | null>();
  for (const key of Object.keys(t.key)) {
    if (positionalNames.includes(key) || /[A-Z]/.test(key)) continue;
    const kind = optionKind(key, t);
    for (const n of [key, ...(t.alias[key] ?? [])]) options.set(n.length === 1 ? `-${n}` : `--${n}`, kind);
  }
  options.set('--help', null);
  return {
    name,
    options,
    positionals: positionalNames.map((p) => POSITIONAL_KINDS[p] ?? { kind: 'file' }),
    repeat: words.some((w) => w.includes('..')),
  };
}

/** The umbrella itself: its commands come first; it has no options but these. */
export const TOP: CommandSpec = { name: 'qrexec-policy', options: new Map([['--help', null], ['--version', null]]), positionals: [], repeat: false };

/** `exec`: qrexec-policy-exec's words (its options are its own, see its --help). */
export const EXEC: CommandSpec = { name: 'exec', options: new Map(), positionals: [{ kind: 'qube' }, { kind: 'qube' }, { kind: 'service' }], repeat: false };
