/**
 * `ask` (SPEC §3.2): target collection, target=, autostart=no,
 * default_target=, --assume-yes-for-ask, and an ask the user answered.
 */
import t from 'tap';
import { type DenyDecision, type Decision, type AskDecision, codePointSort } from '../../../src/policy/decision.js';
import { confirmAsk, evaluate } from '../../../src/policy/evaluate.js';
import { parseRequest } from '../../../src/policy/request.js';
import { SystemInfo } from '../../../src/policy/system-info.js';
import { decide, makeSystem, uuidOf, memPolicy } from '../../helpers/policy.js';

/**
 * `ask` (SPEC §3.2): target collection, target=, autostart=no,
 * default_target=, --assume-yes-for-ask, ordering.
 */
t.test('ask', async (t) => {
  const ZERO = 'uuid:00000000-0000-0000-0000-000000000000';
  const si = makeSystem();
  const U = (name: string) => 'uuid:' + uuidOf(si, name);

  function asked(d: Decision): AskDecision {
    if (d.result !== 'ask') throw new Error(`expected ask, got ${d.result}: ${d.result === 'deny' ? d.reason : ''}`);
    return d;
  }
  function denied(d: Decision): DenyDecision {
    if (d.result !== 'deny') throw new Error(`expected deny, got ${d.result}`);
    return d;
  }

  /**
   * Decide `SRC → '' svc` with `svc * SRC @default ask` as the deciding rule
   * (it contributes nothing itself) followed by `lines`.
   */
  function collect(lines: string[], src = 'work', sys: SystemInfo = si): Decision {
    return decide([`svc * ${src} @default ask`, ...lines].join('\n') + '\n', src, '', 'svc', { si: sys });
  }
  function offered(lines: string[], src = 'work', sys: SystemInfo = si): string[] {
    return asked(collect(lines, src, sys)).targets;
  }

  const ANYVM_FROM_WORK = ['@dispvm:alt-dvm', '@dispvm:default-dvm', 'alt-dvm', 'default-dvm', 'fedora-41', 'personal', 'sys-net', 'untrusted', 'vault'];

  t.test('expansion of every token kind', async (t) => {
    t.same(offered(['svc * work personal allow']), ['personal'], 'a name');
    t.same(offered([`svc * work ${U('personal')} allow`]), ['personal'], 'a uuid form → the name');
    t.same(offered(['svc * work @adminvm allow']), ['dom0'], '@adminvm → dom0');
    t.same(offered(['svc * work dom0 allow']), ['dom0'], 'dom0');
    t.same(offered([`svc * work ${ZERO} allow`]), ['dom0'], 'zero uuid → dom0');
    t.same(offered(['svc * work @anyvm allow']), ANYVM_FROM_WORK, '@anyvm');
    t.same(offered(['svc * work * allow']), codePointSort([...ANYVM_FROM_WORK, 'dom0']), '* adds dom0');
    t.same(offered(['svc * work @tag:web allow']), ['alt-dvm', 'untrusted'], '@tag:');
    t.same(offered(['svc * work @type:TemplateVM allow']), ['fedora-41'], '@type:');
    t.same(offered(['svc * work @type:AdminVM allow']), ['dom0'], '@type:AdminVM names dom0');
    t.same(offered(['svc * work @dispvm:@tag:dvm allow']), ['@dispvm:alt-dvm', '@dispvm:default-dvm'], '@dispvm:@tag:');
    t.same(offered(['svc * work @dispvm:@tag:web allow']), ['@dispvm:alt-dvm']);
    t.same(offered(['svc * work @dispvm:alt-dvm allow']), ['@dispvm:alt-dvm'], '@dispvm:X');
    // the agent shows names: a uuid spelling is offered by name, as Qubes does
    t.same(offered([`svc * work @dispvm:${U('alt-dvm')} allow`]), ['@dispvm:alt-dvm'], '@dispvm:uuid: offered by name');
    t.same(offered(['svc * work @dispvm allow']), ['@dispvm:default-dvm'], "@dispvm → the source's default template");
    t.same(offered(['svc * untrusted @dispvm allow'], 'untrusted'), ['@dispvm:alt-dvm']);
    t.same(offered(['svc * work vault ask']), ['vault'], 'ask rules add too');
    t.same(offered(['svc * work vault allow target=personal']), ['personal'], 'target= rather than the target column');
    t.same(offered(['svc * work personal allow', 'svc * work vault allow']), ['personal', 'vault']);
  });

  t.test('expansions that yield nothing → deny (no target)', async (t) => {
    for (const line of [
      'svc * work ghost allow',
      'svc * work @dispvm:work allow',
      'svc * work @default allow target=ghost',
      'svc * work @tag:nothing allow',
      'svc * work @type:DispVM allow',
      'svc * work @dispvm:@tag:nothing allow',
    ]) {
      const d = denied(collect([line]));
      t.equal(d.kind, 'no-target', line);
      t.equal(d.rule?.line, 1);
    }
    // only the deciding @default rule
    t.equal(denied(collect([])).kind, 'no-target');
    // @dispvm from a source without default_dispvm is dropped
    t.equal(denied(collect(['svc * vault @dispvm allow'], 'vault')).kind, 'no-target');
    t.same(offered(['svc * vault @anyvm allow'], 'vault'), ANYVM_FROM_WORK.filter((x) => x !== 'vault').concat('work').sort());
  });

  t.test('reverse walk: deny removes, later allows cannot override earlier denies', async (t) => {
    t.same(
      offered(['svc * work vault deny', 'svc * work @anyvm allow']),
      ANYVM_FROM_WORK.filter((x) => x !== 'vault'),
      'an earlier deny removes',
    );
    t.same(offered(['svc * work @anyvm allow', 'svc * work vault deny']), ANYVM_FROM_WORK, 'a later deny does not');
    t.same(
      offered(['svc * work personal allow', 'svc * work @anyvm deny', 'svc * work @anyvm allow']),
      ['personal'],
      'rules after a catch-all deny still count: walk all rules',
    );
    t.same(offered(['svc * work @tag:web deny', 'svc * work @anyvm ask']), ANYVM_FROM_WORK.filter((x) => x !== 'alt-dvm' && x !== 'untrusted'));
    t.same(
      offered(['svc * work @dispvm:@tag:web deny', 'svc * work @anyvm ask']),
      ANYVM_FROM_WORK.filter((x) => x !== '@dispvm:alt-dvm'),
    );
    // a deny of @dispvm removes the @dispvm that @anyvm added (it is resolved afterwards)
    t.same(
      offered(['svc * work @dispvm deny', 'svc * work @dispvm:@tag:web deny', 'svc * work @anyvm allow']),
      ANYVM_FROM_WORK.filter((x) => x !== '@dispvm:alt-dvm'),
      '@dispvm:default-dvm still comes from @anyvm itself',
    );
    t.equal(denied(collect(['svc * work @dispvm deny', 'svc * work @dispvm allow'])).kind, 'no-target', '@dispvm removed before resolution');
    t.same(offered(['svc * work @dispvm:default-dvm deny', 'svc * work @dispvm allow']), ['@dispvm:default-dvm'], 'removal compares values as written');
  });

  t.test('rules for other sources, services or arguments are not walked', async (t) => {
    t.equal(denied(collect(['svc * personal vault allow'])).kind, 'no-target');
    t.equal(denied(collect(['other * work vault allow'])).kind, 'no-target');
    t.equal(denied(collect(['svc +x work vault allow'])).kind, 'no-target');
    t.same(offered(['svc + work vault allow']), ['vault'], 'argument + matches svc');
    t.same(offered(['* * work vault allow']), ['vault'], 'a * service rule is walked');
    t.same(offered(['svc * @tag:work vault allow']), ['vault']);
    t.same(offered(['svc * @anyvm vault allow']), ['vault']);
    t.equal(denied(collect(['svc * @adminvm vault allow'])).kind, 'no-target');
    // a deny for another source does not remove anything
    t.same(offered(['svc * personal vault deny', 'svc * work vault allow']), ['vault']);
    // rules before the deciding one count too
    const d = asked(decide('svc * work vault allow\nsvc * work @default ask\n', 'work', '', 'svc', { si }));
    t.same(d.targets, ['vault']);
    t.equal(d.rule?.line, 2);
  });

  t.test('the source itself and internal qubes are dropped', async (t) => {
    t.equal(denied(collect(['svc * work @tag:work allow'])).kind, 'no-target', 'self by name');
    t.equal(denied(collect(['svc * work work allow'])).kind, 'no-target');
    t.equal(denied(collect([`svc * work ${U('work')} allow`])).kind, 'no-target', 'self named by uuid');
    // a caller that names itself by uuid
    const d = asked(
      decide(`svc * work @default ask\nsvc * work work allow\nsvc * work personal allow\n`, U('work'), '', 'svc', { si }),
    );
    t.same(d.targets, ['personal']);
    // internal qubes, also as @dispvm:X
    t.equal(denied(collect(['svc * work mgmt-dvm allow'])).kind, 'no-target');
    t.equal(denied(collect(['svc * work @dispvm:mgmt-dvm allow'])).kind, 'no-target');
    t.equal(denied(collect([`svc * work @dispvm:${U('mgmt-dvm')} allow`])).kind, 'no-target');
    t.notOk(offered(['svc * work * allow']).some((x) => x.includes('mgmt-dvm')));
    // internal given as a qubesd feature string
    const sys = makeSystem({
      hidden1: { type: 'AppVM', internal: '1' },
      shown1: { type: 'AppVM', internal: '' },
      shown2: { type: 'AppVM', internal: null },
      hidden2: { type: 'AppVM', internal: true },
    });
    t.same(offered(['svc * work hidden1 allow', 'svc * work hidden2 allow', 'svc * work shown1 allow', 'svc * work shown2 allow'], 'work', sys), ['shown1', 'shown2']);
    // dom0 (the source) is dropped when dom0 asks
    t.equal(denied(collect(['svc * @adminvm @adminvm allow'], 'dom0')).kind, 'no-target');
    // a caller spelled @adminvm names no qube: Qubes cannot collect for it
    t.equal(denied(collect(['svc * @adminvm @adminvm allow'], '@adminvm')).kind, 'fault');
  });

  t.test('ask with target=', async (t) => {
    const one = (param: string, src = 'work', extra = '') =>
      asked(decide(`svc * ${src} @anyvm ask ${param}\nsvc * ${src} @anyvm allow\n${extra}`, src, 'vault', 'svc', { si })).targets;
    t.same(one('target=personal'), ['personal'], 'just that');
    t.same(one('target=@adminvm'), ['dom0']);
    t.same(one('target=dom0'), ['dom0']);
    t.same(one(`target=${ZERO}`), ['dom0']);
    t.same(one('target=mgmt-dvm'), ['mgmt-dvm'], 'no internal filtering');
    t.same(one('target=@dispvm:alt-dvm'), ['@dispvm:alt-dvm']);
    t.same(one(`target=${U('personal')}`), [U('personal')], 'as written');
    t.same(one('target=@dispvm'), ['@dispvm']);
  });

  t.test('autostart=no keeps running targets and dom0', async (t) => {
    const a = asked(decide('svc * work @anyvm ask autostart=no\n', 'work', '', 'svc', { si }));
    t.same(a.targets, ['alt-dvm', 'sys-net', 'untrusted']);
    t.equal(a.autostart, false);
    t.same(asked(decide('svc * work * ask autostart=no\n', 'work', '', 'svc', { si })).targets, ['alt-dvm', 'dom0', 'sys-net', 'untrusted']);
    const tg = (p: string) => decide(`svc * work @anyvm ask autostart=no ${p}\n`, 'work', '', 'svc', { si });
    t.same(asked(tg('target=sys-net')).targets, ['sys-net']);
    t.same(asked(tg('target=@adminvm')).targets, ['dom0']);
    t.same(asked(tg(`target=${U('sys-net')}`)).targets, [U('sys-net')]);
    t.same(asked(tg(`target=${ZERO}`)).targets, ['dom0']);
    for (const p of ['target=vault', 'target=@dispvm:alt-dvm', 'target=@dispvm', `target=${U('personal')}`]) {
      const d = denied(tg(p));
      t.equal(d.kind, 'no-target', p);
      t.equal(d.rule?.line, 1);
    }
    // nothing running → deny
    t.equal(denied(decide('svc * work @tag:vault ask autostart=no\n', 'work', 'vault', 'svc', { si })).kind, 'no-target', 'a halted-only set is empty');
    // autostart=no on a contributing rule does not filter; only the deciding rule's counts
    t.same(offered(['svc * work vault allow autostart=no']), ['vault']);
  });

  t.test('default_target=', async (t) => {
    const dt = (param: string, src = 'work', col = '@anyvm', deny = '') =>
      asked(decide(`${deny}svc * ${src} ${col} ask ${param}\n`, src, '', 'svc', { si }));
    const p = dt('default_target=personal');
    t.equal(p.defaultTarget, 'personal');
    t.same(p.warnings, []);
    t.equal(dt('default_target=@dispvm').defaultTarget, '@dispvm:default-dvm', "@dispvm → the source's template");
    t.equal(dt('default_target=@dispvm', 'untrusted').defaultTarget, '@dispvm:alt-dvm');
    t.equal(dt('default_target=@dispvm', 'vault').defaultTarget, null, 'no default_dispvm → none');
    t.equal(dt('default_target=@dispvm:alt-dvm').defaultTarget, '@dispvm:alt-dvm');
    for (const form of ['@adminvm', 'dom0', ZERO]) {
      t.equal(dt(`default_target=${form}`, 'work', '*').defaultTarget, 'dom0', form);
      const gone = dt(`default_target=${form}`, 'work', '@anyvm');
      t.equal(gone.defaultTarget, null, `${form} not offered by @anyvm`);
      t.equal(gone.warnings.length, 1);
    }
    for (const [param, why] of <Array<[string, string]>>[
      ['default_target=vault', 'denied'],
      ['default_target=work', 'the source itself'],
      ['default_target=mgmt-dvm', 'internal'],
      ['default_target=ghost', 'unknown'],
      ['default_target=@dispvm:mgmt-dvm', 'internal disposable'],
    ]) {
      const d = dt(param, 'work', '@anyvm', 'svc * work vault deny\n');
      t.equal(d.defaultTarget, null, why);
      t.equal(d.warnings.length, 1, `${why}: warned`);
      t.match(d.warnings[0], /default_target/);
      t.ok(d.targets.length > 0);
    }
    // with target=
    const w = asked(decide('svc * work @anyvm ask target=personal default_target=personal\n', 'work', '', 'svc', { si }));
    t.same(w.targets, ['personal']);
    t.equal(w.defaultTarget, 'personal');
    const x = asked(decide('svc * work @anyvm ask target=personal default_target=vault\n', 'work', '', 'svc', { si }));
    t.equal(x.defaultTarget, null);
    // autostart=no filtering happens before the default_target check
    const y = asked(decide('svc * work @anyvm ask autostart=no default_target=personal\n', 'work', '', 'svc', { si }));
    t.equal(y.defaultTarget, null);
    t.equal(asked(decide('svc * work @anyvm ask autostart=no default_target=sys-net\n', 'work', '', 'svc', { si })).defaultTarget, 'sys-net');
  });

  t.test('ask decision fields', async (t) => {
    const d = asked(decide('svc * work @default ask user=bob notify=yes autostart=no\nsvc * work @anyvm allow\n', 'work', '', 'svc', { si }));
    t.equal(d.rule?.line, 1);
    t.same(d.targets, ['alt-dvm', 'sys-net', 'untrusted']);
    t.equal(d.user, 'bob');
    t.equal(d.notify, true);
    t.equal(d.autostart, false);
    t.equal(d.requestedTarget, '@default');
    t.equal(d.defaultTarget, null);
    t.same(d.warnings, []);
  });

  t.test('--assume-yes-for-ask', async (t) => {
    const yes = (policy: string, target: string, src = 'work') => decide(policy, src, target, 'svc', { si, assumeYesForAsk: true });
    const P = 'svc * work vault deny\nsvc * work * ask user=bob notify=yes\n';
    const a = yes(P, 'personal');
    t.equal(a.result, 'allow');
    if (a.result === 'allow') {
      t.equal(a.target, 'personal');
      t.equal(a.user, 'bob');
      t.equal(a.notify, true);
      t.equal(a.autostart, true);
      t.equal(a.rule?.line, 2);
    }
    t.equal(yes(P, 'dom0').result, 'allow', 'dom0 is offered as dom0');
    t.equal(yes(P, '@dispvm:default-dvm').result, 'allow');
    t.equal(yes(P, '@dispvm:alt-dvm').result === 'allow' && (yes(P, '@dispvm:alt-dvm') as { target: string }).target, '@dispvm:alt-dvm');
    for (const [target, why] of <Array<[string, string]>>[
      ['@adminvm', '@adminvm is not dom0 as written'],
      [ZERO, 'the zero uuid is not dom0 as written'],
      ['@dispvm', '@dispvm is not @dispvm:X as written'],
      [U('personal'), 'a uuid form is not the name'],
      ['', '@default is never offered'],
      ['ghost', 'unknown → @default'],
      ['mgmt-dvm', 'internal qubes are not offered'],
    ]) {
      const d = denied(yes(P, target));
      t.equal(d.kind, 'not-in-ask-targets', why);
      t.equal(d.rule?.line, 2);
    }
    // vault is removed by the earlier deny rule; the first matching rule for vault is the deny itself
    t.equal(denied(yes(P, 'vault')).kind, 'rule');
    const P2 = 'svc * work @anyvm ask\nsvc * work vault deny\n';
    // here the ask rule decides and vault is still offered (the deny comes later)
    t.equal(yes(P2, 'vault').result, 'allow');
    // with target=: the request target must be that one
    t.equal(yes('svc * work @anyvm ask target=personal\n', 'personal').result, 'allow');
    t.equal(denied(yes('svc * work @anyvm ask target=personal\n', 'vault')).kind, 'not-in-ask-targets');
    // autostart=no: only running targets were offered; the allow itself is not re-checked
    const r = yes('svc * work @anyvm ask autostart=no\n', 'sys-net');
    t.equal(r.result, 'allow');
    t.equal(r.result === 'allow' && r.autostart, false);
    t.equal(denied(yes('svc * work @anyvm ask autostart=no\n', 'personal')).kind, 'not-in-ask-targets');
    // a target= naming the source itself reaches the loopback check
    t.equal(denied(yes('svc * work @anyvm ask target=work\n', 'work')).kind, 'loopback');
    // without the option an ask stays an ask
    t.equal(decide(P, 'work', 'personal', 'svc', { si }).result, 'ask');
  });

  t.test('targets are sorted by code point (byte order), not by locale', async (t) => {
    const sys = makeSystem({
      Zeta: { type: 'AppVM' },
      alpha: { type: 'AppVM' },
      _x: { type: 'AppVM' },
      '0day': { type: 'AppVM' },
      'a-b': { type: 'AppVM' },
      'a.b': { type: 'AppVM' },
      'a+b': { type: 'AppVM' },
      Beta: { type: 'AppVM' },
    });
    const d = asked(
      decide('svc * work @default ask\nsvc * work @type:AppVM allow\n', 'work', '', 'svc', {
        si: sys,
      }),
    );
    const names = d.targets.filter((x) => !['alt-dvm', 'default-dvm', 'personal', 'sys-net', 'untrusted', 'vault'].includes(x));
    t.same(names, ['0day', 'Beta', 'Zeta', '_x', 'a+b', 'a-b', 'a.b', 'alpha']);
    t.same(codePointSort(['b', 'B', 'a', '@x', '1', '_']), ['1', '@x', 'B', '_', 'a', 'b']);
  });
});

