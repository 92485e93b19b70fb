/**
 * The project's example policy tree (`policy.d-examples/`) loads cleanly with
 * the real loader from the real file system, and decides the requests its
 * comments promise, each by the rule we expect (file and line).
 */
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LegacyPolicy, loadPolicySet, type RuleSet } from '../src/policy/policy.js';
import { readSystemInfoFile } from '../src/io/sources.js';
import { evaluate } from '../src/policy/evaluate.js';
import type { Decision } from '../src/policy/decision.js';
import type { Token } from '../src/parser/tokens.js';

const EXAMPLES = fileURLToPath(new URL('../policy.d-examples', import.meta.url));
const LEGACY = path.join(EXAMPLES, 'legacy');

const policy = loadPolicySet({ paths: [EXAMPLES], legacyPath: LEGACY });
const si = readSystemInfoFile(path.join(EXAMPLES, 'system-info.json'));

function decide(source: string, target: string, service: string, ruleset: RuleSet = policy): Decision {
  return evaluate(ruleset, si, { source, target, service, requestedSource: null });
}

/**
 * The 1-based line of `rel` (relative to policy.d-examples) that holds `rule`,
 * compared with runs of blanks collapsed; it must occur exactly once.
 */
function lineOf(rel: string, rule: string): number {
  const norm = (s: string): string => s.trim().split(/\s+/).join(' ');
  const lines = fs.readFileSync(path.join(EXAMPLES, rel), 'utf8').split('\n');
  const hits = lines.flatMap((l, i) => (norm(l) === norm(rule) ? [i + 1] : []));
  if (hits.length !== 1) throw new Error(`${rel}: expected exactly one line ${JSON.stringify(rule)}, found ${hits.length}`);
  return hits[0]!;
}

/** Assert that `d` was decided by the line `rule` of file `rel`. */
function decidedBy(tt: Test, d: Decision, rel: string, rule: string): void {
  tt.ok(d.rule, 'a rule decided');
  tt.ok(d.rule?.file.endsWith('/' + rel), `decided in ${rel} (got ${d.rule?.file})`);
  tt.equal(d.rule?.line, lineOf(rel, rule), `line of "${rule}"`);
}

t.test('the example tree loads with no errors', async (t) => {
  t.same(
    policy.errors.map((e) => e.describe()),
    [],
  );
  t.equal(policy.error, null);
  const rel = policy.load.files.map((f) => path.relative(fs.realpathSync(EXAMPLES), fs.realpathSync(f)));
  t.same(
    [...rel].sort(),
    [
      '30-user.policy',
      '35-compat.policy',
      '50-config-clipboard.policy',
      '50-config-input.policy',
      '90-default.policy',
      'include/dom0-services',
      'include/openurl',
      'legacy/admin.vm.List',
      'legacy/include/admin-global-ro',
      'legacy/qubes.StartApp+firefox',
      'legacy/qubes.UpdatesProxy',
    ].sort(),
    'every policy file, include and legacy file is read, and nothing else',
  );
  t.ok(policy.rules.length > 40, `${policy.rules.length} rules`);
  // the legacy directory's sub-directory is reported, not loaded
  t.ok(
    policy.load.notices.some((n) => n.includes('legacy/include')),
    'legacy/include is skipped with a notice',
  );
});

