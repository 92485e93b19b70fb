#!/usr/bin/env node
// Before `npm pack` (prepack, after the build): the man pages, made from
// every command's --help (src/cli/help-pages.ts), into dist/man, and the
// shell completion scripts into dist/completion, for the RPM to install.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { manPages } = await import(path.join(root, 'dist/lib/cli/help-pages.js'));
const manDir = path.join(root, 'dist/man');
fs.rmSync(manDir, { recursive: true, force: true });
fs.mkdirSync(manDir, { recursive: true });
for (const page of await manPages()) fs.writeFileSync(path.join(manDir, page.file), page.text);
console.error(`gen-docs: ${fs.readdirSync(manDir).length} man pages in dist/man`);
const { BASH, ZSH } = await import(path.join(root, 'dist/lib/completion/scripts.js'));
const compDir = path.join(root, 'dist/completion');
fs.rmSync(compDir, { recursive: true, force: true });
fs.mkdirSync(compDir, { recursive: true });
fs.writeFileSync(path.join(compDir, 'qrexec-policy.bash'), BASH);
fs.writeFileSync(path.join(compDir, '_qrexec-policy'), ZSH);
console.error('gen-docs: bash and zsh completion in dist/completion');
