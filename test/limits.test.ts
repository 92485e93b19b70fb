/**
 * Every explicit cap (src/parser/limits.ts) at the limit (accepted) and just
 * past it (a load error or bad request naming the cause: deny, never a crash).
 */
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  MAX_FILE_SIZE,
  MAX_LINE_LENGTH,
  MAX_POLICY_FILES,
  MAX_REQUEST_FIELD,
  MAX_SYSTEM_INFO_SIZE,
} from '../src/parser/limits.js';
import { loadPolicy } from '../src/parser/loader.js';
import { memoryFileSource } from '../src/parser/file-source.js';
import { readSystemInfoFile } from '../src/io/sources.js';
import { SystemInfoError } from '../src/policy/system-info.js';
import { decide, memPolicy } from './helpers/policy.js';

const RULE = 'svc * @anyvm @anyvm allow\n';

t.test('line length', async (t) => {
  const at = '#' + 'x'.repeat(MAX_LINE_LENGTH - 1);
  t.same(memPolicy({ '50-a.policy': at + '\n' + RULE }).errors, [], 'a line of exactly the limit loads');
  const past = memPolicy({ '50-a.policy': RULE + at + 'x\n' });
  t.same(past.errors.map((e) => [e.id, e.line, e.message]), [['line-too-long', 2, `line longer than ${MAX_LINE_LENGTH} characters`]]);
  t.equal(decide(past, 'work', 'personal', 'svc').result, 'deny', 'and everything is denied');
});

t.test('file size (real files: checked before reading)', async (t) => {
  const dir = t.testdir({ at: {}, past: {} });
  // comment lines of 1,000 bytes, then one shorter line to land exactly on n bytes
  const body = (n: number) => {
    const rest = n - RULE.length;
    const full = Math.floor(rest / 1000);
    const tail = rest - full * 1000;
    return RULE + ('#'.repeat(999) + '\n').repeat(full) + (tail ? '#'.repeat(tail - 1) + '\n' : '');
  };
  fs.writeFileSync(path.join(dir, 'at', '50-a.policy'), body(MAX_FILE_SIZE));
  fs.writeFileSync(path.join(dir, 'past', '50-a.policy'), body(MAX_FILE_SIZE + 1));
  const ok = loadPolicy({ paths: [path.join(dir, 'at')] });
  t.same(ok.errors, []);
  t.equal(ok.rules.length, 1);
  const bad = loadPolicy({ paths: [path.join(dir, 'past')] });
  t.same(bad.errors.map((e) => [e.id, path.basename(e.file!)]), [['file-too-large', '50-a.policy']]);
  t.match(bad.errors[0]!.message, `larger than ${MAX_FILE_SIZE} bytes`);
});

t.test('file size (in-memory files)', async (t) => {
  const fsrc = memoryFileSource({ '/p/50-a.policy': 'x'.repeat(MAX_FILE_SIZE + 1) });
  t.same(loadPolicy({ paths: ['/p'], fs: fsrc }).errors.map((e) => e.id), ['file-too-large']);
});

t.test('number of files', async (t) => {
  const files = (n: number) => {
    const f: Record<string, string> = {};
    for (let i = 0; i < n; i++) f[`/p/${String(i).padStart(5, '0')}.policy`] = '';
    return memoryFileSource(f);
  };
  t.same(loadPolicy({ paths: ['/p'], fs: files(MAX_POLICY_FILES) }).errors, [], 'exactly the limit loads');
  const past = loadPolicy({ paths: ['/p'], fs: files(MAX_POLICY_FILES + 1) });
  t.same(past.errors.map((e) => e.id), ['too-many-files']);
  t.match(past.errors[0]!.message, `more than ${MAX_POLICY_FILES} policy files`);
});

t.test('system-info size', async (t) => {
  const dir = t.testdir({});
  const at = path.join(dir, 'at.json');
  const past = path.join(dir, 'past.json');
  // sparse files: the size is what counts, not the bytes on disk
  fs.writeFileSync(at, '');
  fs.truncateSync(at, MAX_SYSTEM_INFO_SIZE);
  fs.writeFileSync(past, '');
  fs.truncateSync(past, MAX_SYSTEM_INFO_SIZE + 1);
  t.throws(() => readSystemInfoFile(at), { message: /not valid JSON/ }, 'at the limit it is read (and is no JSON)');
  t.throws(() => readSystemInfoFile(past), new SystemInfoError(`system info ${past}: larger than ${MAX_SYSTEM_INFO_SIZE} bytes`));
});

t.test('request values', async (t) => {
  const p = memPolicy({ '50-a.policy': '* * @anyvm @anyvm allow\n' });
  const long = (n: number) => 'a'.repeat(n);
  // a long unknown target is @default (then no target: deny) but still a valid request
  const atLimit = decide(p, 'work', long(MAX_REQUEST_FIELD), 'svc');
  t.equal(atLimit.requestedTarget, '@default');
  t.equal(decide(p, 'work', 'personal', 'svc+' + long(MAX_REQUEST_FIELD - 4)).result, 'allow', 'SERVICE+ARG at the limit');
  for (const [source, target, service] of [
    [long(MAX_REQUEST_FIELD + 1), 'personal', 'svc'],
    ['work', long(MAX_REQUEST_FIELD + 1), 'svc'],
    ['work', 'personal', 'svc+' + long(MAX_REQUEST_FIELD - 3)],
  ]) {
    const d = decide(p, source!, target!, service!);
    t.equal(d.result, 'deny');
    t.match(d.result === 'deny' && d.reason, /^bad request: .* longer than 1024 characters$/);
    t.equal(d.requestedTarget, null);
  }
  const rs = decide(p, 'work', 'personal', 'svc', { requestedSource: long(MAX_REQUEST_FIELD + 1) });
  t.match(rs.result === 'deny' && rs.reason, /requested source longer than/);
});

t.test('line length in a service file (!include-service)', async (t) => {
  const p = memPolicy(
    { '50-a.policy': '!include-service svc * include/svc\n' },
    { extra: { '/etc/qubes/policy.d/include/svc': '@anyvm @anyvm allow\n#' + 'x'.repeat(MAX_LINE_LENGTH) + '\n' } },
  );
  t.same(p.errors.map((e) => [e.id, path.basename(e.file!), e.line]), [['line-too-long', 'svc', 2]]);
});