/**
 * An ask answered by the user (`allow:TARGET` from the policy agent): the same
 * checks as --assume-yes-for-ask, for the chosen target.
 */
t.test('confirmAsk', async (t) => {
  const si = makeSystem();
  const P = 'svc * work vault deny\nsvc * work * ask user=bob notify=yes\nsvc * work @anyvm allow\n';
  const input = { source: 'work', target: '', service: 'svc+a' };
  const pol = memPolicy({ '50-test.policy': P });
  const d = evaluate(pol, si, input);
  if (d.result !== 'ask') throw new Error(`expected ask, got ${d.result}`);
  t.same(d.targets, ['@dispvm:alt-dvm', '@dispvm:default-dvm', 'alt-dvm', 'default-dvm', 'dom0', 'fedora-41', 'personal', 'sys-net', 'untrusted']);
  // autostart=no on the ask: the confirmed allow is not re-checked (the offer was already filtered)
  const pa = memPolicy({ '50-test.policy': 'svc * work * ask autostart=no\n' });
  const da = evaluate(pa, si, input);
  if (da.result !== 'ask') throw new Error('expected ask');
  t.same(da.targets, ['alt-dvm', 'dom0', 'sys-net', 'untrusted']);
  const ra = confirmAsk(da, 'sys-net', si, input);
  t.equal(ra.result === 'allow' && ra.autostart, false);
  t.equal(confirmAsk(da, 'personal', si, input).result, 'deny', 'a halted qube was not offered');

  const ok = confirmAsk(d, 'personal', si, input);
  t.equal(ok.result, 'allow');
  if (ok.result === 'allow') {
    t.equal(ok.target, 'personal');
    t.equal(ok.user, 'bob');
    t.equal(ok.notify, true);
    t.equal(ok.autostart, true);
    t.equal(ok.rule?.line, 2);
    t.equal(ok.service, 'svc');
    t.equal(ok.argument, '+a');
    t.equal(ok.requestedTarget, '@default', 'the request target stays what the caller asked');
    t.equal(ok.destination.kind, 'qube');
  }
  const disp = confirmAsk(d, '@dispvm:alt-dvm', si, input);
  t.equal(disp.result === 'allow' && disp.destination.kind, 'dispvm');
  const dom0 = confirmAsk(d, 'dom0', si, input);
  t.equal(dom0.result === 'allow' && dom0.target, 'dom0');
  for (const [chosen, why] of <Array<[string, string]>>[
    ['vault', 'removed by the deny rule'],
    ['work', 'the source itself'],
    ['mgmt-dvm', 'internal'],
    ['@adminvm', 'not offered as written'],
    ['@dispvm', 'not offered as written'],
    ['uuid:' + uuidOf(si, 'personal'), 'not offered as written'],
    ['ghost', 'unknown (would become @default)'],
    ['', 'empty'],
    ['@default', 'not a target'],
    ['@anyvm', 'not a valid request token'],
    ['@tag:work', 'not a valid request token'],
    ['@dispvm:work', 'not a disposable template'],
  ]) {
    const x = confirmAsk(d, chosen, si, input);
    t.equal(x.result, 'deny', `${JSON.stringify(chosen)}: ${why}`);
    t.equal(x.result === 'deny' && x.kind, 'not-in-ask-targets', why);
    t.equal(x.rule?.line, 2);
  }
  // the request no longer parses, or the ask has no rule: fail closed
  const bad = confirmAsk(d, 'personal', si, { ...input, service: 'bad name' });
  t.equal(bad.result === 'deny' && bad.kind, 'fault');
  const norule = confirmAsk({ ...d, rule: null }, 'personal', si, input);
  t.equal(norule.result === 'deny' && norule.kind, 'fault');
  // a chosen target that is the source itself (offered via target=) is a loopback
  const self = evaluate(memPolicy({ '50-test.policy': 'svc * work @anyvm ask target=work\n' }), si, { source: 'work', target: 'personal', service: 'svc' });
  if (self.result !== 'ask') throw new Error('expected ask');
  const lb = confirmAsk(self, 'work', si, { source: 'work', target: 'personal', service: 'svc' });
  t.equal(lb.result === 'deny' && lb.kind, 'loopback');
});