t.test('the system info describes the qubes the policy names', async (t) => {
  const dom0 = si.get('dom0');
  t.equal(dom0?.type, 'AdminVM');
  t.equal(dom0?.uuid, '00000000-0000-0000-0000-000000000000');
  t.equal([...si.qubes.values()].filter((q) => q.type === 'TemplateVM').length, 2, 'two templates');
  t.equal(si.get('default-dvm')?.templateForDispvms, true);
  t.equal(si.get('default-mgmt-dvm')?.internal, true);
  t.equal(si.get('vault')?.powerState, 'Halted');
  t.ok(si.get('vault')?.tags.includes('vault'));
  t.equal(si.get('work')?.guivm, 'sys-gui');
  const uuids = new Set<string>();
  for (const q of si.qubes.values()) {
    t.match(q.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, `${q.name} has a uuid`);
    t.notOk(uuids.has(q.uuid!), `${q.name}'s uuid is unique`);
    uuids.add(q.uuid!);
    t.ok(q.label && q.icon, `${q.name} has a label and an icon`);
    if (q.guivm !== null) t.ok(si.get(q.guivm), `${q.name}'s guivm ${q.guivm} exists`);
    if (q.defaultDispvm !== null) t.equal(si.get(q.defaultDispvm)?.templateForDispvms, true);
  }
  // every qube, tag and type a rule names exists
  const tags = new Set([...si.qubes.values()].flatMap((q) => q.tags));
  const types = new Set([...si.qubes.values()].map((q) => q.type));
  for (const r of policy.rules) {
    for (const tok of [r.source, r.target, r.redirect, r.defaultTarget] as (Token | null)[]) {
      if (tok === null) continue;
      const where = `${path.basename(r.file)}:${r.line}: ${tok.text}`;
      if (tok.kind === 'qube' || tok.kind === 'dispvm-template') {
        const name = tok.ref.by === 'name' ? tok.ref.name : tok.ref.uuid;
        t.ok(si.lookup(tok.ref.by === 'name' ? name : `uuid:${name}`), `${where} names a known qube`);
      }
      if (tok.kind === 'tag' || tok.kind === 'dispvm-tag') t.ok(tags.has(tok.tag), `${where} is a tag in use`);
      if (tok.kind === 'type') t.ok(types.has(tok.type), `${where} is a type in use`);
    }
  }
});

t.test('30-user.policy', async (t) => {
  const F = '30-user.policy';
  let d = decide('work', '@default', 'qubes.Gpg');
  t.equal(d.result, 'allow', 'split GPG: a tagged client is redirected to vault');
  t.equal(d.result === 'allow' && d.target, 'vault');
  decidedBy(t, d, F, 'qubes.Gpg * @tag:gpg-client @default allow target=vault');

  d = decide('untrusted', 'vault', 'qubes.Gpg');
  t.equal(d.result, 'ask', 'another qube must be confirmed');
  t.same(d.result === 'ask' && d.targets, ['vault']);
  t.equal(d.result === 'ask' && d.defaultTarget, 'vault');
  decidedBy(t, d, F, 'qubes.Gpg * @anyvm vault ask default_target=vault');

  d = decide('untrusted', 'work', 'qubes.Gpg');
  t.equal(d.result, 'deny');
  t.equal(d.notify, true, 'deny notify=yes');
  decidedBy(t, d, F, 'qubes.Gpg * @anyvm @anyvm deny notify=yes');

  d = decide('work', 'vault', 'qubes.GpgImportKey');
  t.equal(d.result, 'deny', 'autostart=no: vault is halted');
  t.equal(d.result === 'deny' && d.kind, 'autostart');
  decidedBy(t, d, F, 'qubes.GpgImportKey * @tag:gpg-client vault allow autostart=no');

  d = decide('vault', 'work', 'qubes.Filecopy');
  t.equal(d.result, 'deny', 'nothing leaves the vault');
  t.equal(d.notify, true);
  decidedBy(t, d, F, 'qubes.Filecopy * vault @anyvm deny notify=yes');

  d = decide('work', 'personal', 'qubes.Filecopy');
  t.equal(d.result, 'allow');
  decidedBy(t, d, F, 'qubes.Filecopy * work personal allow');

  d = decide('work', '@default', 'qubes.Filecopy');
  t.equal(d.result, 'ask');
  if (d.result === 'ask') {
    t.equal(d.defaultTarget, 'personal');
    t.ok(d.targets.includes('personal') && d.targets.includes('@dispvm:default-dvm'));
    t.notOk(d.targets.includes('work'), 'never the source itself');
    t.notOk(d.targets.includes('dom0'), 'never dom0 through @anyvm');
    t.notOk(
      d.targets.some((x) => x.includes('default-mgmt-dvm')),
      'never an internal qube',
    );
  }
  decidedBy(t, d, F, 'qubes.Filecopy * work @anyvm ask default_target=personal');

  d = decide('untrusted', '@default', 'qubes.OpenInVM');
  t.equal(d.result, 'allow', 'attachments from untrusted go to a disposable');
  t.equal(d.result === 'allow' && d.target, '@dispvm:default-dvm');
  decidedBy(t, d, F, 'qubes.OpenInVM * untrusted @default allow target=@dispvm');

  d = decide('work', '@default', 'qubes.OpenInVM');
  t.equal(d.result, 'ask');
  t.equal(d.result === 'ask' && d.defaultTarget, '@dispvm:default-dvm', 'default_target=@dispvm is normalised');
  decidedBy(t, d, F, 'qubes.OpenInVM * work @anyvm ask default_target=@dispvm');

  d = decide('personal', 'untrusted', 'qubes.OpenURL');
  t.equal(d.result, 'allow', 'autostart=no: untrusted is running');
  t.equal(d.result === 'allow' && d.autostart, false);
  decidedBy(t, d, F, 'qubes.OpenURL * personal untrusted allow autostart=no');

  d = decide('dom0', 'fedora-42', 'qubes.VMShell');
  t.equal(d.result, 'allow');
  t.equal(d.result === 'allow' && d.user, 'root');
  decidedBy(t, d, F, 'qubes.VMShell * @adminvm @type:TemplateVM allow user=root');
});

