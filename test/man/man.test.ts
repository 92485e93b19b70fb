/**
 * Man pages, made from each command's real --help (captured in process):
 * every page renders with `man -l` without a warning, has the sections an
 * administrator looks for, and names every option its --help names (so
 * the two cannot drift). The help-to-roff conversion is checked on its own
 * with hand-written help texts.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { helpPages, manPages } from '../../src/cli/help-pages.js';
import { escape, exitStatuses, manPage } from '../../src/man/roff.js';

const hasMan = spawnSync('sh', ['-c', 'command -v man && command -v groff'], { encoding: 'utf8' }).status === 0;

t.test('every command has a page; each renders without warnings and has its sections', async (t) => {
  const pages = await manPages('9.9.9');
  const help = await helpPages();
  t.same(
    pages.map((p) => p.file).sort(),
    [
      'qrexec-legacy-convert.1', 'qrexec-policy-convert.1', 'qrexec-policy-daemon.1', 'qrexec-policy-diff.1', 'qrexec-policy-eval.1',
      'qrexec-policy-exec.1', 'qrexec-policy-explain.1', 'qrexec-policy-fmt.1', 'qrexec-policy-graph.1', 'qrexec-policy-install-dom0.1',
      'qrexec-policy-lint.1', 'qrexec-policy-list.1', 'qrexec-policy-restore.1', 'qrexec-policy-test.1', 'qrexec-policy-completion.1', 'qrexec-policy-why.1', 
      'qrexec-policy.1', 'qubes-policy-admin.8', 'qubes-policy-editor.1', 'qubes-policy-lint.1', 'qubes-policy.1',
    ].sort(),
  );
  for (const [i, page] of pages.entries()) {
    for (const section of ['.SH NAME', '.SH SYNOPSIS', '.SH EXAMPLES', '.SH EXIT STATUS', '.SH SEE ALSO'])
      t.ok(page.text.includes(`\n${section}\n`), `${page.file}: ${section}`);
    t.match(page.text, /^\.TH [A-Z0-9\\-]+ [18] "" "qrexec-policy 9\.9\.9"/);
    // every option the help names is on the page (roff writes - as \-)
    const options = new Set(help[i]!.help.match(/(?<![\w-])--[a-z][a-z-]*/g));
    for (const o of options) t.ok(page.text.includes(escape(o)), `${page.file} names ${o}`);
  }
  if (!hasMan) return t.skip('man or groff not installed: pages not rendered (CI installs man-db and groff)');
  const dir = t.testdir(Object.fromEntries(pages.map((p) => [p.file, p.text])));
  // one process renders them all: `man -l` with groff's warnings on, at 80 columns
  const r = spawnSync('sh', ['-c', 'for f; do n=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$f" 2>"$f.err" | grep -c .); echo "$n $(tr "\\n" " " < "$f.err")"; done', 'sh', ...pages.map((p) => path.join(dir, p.file))], { encoding: 'utf8' });
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.length, pages.length);
  for (const [i, line] of lines.entries()) {
    const [n, ...warnings] = line.split(' ');
    t.same(warnings.filter(Boolean), [], `${pages[i]!.file}: no warnings`);
    t.ok(Number(n) > 15, `${pages[i]!.file} renders (${n} lines)`);
  }
  // the check itself sees a warning when there is one
  fs.writeFileSync(path.join(dir, 'bad.1'), '.TH BAD 1\n.SH NAME\n.NOSUCHMACRO\n');
  t.match(spawnSync('man', ['--warnings', '-l', path.join(dir, 'bad.1')], { encoding: 'utf8' }).stderr, 'warning');
});

t.test('help text to roff', async (t) => {
  const help = [
    'usage: tool [options] FILE',
    '       tool --batch',
    '',
    'Do one thing. Then explain more.',
    '',
    'Options:',
    '  -h, --help   show this help                 [boolean]',
    '      --depth  how deep to go, a long line that',
    '               goes on here                    [string] [default: "1"]',
    '  -i, --include-service',
    '               the service-file format',
    '',
    'Examples:',
    '  tool a.txt        one file',
    '  tool --depth 2 a-very  a wrapped example',
    '  long-example.txt',
    '',
    'The environment:',
    '  X_VAR  what it means',
    '.dot at the start, and a \\backslash',
    'exit status: 0 done, 1 refused (bad, worse), 2 usage error; 3 or 4',
    'also odd',
  ].join('\n');
  const roff = manPage({ command: 'tool', name: 'tool', section: 1, help }, '1.0');
  t.match(roff, '.SH NAME\ntool \\- Do one thing\n');
  t.match(roff, '.SH SYNOPSIS\n.nf\ntool [options] FILE\ntool \\-\\-batch\n.fi\n');
  t.match(roff, '.SH DESCRIPTION\n.PP\nDo one thing. Then explain more.\n.PP\n.nf\nThe environment:\n  X_VAR  what it means\n\\&.dot at the start, and a \\ebackslash\n.fi\n');
  t.match(roff, '.TP\n.B \\-\\-depth\nhow deep to go, a long line that goes on here [default: "1"]\n');
  t.match(roff, '.TP\n.B \\-i, \\-\\-include\\-service\nthe service\\-file format\n');
  t.notMatch(roff, '[boolean]');
  t.match(roff, '.PP\na wrapped example\n.PP\n.RS\n.nf\ntool \\-\\-depth 2 a\\-very long\\-example.txt\n.fi');
  t.same(exitStatuses('0 done, 1 refused (bad, worse), 2 usage error; 3 or 4 also odd'), [
    { term: '0', text: 'done' },
    { term: '1', text: 'refused (bad, worse)' },
    { term: '2', text: 'usage error' },
    { term: '3 or 4', text: 'also odd' },
  ]);
  t.same(exitStatuses('as for eval'), [{ term: '', text: 'as for eval' }]);
  t.throws(() => manPage({ command: 'bare', name: 'bare', section: 1, help: 'usage: bare\n\nnothing else\n' }, '1'), {
    message: 'bare --help has no Examples: and no exit status: section to make the man page from',
  });
  t.throws(() => manPage({ command: 'empty', name: 'empty', section: 1, help: '' }, '1'), { message: /no Examples: and no exit status:/ });
  t.match(manPage({ command: 'x', name: 'x', section: 8, help: 'usage: x\n\nExamples:\n  x  it\n\nexit status: 0 ok' }, '1', ['a(1)', 'b(8)']), '.SH SEE ALSO\n.BR a (1),\n.BR b (8)\n');
});