t.test('ask collection edge cases', async (t) => {
  // a source without uuid asking: Qubes cannot name the caller to leave it out, and crashes
  const si = makeSystem({ nouuid: { type: 'AppVM', uuid: undefined, power_state: 'Running' } });
  const d = decide('svc * nouuid @anyvm ask\n', 'nouuid', '', 'svc', { si });
  t.equal(d.result === 'deny' && d.kind, 'fault');
  t.match(d.result === 'deny' && d.reason, /nouuid has no uuid/);
  // ... but an ask with target= collects nothing and needs no uuid
  t.equal(decide('svc * nouuid @anyvm ask target=work\n', 'nouuid', '', 'svc', { si }).result, 'ask');
  // dom0 not listed in system info: an offer of dom0 names no qube to look up (Qubes crashes)
  const no0 = makeSystem({ dom0: null });
  const a = decide('svc * work @default ask\nsvc * work @adminvm allow\n', 'work', '', 'svc', { si: no0 });
  t.equal(a.result === 'deny' && a.kind, 'fault');
});

t.test('confirmAsk with a request whose source is no longer known', async (t) => {
  const si = makeSystem();
  const input = { source: 'work', target: '', service: 'svc' };
  const d = evaluate(memPolicy({ '50-test.policy': 'svc * @anyvm @anyvm ask\n' }), si, input);
  if (d.result !== 'ask') throw new Error('expected ask');
  const x = confirmAsk(d, 'personal', si, { ...input, source: 'ghost' });
  t.equal(x.result, 'deny');
  t.equal(x.result === 'deny' && x.kind, 'unknown-source');
});

