/**
 * Rendering a decision: result block, eval --json object, explain text.
 */
import t from 'tap';
import { type AllowDecision } from '../../src/policy/decision.js';
import { evaluate } from '../../src/policy/evaluate.js';
import { parseRequest, type RequestInput } from '../../src/policy/request.js';
import { allowBlock, resultBlock } from '../../src/render/block.js';
import { explain, mismatchReason } from '../../src/render/explain.js';
import { asGiven, ruleDisplay, ruleLocation } from '../../src/render/text.js';
import { decisionJsonLine, decisionToJson } from '../../src/render/json.js';
import { decide, makeSystem, uuidOf, LEGACY_DIR, memPolicy, POLICY_DIR, memLegacy } from '../helpers/policy.js';

/**
 * The Qubes result block (SPEC §3.3, §3.4), byte for byte.
 */
t.test('result block (SPEC §3.3, §3.4)', async (t) => {
  const ZERO = 'uuid:00000000-0000-0000-0000-000000000000';
  const si = makeSystem({
    'sys-relay': { type: 'AppVM', power_state: 'Running' },
    'remote-a': { type: 'RemoteVM', relayvm: 'sys-relay', transport_rpc: 'qubesair.SSHProxy', power_state: 'Running' },
    'remote-b': { type: 'RemoteVM', relayvm: 'sys-relay', transport_rpc: 'qubesair.Other', power_state: 'Running' },
  });
  const U = (n: string) => uuidOf(si, n);
  const block = (policy: string, src: string, tgt: string, svc = 'svc', opts = {}) => resultBlock(decide(policy, src, tgt, svc, { si, ...opts }));

  t.test('dom0', async (t) => {
    const p = 'svc * @anyvm @adminvm allow\nsvc * @anyvm @anyvm allow target=dom0 user=root autostart=no\n';
    t.equal(block(p, 'work', '@adminvm'), 'user=DEFAULT\nresult=allow\ntarget=dom0\nautostart=True\nrequested_target=@adminvm');
    t.equal(block(p, 'work', 'dom0'), 'user=DEFAULT\nresult=allow\ntarget=dom0\nautostart=True\nrequested_target=dom0');
    t.equal(block(p, 'work', ZERO), `user=DEFAULT\nresult=allow\ntarget=dom0\nautostart=True\nrequested_target=${ZERO}`);
    t.equal(block(p, 'work', ''), 'user=root\nresult=allow\ntarget=dom0\nautostart=False\nrequested_target=@default');
    t.equal(block(p, 'work', 'ghost'), 'user=root\nresult=allow\ntarget=dom0\nautostart=False\nrequested_target=@default');
    // dom0 blocks have no policy_source line
    t.equal(
      block('svc * remote-a @adminvm allow\n', 'sys-relay', '@adminvm', 'svc', { requestedSource: 'remote-a' }),
      'user=DEFAULT\nresult=allow\ntarget=dom0\nautostart=True\nrequested_target=@adminvm',
    );
  });

  t.test('qube', async (t) => {
    const p = 'svc * @anyvm @anyvm allow\nsvc * @anyvm @default allow target=vault user=alice\n';
    t.equal(
      block(p, 'work', 'personal'),
      `user=DEFAULT\nresult=allow\ntarget=personal\ntarget_uuid=uuid:${U('personal')}\nautostart=True\nrequested_target=personal`,
    );
    t.equal(
      block(p, 'work', `uuid:${U('personal')}`),
      `user=DEFAULT\nresult=allow\ntarget=uuid:${U('personal')}\ntarget_uuid=uuid:${U('personal')}\nautostart=True\nrequested_target=uuid:${U('personal')}`,
    );
    t.equal(
      block('svc * @anyvm @default allow target=vault user=alice\n', 'work', ''),
      `user=alice\nresult=allow\ntarget=vault\ntarget_uuid=uuid:${U('vault')}\nautostart=True\nrequested_target=@default`,
    );
    t.equal(
      block(`svc * @anyvm @anyvm allow target=uuid:${U('vault')} autostart=no\n`, 'work', 'sys-net'),
      'result=deny',
      'autostart=no to a halted redirect target',
    );
    t.equal(
      block(`svc * @anyvm @anyvm allow target=uuid:${U('sys-net')} autostart=no\n`, 'work', 'vault'),
      `user=DEFAULT\nresult=allow\ntarget=uuid:${U('sys-net')}\ntarget_uuid=uuid:${U('sys-net')}\nautostart=False\nrequested_target=vault`,
    );
  });

  t.test('disposable', async (t) => {
    const p = 'svc * @anyvm @anyvm allow\n';
    t.equal(
      block(p, 'work', '@dispvm'),
      `user=DEFAULT\nresult=allow\ntarget=@dispvm:default-dvm\ntarget_uuid=@dispvm:uuid:${U('default-dvm')}\nautostart=True\nrequested_target=@dispvm`,
    );
    t.equal(
      block(p, 'untrusted', '@dispvm:alt-dvm'),
      `user=DEFAULT\nresult=allow\ntarget=@dispvm:alt-dvm\ntarget_uuid=@dispvm:uuid:${U('alt-dvm')}\nautostart=True\nrequested_target=@dispvm:alt-dvm`,
    );
    t.equal(
      block('svc * @anyvm @default allow target=@dispvm:alt-dvm user=u\n', 'work', ''),
      `user=u\nresult=allow\ntarget=@dispvm:alt-dvm\ntarget_uuid=@dispvm:uuid:${U('alt-dvm')}\nautostart=True\nrequested_target=@default`,
    );
  });

  t.test('RemoteVM', async (t) => {
    const p = 'svc * @anyvm @anyvm allow user=alice\n';
    const relay = `target=sys-relay\ntarget_uuid=uuid:${U('sys-relay')}`;
    t.equal(
      block(p, 'work', 'remote-a', 'svc+arg'),
      `user=DEFAULT\nresult=allow\n${relay}\nautostart=True\nrequested_target=remote-a\nservice=qubesair.SSHProxy+remote-a+svc+arg`,
    );
    t.equal(
      block(p, 'work', 'remote-a', 'svc'),
      `user=DEFAULT\nresult=allow\n${relay}\nautostart=True\nrequested_target=remote-a\nservice=qubesair.SSHProxy+remote-a+svc+`,
    );
    t.equal(
      block(p, 'work', 'remote-b', 'svc+a+b'),
      `user=DEFAULT\nresult=allow\n${relay}\nautostart=True\nrequested_target=remote-b\nservice=qubesair.Other+remote-b+svc+a+b`,
    );
    t.equal(
      block('svc * @anyvm @anyvm allow autostart=no\n', 'work', 'remote-a'),
      `user=DEFAULT\nresult=allow\n${relay}\nautostart=False\nrequested_target=remote-a\nservice=qubesair.SSHProxy+remote-a+svc+`,
    );
  });

  t.test('policy_source (requested_source)', async (t) => {
    const p = 'svc * remote-a @default allow target=@dispvm:alt-dvm\nsvc * remote-a @anyvm allow\n';
    const o = { requestedSource: 'remote-a' };
    t.equal(
      block(p, 'sys-relay', 'work', 'svc', o),
      `user=DEFAULT\nresult=allow\ntarget=work\ntarget_uuid=uuid:${U('work')}\nautostart=True\nrequested_target=work\npolicy_source=remote-a`,
    );
    t.equal(
      block(p, 'sys-relay', '', 'svc', o),
      `user=DEFAULT\nresult=allow\ntarget=@dispvm:alt-dvm\ntarget_uuid=@dispvm:uuid:${U('alt-dvm')}\nautostart=True\nrequested_target=@default\npolicy_source=remote-a`,
    );
    t.equal(
      block(p, 'sys-relay', 'remote-b', 'svc+x', o),
      `user=DEFAULT\nresult=allow\ntarget=sys-relay\ntarget_uuid=uuid:${U('sys-relay')}\nautostart=True\nrequested_target=remote-b\nservice=qubesair.Other+remote-b+svc+x\npolicy_source=remote-a`,
    );
    t.equal(block(p, 'sys-relay', 'work', 'svc'), 'result=deny', 'the relay itself has no rule');
  });

  t.test('deny and unanswered ask', async (t) => {
    t.equal(block('svc * @anyvm @anyvm deny\n', 'work', 'personal'), 'result=deny');
    t.equal(block('', 'work', 'personal'), 'result=deny');
    t.equal(block('svc * @anyvm @anyvm ask\n', 'work', 'personal'), 'result=deny', 'ask without an answer');
    t.equal(block('svc * @anyvm @anyvm ask\n', 'work', 'personal', 'svc', { assumeYesForAsk: true }).split('\n')[1], 'result=allow');
    t.equal(block('svc * @anyvm @anyvm allow\n', 'work', '@anyvm'), 'result=deny', 'bad request');
    t.equal(block('svc * @anyvm @anyvm allow\n', 'work', 'personal', 'bad name'), 'result=deny');
    for (const b of [block('svc * @anyvm @anyvm allow\n', 'work', 'personal'), block('', 'work', 'x')]) t.notOk(b.endsWith('\n'), 'no trailing newline');
  });

  t.test('allowBlock: an empty user is DEFAULT', async (t) => {
    const d = decide('svc * @anyvm @anyvm allow user=alice\n', 'work', 'personal', 'svc', { si });
    if (d.result !== 'allow') throw new Error('expected allow');
    t.match(allowBlock(d), /^user=alice\n/);
    t.match(allowBlock({ ...d, user: '' } as AllowDecision), /^user=DEFAULT\n/);
    t.match(allowBlock({ ...d, user: null } as AllowDecision), /^user=DEFAULT\n/);
  });
});

