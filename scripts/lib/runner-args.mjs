/**
 * Command lines of the long-run scripts (npm run fuzz, npm run difftest):
 * options from a table, `--name value` or `--name=value`, whole numbers
 * checked, `--help` printing the usage lines at the top of the script, and
 * every mistake a one-line message with the usage, exit status 2.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * `usage(msg?)` for a script: the ` * ` comment lines from its third line to
 * `lines`; on stdout for --help (exit 0), else after `name: msg` on stderr (exit 2).
 */
export function makeUsage(scriptUrl, name, lines) {
  return (msg) => {
    const text = fs.readFileSync(fileURLToPath(scriptUrl), 'utf8').split('\n').slice(2, lines).map((l) => l.replace(/^ \* ?/, '')).join('\n') + '\n';
    if (msg === undefined) {
      process.stdout.write(text);
      process.exit(0);
    }
    process.stderr.write(`${name}: ${msg}\n${text}`);
    process.exit(2);
  };
}

/**
 * Parse `argv` into a copy of `defaults`. `options` maps an option to
 * `[key, kind]`: kind `flag`, `string`, `list` (comma-separated) or a
 * number (the least whole number accepted).
 */
export function parseOptions(argv, defaults, options, usage) {
  const o = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') usage();
    const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const spec = options[name];
    if (spec === undefined) usage(`unknown option ${a}`);
    const [key, kind] = spec;
    if (kind === 'flag') {
      o[key] = true;
      continue;
    }
    const v = inline ?? argv[++i] ?? usage(`${name} needs a value`);
    if (kind === 'string') o[key] = v;
    else if (kind === 'list') o[key] = v.split(',');
    else if (!/^[0-9]+$/.test(v) || Number(v) < kind) usage(`${name} needs a whole number of at least ${kind}, not ${v}`);
    else o[key] = Number(v);
  }
  return o;
}