t.test('ask: quirks the SPEC keeps from Qubes', async (t) => {
  const si = makeSystem();
  // `*` expands to the name dom0 while a deny rule for @adminvm removes only `@adminvm`:
  // dom0 stays offered (SPEC §3.2 expansion rules, as Qubes does)
  const d = decide('svc * work @default ask\nsvc * work @adminvm deny\nsvc * work * allow\n', 'work', '', 'svc', { si });
  t.ok(d.result === 'ask' && d.targets.includes('dom0'));
  // a deny written `dom0` removes the name dom0, not `@adminvm`, which becomes dom0 only at the end
  const d2 = decide('svc * work @default ask\nsvc * work dom0 deny\nsvc * work @adminvm allow\n', 'work', '', 'svc', { si });
  t.same(d2.result === 'ask' && d2.targets, ['dom0'], '@adminvm survives a deny of dom0');
  // the SERVICE[+ARG] string is kept verbatim
  for (const s of ['svc', 'svc+', 'svc+a+b']) {
    const r = parseRequest({ source: 'work', target: '', service: s }, si);
    t.equal(r.ok && r.request.serviceArg, s);
  }
});

t.test('default_target=@dispvm from a source without default_dispvm', async (t) => {
  const si = makeSystem();
  const d = decide('svc * vault @anyvm ask default_target=@dispvm\n', 'vault', '', 'svc', { si });
  t.equal(d.result === 'ask' && d.defaultTarget, null, 'dropped');
  t.equal(d.warnings.length, 1, 'dropped with a warning (SPEC §3.2)');
});