t.test('35-compat.policy: the R4.0 files of legacy/', async (t) => {
  let d = decide('untrusted', '@dispvm', 'qubes.StartApp+firefox');
  t.equal(d.result, 'allow');
  t.equal(d.result === 'allow' && d.target, '@dispvm:default-dvm');
  decidedBy(t, d, 'legacy/qubes.StartApp+firefox', 'untrusted $dispvm allow');

  d = decide('work', '@dispvm', 'qubes.StartApp+firefox');
  t.equal(d.result, 'allow', '$dispvm:default-dvm matches @dispvm from a qube whose default is default-dvm');
  decidedBy(t, d, 'legacy/qubes.StartApp+firefox', '$anyvm $dispvm:default-dvm allow');

  d = decide('work', 'sys-net', 'qubes.StartApp+firefox');
  t.equal(d.result, 'deny', 'a specific-argument file never falls through');
  t.ok(d.rule?.file.endsWith('/legacy/qubes.StartApp+firefox'));
  t.equal(d.rule?.line, null, 'implicit compat rule');

  d = decide('work', '@dispvm', 'qubes.StartApp+xterm');
  t.equal(d.result, 'allow', 'other arguments are decided by the defaults');
  decidedBy(t, d, '90-default.policy', 'qubes.StartApp * @anyvm @dispvm allow');

  d = decide('fedora-42', '@default', 'qubes.UpdatesProxy');
  t.equal(d.result, 'allow', 'templates use the update proxy');
  t.equal(d.result === 'allow' && d.target, 'sys-net');
  decidedBy(t, d, 'legacy/qubes.UpdatesProxy', '$type:TemplateVM $default allow,target=sys-net');

  d = decide('work', '@default', 'qubes.UpdatesProxy');
  t.equal(d.result, 'deny');
  decidedBy(t, d, 'legacy/qubes.UpdatesProxy', '$anyvm $anyvm deny');

  d = decide('sys-gui', 'dom0', 'admin.vm.List');
  t.equal(d.result, 'allow', '$include: of legacy/include/admin-global-ro');
  t.equal(d.result === 'allow' && d.target, 'dom0');
  decidedBy(t, d, 'legacy/include/admin-global-ro', 'sys-gui $adminvm allow,target=dom0');

  d = decide('sys-gui', 'work', 'admin.vm.List');
  t.equal(d.result, 'allow', 'parameters separated by blanks work too');
  t.equal(d.result === 'allow' && d.target, 'dom0');
  decidedBy(t, d, 'legacy/include/admin-global-ro', 'sys-gui $anyvm allow target=dom0');

  d = decide('work', 'dom0', 'admin.vm.List');
  t.equal(d.result, 'deny', 'a generic legacy file falls through to the defaults');
  decidedBy(t, d, '90-default.policy', '* * @anyvm @adminvm deny');
});

