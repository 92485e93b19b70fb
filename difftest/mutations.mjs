/**
 * Known bugs the differential tester must catch (`--inject NAME`): each is a
 * text edit applied to one source file while esbuild bundles the tester, so
 * the code in the repository is never touched. An edit whose text is no
 * longer in the file is an error, so a mutation cannot silently stop biting.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const MUTATIONS = {
  'ask-uuid-deny': {
    what: 'ask target collection skips deny removal for targets a deny rule spells as uuid:',
    file: 'src/policy/ask.ts',
    find: "if (rule.action === 'deny') {",
    replace: "if (rule.action === 'deny' && !tok.text.startsWith('uuid:')) {",
  },
  'tag-matches-keyword': {
    what: '@tag: in the target column matches dom0 requested as @adminvm (the first known divergence of issue 13)',
    file: 'src/policy/match.ts',
    find: "    case 'tag': {\n      const q = si.lookup(v.text);",
    replace: "    case 'tag': {\n      const q = v.kind === 'dom0' ? si.dom0 : si.lookup(v.text);",
  },
};

/** An esbuild plugin applying one mutation. */
export function mutationPlugin(id) {
  const m = MUTATIONS[id];
  return {
    name: `mutation-${id}`,
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!args.path.endsWith(path.sep + m.file.split('/').join(path.sep))) return undefined;
        const text = fs.readFileSync(args.path, 'utf8');
        if (!text.includes(m.find)) throw new Error(`mutation ${id}: ${m.file} no longer contains ${JSON.stringify(m.find)}`);
        return { contents: text.replace(m.find, m.replace), loader: 'ts' };
      });
    },
  };
}
