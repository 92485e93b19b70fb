/**
 * `diff` on the shipped real-world trees (../shared/realworld/trees, used by
 * path, never copied into the repository): a tree against itself reports
 * nothing; against a copy with one rule changed it reports exactly the
 * requests the oracle finds by evaluating the whole space (oracle.ts), and
 * the real `qrexec-policy eval --batch` process gives the before and after
 * of each reported request. The `diff` bundle itself runs once per tree.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPolicySet, Policy } from '../../src/policy/policy.js';
import { PolicyLoader } from '../../src/parser/loader.js';
import { nodeFileSource } from '../../src/parser/file-source.js';
import { overlayFileSource } from '../../src/admin/overlay.js';
import { readSystemInfoFile } from '../../src/io/sources.js';
import { diffPolicies } from '../../src/diff/compare.js';
import { changeJson } from '../../src/diff/render.js';
import { bruteForceDiff, effect, keyOf } from './oracle.js';
import type { DecisionJson } from '../../src/render/json.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TREES = path.resolve(ROOT, '../shared/realworld/trees');
const BIN = path.join(ROOT, 'dist/bin/qrexec-policy.js');

/** Top-level rules with this action (files in byte order), as [file, line index, text]. */
function* rules(policyDir: string, action: RegExp): Generator<[string, number, string]> {
  for (const f of fs.readdirSync(policyDir).filter((n) => n.endsWith('.policy')).sort()) {
    const lines = fs.readFileSync(path.join(policyDir, f), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) if (!/^\s*[#!]/.test(lines[i]!) && action.test(lines[i]!)) yield [f, i, lines[i]!];
  }
}

/** A copy of a policy directory with one line replaced. */
function copyWith(src: string, file: string, index: number, text: string): string {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), 'qp-diff-rw-'));
  fs.cpSync(src, dst, { recursive: true });
  const p = path.join(dst, file);
  const lines = fs.readFileSync(p, 'utf8').split('\n');
  lines[index] = text;
  fs.writeFileSync(p, lines.join('\n'));
  return dst;
}

/** `eval --json --batch` in one process: each request against both trees (per-line `path`). */
function evalBoth(before: string, after: string, legacy: string, si: string, requests: { source: string; target: string; service: string }[]): [DecisionJson, DecisionJson][] {
  const input = requests.flatMap((r) => [JSON.stringify({ ...r, path: before }), JSON.stringify({ ...r, path: after })]).join('\n') + '\n';
  const r = spawnSync(process.execPath, [BIN, 'eval', '--json', '--batch', '-', '--legacy-path', legacy, '--system-info', si], {
    input,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`eval --batch exited ${r.status}: ${r.stderr}`);
  const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as DecisionJson);
  return requests.map((_, i) => [out[2 * i]!, out[2 * i + 1]!]);
}

if (!fs.existsSync(TREES)) {
  t.skip(`no real-world trees at ${TREES}`);
} else if (!fs.existsSync(BIN)) {
  t.fail('dist/bin is missing: run `npm run build` (npm test does it first)');
} else {
  for (const name of fs.readdirSync(TREES).sort()) {
    const tree = path.join(TREES, name);
    const policyDir = path.join(tree, 'policy.d');
    const legacy = path.join(tree, 'legacy');
    const siFile = path.join(tree, 'system-info.json');
    t.test(name, async (t) => {
      const si = readSystemInfoFile(siFile);
      const before = loadPolicySet({ paths: [policyDir], legacyPath: legacy });
      t.equal(before.error, null, 'the tree loads');

      const self = diffPolicies(before, loadPolicySet({ paths: [policyDir], legacyPath: legacy }), si);
      t.same([self.changes.length, self.evaluated], [0, 0], 'against itself: nothing, and nothing evaluated');

      // one rule changed: the first allow that decides something in this system becomes a deny
      // (looked for in memory; the chosen copy is then written for the processes)
      let chosen: { file: string; index: number; text: string } | null = null;
      for (const [file, index, text] of rules(policyDir, /\sallow(\s|$)/)) {
        const p = path.join(policyDir, file);
        const lines = fs.readFileSync(p, 'utf8').split('\n');
        lines[index] = text.replace(/\sallow(\s.*)?$/, ' deny');
        const loader = new PolicyLoader({ fs: overlayFileSource(nodeFileSource, [[p, lines.join('\n')]]), legacyPath: legacy });
        loader.loadDirs([policyDir]);
        const { rules: rs, errors, ...rest } = loader.result;
        if (errors.length === 0 && diffPolicies(before, new Policy(rs, errors, rest), si).changes.length > 0) {
          chosen = { file, index, text: lines[index]! };
          break;
        }
      }
      if (chosen === null) throw new Error(`${name}: no allow rule whose change matters`);
      const { file, index } = chosen;
      const copy = copyWith(policyDir, file, index, chosen.text);
      t.teardown(() => fs.rmSync(copy, { recursive: true, force: true }));
      const after = loadPolicySet({ paths: [copy], legacyPath: legacy });

      const result = diffPolicies(before, after, si);
      const oracle = bruteForceDiff(before, after, si);
      const got = result.changes.map((c) => keyOf({ ...c, service: c.entry.request })).sort();
      t.same(got, oracle.map(keyOf).sort(), `${file}:${index + 1} allow -> deny: ${got.length} requests, those evaluating the whole space finds`);
      t.ok(result.evaluated < result.requests / 4, `evaluated ${result.evaluated} of ${result.requests}`);

      // what the eval command says about each reported request, before and after
      const requests = result.changes.map((c) => ({ source: c.source, target: c.target, service: c.entry.request }));
      const evals = evalBoth(policyDir, copy, legacy, siFile, requests);
      const mismatches: string[] = [];
      result.changes.forEach((c, i) => {
        const [b, a] = evals[i]!;
        const j = JSON.parse(changeJson(c)) as { before: { result: string; target?: string }; after: { result: string; target?: string } };
        if (j.before.result !== b.result || j.after.result !== a.result) mismatches.push(`${keyOf(requests[i]!)}: result`);
        if ((j.before.target ?? null) !== b.target || (j.after.target ?? null) !== a.target) mismatches.push(`${keyOf(requests[i]!)}: target`);
        if (effect(b) === effect(a)) mismatches.push(`${keyOf(requests[i]!)}: eval sees no change`);
      });
      t.same(mismatches, [], 'eval agrees on every reported request');

      if (name === 'r42-stock') {
        // the command itself, through its real argument parser
        const cli = spawnSync(process.execPath, [BIN, 'diff', '--format', 'json', '--legacy-path', legacy, '--system-info', siFile, policyDir, copy], {
          encoding: 'utf8',
        });
        t.equal(cli.status, 1);
        t.equal(cli.stdout, result.changes.map((c) => changeJson(c) + '\n').join(''), 'the bundle prints the same changes');
      }
    });
  }
}
