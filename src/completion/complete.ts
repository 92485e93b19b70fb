/**
 * Shell completion, decided here rather than in the shell: the bash and
 * zsh scripts (scripts.ts) hand over the words typed so far and show what
 * this returns. So both shells complete alike, and the logic is tested as
 * TypeScript. Qube names come from the system info, service names from the
 * loaded policy, each read as the command line typed so far names them
 * (--path, --system-info).
 */

/** What a word can be: a qube, a service, a file, one of fixed choices, or anything. */
export type ValueKind = { kind: 'qube' } | { kind: 'service' } | { kind: 'file' } | { kind: 'choices'; choices: readonly string[] } | { kind: 'free' };

export interface CommandSpec {
  name: string;
  /** Every option as typed (`--path`, `--policy-path`, `-v`), with what its value is (null: a flag). */
  options: ReadonlyMap<string, ValueKind | null>;
  /** The positional words in order; the last one repeats when `repeat` is set. */
  positionals: readonly ValueKind[];
  repeat: boolean;
}

export type Completion = { kind: 'words'; words: string[] } | { kind: 'files' };

/** Where names come from, given the options typed so far (they fail quietly: nothing to offer). */
export interface Lister {
  qubes(given: ReadonlyMap<string, string[]>): Promise<string[]>;
  services(given: ReadonlyMap<string, string[]>): Promise<string[]>;
}

const QUBE_KEYWORDS = ['@adminvm', '@anyvm', '@default', '@dispvm'];

async function valuesOf(kind: ValueKind, given: ReadonlyMap<string, string[]>, lister: Lister): Promise<Completion> {
  switch (kind.kind) {
    case 'qube':
      return { kind: 'words', words: [...(await lister.qubes(given)), ...QUBE_KEYWORDS] };
    case 'service':
      return { kind: 'words', words: await lister.services(given) };
    case 'file':
      return { kind: 'files' };
    case 'choices':
      return { kind: 'words', words: [...kind.choices] };
    case 'free':
      return { kind: 'words', words: [] };
  }
}

function filter(c: Completion, prefix: string): Completion {
  return c.kind === 'files' ? c : { kind: 'words', words: [...new Set(c.words.filter((w) => w.startsWith(prefix)))].sort() };
}

/**
 * What may come at `words[cword]` (words[0] is the program). Options are
 * offered once a `-` is typed; an option's value by the option; otherwise
 * the command, or the next positional word.
 */
export async function complete(commands: readonly CommandSpec[], top: CommandSpec, words: readonly string[], cword: number, lister: Lister): Promise<Completion> {
  const current = words[cword] ?? '';
  let cmd: CommandSpec | null = null;
  const given = new Map<string, string[]>();
  let positional = 0;
  let optionsEnded = false;
  let expecting: ValueKind | null = null;
  let expectingName = '';
  for (let i = 1; i < Math.min(cword, words.length); i++) {
    const w = words[i]!;
    const spec = cmd ?? top;
    if (expecting !== null) {
      given.set(expectingName, [...(given.get(expectingName) ?? []), w]);
      expecting = null;
      continue;
    }
    if (!optionsEnded && w === '--') optionsEnded = true;
    else if (!optionsEnded && w.startsWith('-') && w !== '-') {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w : w.slice(0, eq);
      const kind = spec.options.get(name);
      if (eq >= 0) given.set(name, [...(given.get(name) ?? []), w.slice(eq + 1)]);
      else if (kind) {
        expecting = kind;
        expectingName = name;
      } else given.set(name, []);
    } else if (cmd === null && commands.length > 0) cmd = commands.find((c) => c.name === w) ?? null;
    else positional++;
  }
  const spec = cmd ?? top;
  if (expecting !== null) return filter(await valuesOf(expecting, given, lister), current);
  if (!optionsEnded && current.startsWith('--') && current.includes('=')) {
    const name = current.slice(0, current.indexOf('='));
    const kind = spec.options.get(name);
    if (!kind) return { kind: 'words', words: [] };
    const values = await valuesOf(kind, given, lister);
    if (values.kind === 'files') return values;
    return filter({ kind: 'words', words: values.words.map((v) => `${name}=${v}`) }, current);
  }
  if (!optionsEnded && current.startsWith('-')) return filter({ kind: 'words', words: [...spec.options.keys()].filter((o) => o.startsWith('--')) }, current);
  if (cmd === null && commands.length > 0) return filter({ kind: 'words', words: commands.map((c) => c.name) }, current);
  const kind = spec.positionals[Math.min(positional, spec.positionals.length - 1)];
  if (kind === undefined || (positional >= spec.positionals.length && !spec.repeat)) return { kind: 'words', words: [] };
  return filter(await valuesOf(kind, given, lister), current);
}

/** The answer the shell scripts read: one word per line, or `:files` alone for file names. */
export function completionText(c: Completion): string {
  return c.kind === 'files' ? ':files\n' : c.words.map((w) => w + '\n').join('');
}
