/**
 * The `!` directives: which a file format takes and how many parameters
 * each has, and reading a directive line into its name and parameters (or
 * the reference's error). The loader, the service-file loader and the
 * drop-in linter read directives through this one table.
 */
import { splitFields, type Field } from './text.js';

export type DirectiveName = '!include' | '!include-dir' | '!include-service' | '!compat-4.0';

/** A file's format: `policy.d` lines, or a service file's (`!include-service`, R4.0; normalised first). */
export type DirectiveFormat = 'policy' | 'service';

/** The directives of each format, with their number of parameters. */
export const DIRECTIVES: Readonly<Record<DirectiveFormat, ReadonlyMap<string, number>>> = {
  policy: new Map([
    ['!include', 1],
    ['!include-dir', 1],
    ['!include-service', 3],
    ['!compat-4.0', 0],
  ]),
  service: new Map([['!include', 1]]),
};

export type Directive =
  | { ok: true; name: DirectiveName; word: Field; params: Field[] }
  | { ok: false; id: 'directive' | 'directive-params'; message: string; column: number };

/**
 * Read a stripped line that starts with `!` (columns from `offset`). An
 * unknown directive is `invalid directive`, a wrong parameter count
 * `invalid number of params`, both at the directive's column, as the
 * reference reports them.
 */
export function readDirective(line: string, offset: number, format: DirectiveFormat): Directive {
  const [word, ...params] = splitFields(line, offset);
  const need = DIRECTIVES[format].get(word!.text);
  if (need === undefined) return { ok: false, id: 'directive', message: 'invalid directive', column: word!.column };
  if (params.length !== need) return { ok: false, id: 'directive-params', message: 'invalid number of params', column: word!.column };
  return { ok: true, name: word!.text as DirectiveName, word: word!, params };
}