t.test('the legacy directory also works on its own (--legacy)', async (t) => {
  const legacy = new LegacyPolicy({ legacyPath: LEGACY });
  let d = decide('fedora-42', '@default', 'qubes.UpdatesProxy', legacy);
  t.equal(d.result === 'allow' && d.target, 'sys-net');
  decidedBy(t, d, 'legacy/qubes.UpdatesProxy', '$type:TemplateVM $default allow,target=sys-net');
  d = decide('sys-gui', 'dom0', 'admin.vm.List', legacy);
  t.equal(d.result, 'allow');
  decidedBy(t, d, 'legacy/include/admin-global-ro', 'sys-gui $adminvm allow,target=dom0');
  d = decide('work', '@dispvm', 'qubes.StartApp+xterm', legacy);
  t.equal(d.result, 'deny', 'no file for qubes.StartApp+xterm nor qubes.StartApp');
  t.equal(d.rule, null);
});

t.test('50-config-*.policy', async (t) => {
  let d = decide('untrusted', 'vault', 'qubes.ClipboardPaste');
  t.equal(d.result, 'deny');
  decidedBy(t, d, '50-config-clipboard.policy', 'qubes.ClipboardPaste * untrusted vault deny');

  d = decide('work', 'vault', 'qubes.ClipboardPaste');
  t.equal(d.result, 'ask');
  decidedBy(t, d, '50-config-clipboard.policy', 'qubes.ClipboardPaste * @anyvm vault ask');

  d = decide('work', 'personal', 'qubes.ClipboardPaste');
  t.equal(d.result, 'allow');
  decidedBy(t, d, '50-config-clipboard.policy', 'qubes.ClipboardPaste * @anyvm @anyvm allow');

  d = decide('sys-usb', 'dom0', 'qubes.InputMouse');
  t.equal(d.result === 'allow' && d.target, 'dom0');
  decidedBy(t, d, '50-config-input.policy', 'qubes.InputMouse * sys-usb @adminvm allow');

  d = decide('sys-usb', 'dom0', 'qubes.InputKeyboard');
  t.equal(d.result, 'ask');
  t.same(d.result === 'ask' && d.targets, ['dom0']);
  t.equal(d.result === 'ask' && d.defaultTarget, 'dom0', 'default_target=@adminvm is dom0');
  decidedBy(t, d, '50-config-input.policy', 'qubes.InputKeyboard * sys-usb @adminvm ask default_target=@adminvm');

  d = decide('sys-usb', 'dom0', 'qubes.InputTablet');
  t.equal(d.result, 'deny');
  decidedBy(t, d, '50-config-input.policy', 'qubes.InputTablet * sys-usb @adminvm deny');
});