/**
 * The `eval --json` decision object (SPEC §3.3): field order and null rules.
 */
t.test('eval --json object (SPEC §3.3)', async (t) => {
  const si = makeSystem({
    'sys-relay': { type: 'AppVM', power_state: 'Running' },
    'remote-a': { type: 'RemoteVM', relayvm: 'sys-relay', transport_rpc: 'qubesair.SSHProxy', power_state: 'Running' },
  });
  const json = (policy: string | ReturnType<typeof memPolicy>, src: string, tgt: string, svc = 'svc', opts = {}) =>
    decisionToJson(decide(policy, src, tgt, svc, { si, ...opts }));

  const ORDER = ['result', 'service', 'argument', 'source', 'requested_target', 'target', 'targets', 'default_target', 'user', 'autostart', 'notify', 'rule'];
  const FILE = `${POLICY_DIR}/50-test.policy`;

  t.test('allow', async (t) => {
    const j = json('svc * @anyvm @anyvm allow user=alice notify=yes\n', 'work', 'personal', 'svc+arg');
    t.same(Object.keys(j), ORDER);
    t.strictSame(j, {
      result: 'allow',
      service: 'svc',
      argument: '+arg',
      source: 'work',
      requested_target: 'personal',
      target: 'personal',
      targets: null,
      default_target: null,
      user: 'alice',
      autostart: true,
      notify: true,
      rule: { file: FILE, line: 1 },
    });
    // svc → argument +; user null when the rule sets none; disposables as @dispvm:X
    const d = json('svc * @anyvm @anyvm allow autostart=no\n', 'work', '@dispvm:alt-dvm');
    t.equal(d.result, 'deny', 'a new disposable is never running');
    const v = json('svc * @anyvm @anyvm allow\n', 'work', '@dispvm');
    t.equal(v.argument, '+');
    t.equal(v.user, null);
    t.equal(v.target, '@dispvm:default-dvm');
    t.equal(v.requested_target, '@dispvm');
    t.equal(v.notify, false);
    // a RemoteVM: the JSON names the RemoteVM itself and keeps the rule's user
    const r = json('svc * @anyvm @anyvm allow user=alice\n', 'work', 'remote-a');
    t.equal(r.target, 'remote-a');
    t.equal(r.user, 'alice');
    t.equal(json('svc * @anyvm @adminvm allow\n', 'work', '@adminvm').target, 'dom0');
  });

  t.test('ask', async (t) => {
    const j = json('svc * @anyvm @anyvm ask default_target=vault user=bob\n', 'work', '');
    t.same(Object.keys(j), ORDER);
    t.equal(j.result, 'ask');
    t.equal(j.target, null);
    t.same(j.targets, ['@dispvm:alt-dvm', '@dispvm:default-dvm', 'alt-dvm', 'default-dvm', 'fedora-41', 'personal', 'remote-a', 'sys-net', 'sys-relay', 'untrusted', 'vault']);
    t.equal(j.default_target, 'vault');
    t.equal(j.user, 'bob');
    t.equal(j.autostart, true);
    t.equal(j.notify, false);
    t.same(j.rule, { file: FILE, line: 1 });
    t.notOk('reason' in j);
    t.equal(json('svc * @anyvm @anyvm ask\n', 'work', '').default_target, null);
  });

  t.test('deny', async (t) => {
    const j = json('svc * @anyvm @anyvm deny\n', 'work', 'personal');
    t.same(Object.keys(j), [...ORDER, 'reason']);
    t.equal(j.result, 'deny');
    for (const k of ['target', 'targets', 'default_target', 'user', 'autostart'] as const) t.equal(j[k], null, k);
    t.equal(j.notify, true);
    t.same(j.rule, { file: FILE, line: 1 });
    t.type(j.reason, 'string');
    // a deny from an allow rule still names it
    const a = json('svc * @anyvm @anyvm allow\n', 'work', 'work');
    t.same(a.rule, { file: FILE, line: 1 });
    t.equal(a.user, null);
    // no rule
    const n = json('other * @anyvm @anyvm allow\n', 'work', 'personal');
    t.equal(n.rule, null);
    t.equal(n.notify, true);
    t.equal(n.requested_target, 'personal');
    // invalid request: requested_target null
    const b = json('svc * @anyvm @anyvm allow\n', 'work', '@tag:x', 'svc+a');
    t.equal(b.requested_target, null);
    t.equal(b.service, 'svc');
    t.equal(b.argument, '+a');
    t.equal(b.rule, null);
    t.same(Object.keys(b), [...ORDER, 'reason']);
    // ask turned into a deny by --assume-yes-for-ask
    const y = json('svc * @anyvm * ask\n', 'work', '@adminvm', 'svc', { assumeYesForAsk: true });
    t.equal(y.result, 'deny');
    t.same(y.rule, { file: FILE, line: 1 });
  });

  t.test('rule.file for included files and implicit compat rules', async (t) => {
    const pol = memPolicy(
      { '50-test.policy': '!include include/inc\n!compat-4.0\n' },
      { extra: { [`${POLICY_DIR}/include/inc`]: '\nsvc * work personal allow\n' }, legacy: { 'svc+x': 'work vault allow\n' } },
    );
    t.same(json(pol, 'work', 'personal').rule, { file: `${POLICY_DIR}/include/inc`, line: 2 });
    t.same(json(pol, 'work', 'vault', 'svc+x').rule, { file: `${LEGACY_DIR}/svc+x`, line: 1 });
    const implicit = json(pol, 'personal', 'vault', 'svc+x');
    t.equal(implicit.result, 'deny');
    t.same(implicit.rule, { file: `${LEGACY_DIR}/svc+x`, line: null });
  });

  t.test('requested_source', async (t) => {
    const j = json('svc * remote-a @anyvm allow\n', 'sys-relay', 'work', 'svc', { requestedSource: 'remote-a' });
    t.same(Object.keys(j), [...ORDER, 'requested_source']);
    t.equal(j.requested_source, 'remote-a');
    t.equal(j.source, 'remote-a');
    const d = json('svc * remote-a @anyvm deny\n', 'sys-relay', 'work', 'svc', { requestedSource: 'remote-a' });
    t.same(Object.keys(d), [...ORDER, 'requested_source', 'reason']);
    t.notOk('requested_source' in json('svc * @anyvm @anyvm allow\n', 'work', 'personal'));
  });

  t.test('decisionJsonLine is one line of that object', async (t) => {
    const d = decide('svc * @anyvm @anyvm ask\n', 'work', '', 'svc', { si });
    const line = decisionJsonLine(d);
    t.notMatch(line, /\n/);
    t.match(line, /^\{"result":"ask","service":"svc","argument":"\+","source":"work","requested_target":"@default","target":null,"targets":\[/);
  });
});

/**
 * `explain` (SPEC §3.3): the deciding rule, skipped rules with the column
 * that did not match, and where ask targets came from.
 */
t.test('explain', async (t) => {
  const si = makeSystem();
  const siBroken = makeSystem({
    broken: { type: 'AppVM', default_dispvm: 'ghost-dvm', power_state: 'Running' },
  });
  const F = `${POLICY_DIR}/10-a.policy`;
  const pol = memPolicy({
    '10-a.policy': [
      'other * work personal allow',
      'svc +x work personal allow',
      'svc * personal @anyvm allow',
      'svc * work vault deny',
      'svc * work @dispvm:alt-dvm allow',
      'svc * @tag:work @anyvm ask default_target=personal',
      'svc * work @anyvm allow',
    ].join('\n'),
  });
  const run = (input: Partial<RequestInput> & { source: string }, opts = {}, ruleset = pol) =>
    explain(ruleset, si, { target: '', service: 'svc', ...input }, opts);
  const lines = (text: string) => text.split('\n');

  t.test('ask: deciding rule, skipped rules, provenance', async (t) => {
    const { text, decision } = run({ source: 'work' });
    t.equal(decision.result, 'ask');
    t.same(decision, evaluate(pol, si, { source: 'work', target: '', service: 'svc' }), 'explains the real decision');
    const L = lines(text);
    t.equal(L[0], "request:  work -> '' (none)  svc");
    t.equal(L[1], '          service svc, argument +, target @default (no target named)');
    t.equal(
      L[2],
      'decision: ask, offering @dispvm:alt-dvm, @dispvm:default-dvm, alt-dvm, default-dvm, fedora-41, personal, sys-net, untrusted; default personal',
    );
    t.ok(text.includes(`deciding rule: ${F}:6\n    svc * @tag:work @anyvm ask default_target=personal\n`));
    t.ok(text.includes('rules passed over before it (4):\n'));
    t.ok(text.includes(`  ${F}:2: svc +x work personal allow\n      argument: +x is not +\n`));
    t.ok(text.includes(`  ${F}:3: svc * personal @anyvm allow\n      source: work is not personal\n`));
    t.ok(text.includes(`  ${F}:4: svc * work vault deny\n      target: @default (no target named) is not vault\n`));
    t.ok(text.includes(`  ${F}:5: svc * work @dispvm:alt-dvm allow\n      target: @default (no target named) is not @dispvm:alt-dvm\n`));
    t.ok(text.includes('  (1 rules for other services were not considered)\n'));
    t.ok(text.includes('offered targets, collected from every rule for this call (last rule first):\n'));
    // provenance: added by line 7, vault removed by line 4, then the post-processing steps
    const prov = L.slice(L.indexOf('offered targets, collected from every rule for this call (last rule first):') + 1).filter((l) => l);
    t.match(prov[0], new RegExp(`^  \\+ .*\\bpersonal\\b.*    ${F}:7: svc \\* work @anyvm allow$`));
    t.equal(prov[1], `  - vault    ${F}:4: svc * work vault deny`);
    t.match(prov[2], /^  - @dispvm, \+ @dispvm:default-dvm    \(@dispvm stands for the default disposable template of work\)$/);
    t.equal(prov[3], '  - work    (a qube cannot call itself)');
    t.equal(prov[4], '  - mgmt-dvm, - @dispvm:mgmt-dvm    (internal qubes are never offered)');
    t.equal(prov.length, 5);
    t.ok(text.endsWith('\n'));
  });

  t.test('ask with target=', async (t) => {
    const p = memPolicy({ '10-a.policy': 'svc * work @anyvm ask target=personal\n' });
    const { text } = run({ source: 'work', target: 'vault' }, {}, p);
    t.ok(text.includes('decision: ask, offering personal\n'));
    t.ok(text.includes('  only personal, from target= of the deciding rule\n'));
  });

  t.test('ask answered by --assume-yes-for-ask', async (t) => {
    const yes = run({ source: 'work', target: 'personal' }, { assumeYesForAsk: true });
    t.equal(yes.decision.result, 'allow');
    t.ok(yes.text.includes('decision: allow, to personal\n'));
    t.ok(yes.text.includes('offered targets, collected'), 'provenance still shown');
    const no = run({ source: 'work', target: '@dispvm' }, { assumeYesForAsk: true });
    t.equal(no.decision.result, 'deny');
    t.match(no.text, /decision: deny: target @dispvm is not a valid choice/);
    t.ok(no.text.includes('offered targets, collected'), 'shown for an ask that became a deny');
    t.ok(no.text.includes('      target: @dispvm from work means @dispvm:default-dvm, not @dispvm:alt-dvm\n'));
  });

  t.test('allow and deny headlines, warnings', async (t) => {
    const p = memPolicy({
      '10-a.policy': 'svc * work @default allow target=vault user=alice autostart=no\nsvc * work personal allow\nsvc * @anyvm @anyvm deny\n',
    });
    const a = run({ source: 'work', target: 'personal' }, {}, p);
    t.ok(a.text.includes('decision: allow, to personal\n'));
    t.ok(a.text.includes('rules passed over before it (1):\n'));
    t.ok(a.text.includes('      target: the caller named a target (personal); @default matches only calls without one\n'));
    t.notOk(a.text.includes('offered targets'));
    const w = run({ source: 'work', target: 'ghost' }, {}, memPolicy({ '10-a.policy': 'svc * work @default allow target=sys-net user=alice autostart=no\n' }));
    t.ok(w.text.includes('decision: allow, to sys-net as user alice (autostart=no)\n'));
    t.match(w.text, /\nwarning:  target "ghost" does not exist, using @default instead\n/);
    t.ok(w.text.includes('rules passed over before it (0):\n  none\n'));
    const d = run({ source: 'personal', target: 'vault' }, {}, p);
    t.ok(d.text.includes(`decision: deny: denied by policy ${POLICY_DIR}/10-a.policy:3\n`));
    t.ok(d.text.includes(`deciding rule: ${POLICY_DIR}/10-a.policy:3\n    svc * @anyvm @anyvm deny\n`));
    t.ok(d.text.includes('      source: personal is not work\n'));
  });

  t.test('no rule, bad request, load error', async (t) => {
    const n = run({ source: 'vault', target: 'work', service: 'svc+x' });
    t.ok(n.text.includes('decision: deny: no matching rule found\n'));
    t.notOk(n.text.includes('deciding rule'));
    t.ok(n.text.includes('rules passed over before it (6):\n'));
    const b = run({ source: 'work', target: '@anyvm' });
    t.equal(b.text, "request:  work -> @anyvm  svc\ndecision: deny: bad request: invalid intendedtarget token: '@anyvm'\n");
    const e = run({ source: 'work', target: 'personal' }, {}, memPolicy({ '10-a.policy': 'junk\n' }));
    t.match(e.text, /^request:  work -> personal  svc\n          service svc, argument \+, target personal\ndecision: deny: policy failed to load: /);
    t.notOk(e.text.includes('rules passed over'));
  });

  t.test('every source-column mismatch reason', async (t) => {
    const p = memPolicy({
      '10-a.policy': [
        'svc * @anyvm @anyvm deny',
        'svc * work @anyvm deny',
        'svc * @tag:work @anyvm deny',
        'svc * @type:TemplateVM @anyvm deny',
        'svc * @dispvm:default-dvm @anyvm deny',
        'svc * @dispvm:@tag:dvm @anyvm deny',
        'svc * @adminvm @anyvm deny',
        'svc * * * deny',
      ].join('\n'),
    });
    const dom0 = run({ source: 'dom0', target: 'personal' }, {}, p).text;
    t.ok(dom0.includes('      source: @anyvm never matches dom0\n'));
    t.ok(dom0.includes('      source: dom0 is not work\n'));
    t.ok(dom0.includes('      source: dom0 has no tag work\n'));
    t.ok(dom0.includes('      source: dom0 is of type AdminVM, not TemplateVM\n'));
    t.ok(dom0.includes('      source: @dispvm:default-dvm never matches a caller (a running disposable calls under its own name)\n'));
    t.ok(dom0.includes('      source: @dispvm:@tag:dvm never matches a caller (a running disposable calls under its own name)\n'));
    const ghost = run({ source: 'ghost', target: 'personal' }, {}, memPolicy({ '10-a.policy': p.rules.slice(1).map((r) => r.text).join('\n') })).text;
    t.ok(ghost.includes('      source: ghost is not a known qube, so @tag:work never matches it\n'));
    t.ok(ghost.includes('      source: ghost is not a known qube, so @type:TemplateVM never matches it\n'));
    t.ok(ghost.includes('      source: ghost is not dom0\n'));
  });

  t.test('every target-column mismatch reason', async (t) => {
    const p = memPolicy({
      '10-a.policy': [
        'svc * work @anyvm deny',
        'svc * work @dispvm deny',
        'svc * work vault deny',
        'svc * work @tag:vault deny',
        'svc * work @type:TemplateVM deny',
        'svc * work @dispvm:@tag:web deny',
        'svc * work @dispvm:alt-dvm deny',
        `svc * work @dispvm:uuid:${uuidOf(si, 'default-dvm')} deny`,
        'svc * work @default deny',
        'svc * work * allow',
      ].join('\n'),
    });
    const r = run({ source: 'work', target: 'dom0' }, {}, p).text;
    t.ok(r.includes('      target: @anyvm never matches dom0 (dom0)\n'));
    t.ok(r.includes('      target: dom0 is not @dispvm\n'));
    t.ok(r.includes('      target: dom0 is not vault\n'));
    t.ok(r.includes('      target: dom0 has no tag vault\n'));
    t.ok(r.includes('      target: dom0 is not of type TemplateVM\n'));
    t.ok(r.includes('      target: dom0 is not a disposable from a template tagged web\n'));
    t.ok(r.includes('      target: dom0 is not @dispvm:alt-dvm\n'));
    t.ok(r.includes('      target: the caller named a target (dom0); @default matches only calls without one\n'));
    const p2 = memPolicy({
      '10-a.policy': `svc * work @adminvm deny\nsvc * work @dispvm:uuid:${uuidOf(si, 'default-dvm')} deny\nsvc * work @dispvm allow\n`,
    });
    const q = run({ source: 'work', target: '@dispvm' }, {}, p2).text;
    t.ok(q.includes('      target: @dispvm is not dom0\n'));
    t.ok(q.includes(`      target: @dispvm from work means @dispvm:default-dvm, not @dispvm:uuid:${uuidOf(si, 'default-dvm')}\n`));
  });

  t.test('implicit compat rules and long lists', async (t) => {
    const c = memPolicy({ '10-a.policy': '!compat-4.0\n' }, { legacy: { 'svc+x': 'work vault allow\n' } });
    const { text } = run({ source: 'personal', target: 'vault', service: 'svc+x' }, {}, c);
    t.ok(text.includes(`deciding rule: ${LEGACY_DIR}/svc+x (implicit deny after a specific-argument file)\n`));
    t.ok(text.includes(`decision: deny: denied by policy ${LEGACY_DIR}/svc+x\n`));
    const many = memPolicy({ '10-a.policy': Array.from({ length: 60 }, (_, i) => `svc * work q${i} deny`).join('\n') + '\nsvc * work @anyvm allow\n' });
    const short = run({ source: 'work', target: 'personal' }, {}, many).text;
    t.ok(short.includes('rules passed over before it (60):\n'));
    t.ok(short.includes('  ... 10 more (use --all to list them)\n'));
    t.equal(short.match(/      target: personal is not q\d+\n/g)?.length, 50);
    const all = run({ source: 'work', target: 'personal' }, { all: true }, many).text;
    t.equal(all.match(/      target: personal is not q\d+\n/g)?.length, 60);
    t.notOk(all.includes('more (use --all'));
    // a --legacy rule set has no "other services" count
    const leg = explain(memLegacy({ svc: 'personal vault deny\nwork vault allow\n' }), si, { source: 'work', target: 'vault', service: 'svc' });
    t.ok(leg.text.includes('rules passed over before it (1):\n'));
    t.notOk(leg.text.includes('other services'));
  });

  t.test('mismatchReason and ruleLocation directly', async (t) => {
    const r = parseRequest({ source: 'vault', target: '@dispvm', service: 'svc' }, si);
    const b = parseRequest({ source: 'broken', target: '@dispvm', service: 'svc' }, siBroken);
    if (!r.ok || !b.ok) throw new Error('parse');
    const p = memPolicy({ '10-a.policy': 'svc * vault @dispvm:alt-dvm allow\nother * vault @anyvm allow\nsvc * vault @dispvm allow\nsvc * broken @dispvm:@tag:x allow\n' });
    const [faulty, other, ok, faulty2] = p.rules;
    t.match(mismatchReason(faulty!, r.request, si), /^cannot be evaluated: /);
    t.equal(mismatchReason(other!, r.request, si), 'service: other is not svc');
    t.equal(mismatchReason(ok!, r.request, si), 'matches');
    t.match(mismatchReason(faulty2!, b.request, siBroken), /^cannot be evaluated: default_dispvm ghost-dvm/);
    t.equal(ruleLocation(ok!), `${POLICY_DIR}/10-a.policy:3`);
  });

  t.test('tags and types against values that name no qube', async (t) => {
    const p = memPolicy({ '10-a.policy': 'svc * @anyvm @type:AdminVM allow\nsvc * @tag:work @anyvm allow\nsvc * @type:AppVM @tag:work allow\n' });
    const [type, tag, both] = p.rules;
    const req = (source: string, target: string) => {
      const q = parseRequest({ source, target, service: 'svc' }, si);
      if (!q.ok) throw new Error(q.reason);
      return q.request;
    };
    t.equal(mismatchReason(type!, req('work', '@adminvm'), si), 'target: @adminvm names no qube (only names and uuid: forms do), so @type:AdminVM never matches it, as in Qubes');
    t.equal(mismatchReason(type!, req('work', 'personal'), si), 'target: personal is not of type AdminVM');
    t.equal(mismatchReason(both!, req('work', '@dispvm'), si), 'target: @dispvm names no qube (only names and uuid: forms do), so @tag:work never matches it, as in Qubes');
    t.equal(mismatchReason(both!, req('work', ''), si), 'target: @default names no qube (only names and uuid: forms do), so @tag:work never matches it, as in Qubes');
    t.equal(mismatchReason(tag!, req('@adminvm', 'work'), si), 'source: @adminvm names no qube (only names and uuid: forms do), so @tag:work never matches it, as in Qubes');
    t.equal(mismatchReason(tag!, req('ghost', 'work'), si), 'source: ghost is not a known qube, so @tag:work never matches it');
    t.equal(mismatchReason(tag!, req('personal', 'work'), si), 'source: personal has no tag work');
  });
});

t.test('explain: display details', async (t) => {
  const si = makeSystem();
  // rules are shown with whitespace folded (tabs in service files)
  const p = memPolicy({ '10-a.policy': 'svc\t*\tpersonal   @anyvm allow\nsvc  *  work\t@default ask\nsvc * work @adminvm allow\n' });
  const { text } = explain(p, si, { source: 'work', target: '', service: 'svc' });
  t.ok(text.includes(`  ${POLICY_DIR}/10-a.policy:1: svc * personal @anyvm allow\n`));
  t.ok(text.includes(`deciding rule: ${POLICY_DIR}/10-a.policy:2\n    svc * work @default ask\n`));
  t.ok(text.includes(`  + @adminvm    ${POLICY_DIR}/10-a.policy:3: svc * work @adminvm allow\n`));
  t.ok(text.includes('  - @adminvm, + dom0    (@adminvm is offered as dom0)\n'));
  t.ok(text.includes('decision: ask, offering dom0\n'));
  t.equal(ruleDisplay(p.rules[0]!), 'svc * personal @anyvm allow');
});

t.test('asGiven: paths under a given directory shown by the name it was given', async (t) => {
  const show = asGiven([
    ['policy.d', '/home/u/policy.d'],
    ['inner', '/home/u/policy.d/inner'],
    ['/', '/'],
  ]);
  t.equal(show('/home/u/policy.d/include/x'), 'policy.d/include/x');
  t.equal(show('/home/u/policy.d'), 'policy.d', 'the directory itself');
  t.equal(show('/home/u/policy.d/inner/y'), 'inner/y', 'the deepest directory given names it');
  t.equal(show('/home/u/policy.dx/z'), '/home/u/policy.dx/z', 'a name that only begins alike');
  t.equal(show('/etc/z'), '/etc/z', 'under /, as it is');
  t.equal(show('relative/z'), 'relative/z');
  t.equal(asGiven([])('/a'), '/a');
});