t.test('90-default.policy and its includes', async (t) => {
  let d = decide('work', '@dispvm', 'qubes.OpenURL');
  t.equal(d.result, 'allow', 'included service file (!include-service)');
  t.equal(d.result === 'allow' && d.target, '@dispvm:default-dvm');
  t.equal(d.rule?.service, 'qubes.OpenURL', 'service from the !include-service line');
  t.equal(d.rule?.format, 'service');
  decidedBy(t, d, 'include/openurl', '$anyvm $dispvm allow');

  d = decide('personal', '@default', 'qubes.OpenURL');
  t.equal(d.result, 'ask');
  t.equal(d.result === 'ask' && d.defaultTarget, '@dispvm:default-dvm');
  decidedBy(t, d, 'include/openurl', '$anyvm $anyvm ask,default_target=$dispvm');

  d = decide('vault', '@dispvm', 'qubes.OpenURL');
  t.equal(d.result, 'deny', '30-user.policy comes before the include');
  decidedBy(t, d, '30-user.policy', 'qubes.OpenURL * vault @anyvm deny notify=yes');

  d = decide('fedora-42', 'dom0', 'qubes.SyncAppMenus');
  t.equal(d.result, 'allow', 'included policy.d-format file (!include)');
  decidedBy(t, d, 'include/dom0-services', 'qubes.SyncAppMenus * @type:TemplateVM @adminvm allow');

  d = decide('work', 'dom0', 'qubes.SyncAppMenus');
  t.equal(d.result, 'deny');
  t.equal(d.notify, false, 'deny notify=no');
  decidedBy(t, d, 'include/dom0-services', 'qubes.SyncAppMenus * @anyvm @adminvm deny notify=no');

  d = decide('personal', 'dom0', 'qubes.FeaturesRequest');
  t.equal(d.result === 'allow' && d.target, 'dom0');
  decidedBy(t, d, 'include/dom0-services', 'qubes.FeaturesRequest * @anyvm @adminvm allow');

  d = decide('work', '@default', 'qubes.GetDate');
  t.equal(d.result === 'allow' && d.target, 'dom0', 'target=@adminvm becomes dom0');
  decidedBy(t, d, '90-default.policy', 'qubes.GetDate * @anyvm @anyvm allow target=@adminvm');

  d = decide('personal', '@dispvm', 'qubes.OpenInVM');
  t.equal(d.result === 'allow' && d.target, '@dispvm:default-dvm');
  decidedBy(t, d, '90-default.policy', 'qubes.OpenInVM * @anyvm @dispvm allow');

  d = decide('work', 'sys-net', 'qubes.ConnectTCP+22');
  t.equal(d.result, 'deny');
  decidedBy(t, d, '90-default.policy', 'qubes.ConnectTCP * @anyvm @anyvm deny');

  d = decide('work', 'personal', 'my.Unknown');
  t.equal(d.result, 'deny', 'default deny between qubes');
  t.equal(d.notify, true);
  decidedBy(t, d, '90-default.policy', '* * @anyvm @anyvm deny');

  d = decide('work', 'dom0', 'my.Unknown');
  t.equal(d.result, 'deny', 'default deny to dom0');
  decidedBy(t, d, '90-default.policy', '* * @anyvm @adminvm deny');
});

t.test('the examples are formatted, and so is what convert writes from them (fmt --check, through the command line)', async (t) => {
  const { umbrellaMain } = await import('../src/cli/umbrella.js');
  const { captureIo } = await import('./cli/fixtures/cli.js');
  const run = async (argv: string[]) => {
    const c = captureIo({});
    return { status: await umbrellaMain(argv, c.io), out: c.out, err: c.err };
  };
  t.same(await run(['fmt', '--check', EXAMPLES, path.join(EXAMPLES, 'include/dom0-services')]), { status: 0, out: '', err: '' }, 'policy.d files');
  t.same(await run(['fmt', '--check', '-i', path.join(EXAMPLES, 'include/openurl')]), { status: 0, out: '', err: '' }, 'the service file');
  const dir = t.testdir({});
  const converted = await run(['convert', '--legacy-path', LEGACY, '--output-dir', dir]);
  t.equal(converted.status, 0, converted.err);
  const file = path.join(dir, '35-compat-converted.policy');
  t.ok(fs.existsSync(file), 'convert wrote its file');
  t.same(await run(['fmt', '--check', file]), { status: 0, out: '', err: '' }, 'the converted file');
});
