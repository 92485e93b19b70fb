/**
 * Where Qubes' evaluator crashes we deny (fail closed), and what the
 * differential tester found Qubes doing that we must do too.
 */
import t from 'tap';
import { parseToken } from '../../../src/parser/tokens.js';
import { expandTarget } from '../../../src/policy/ask.js';
import { type DenyDecision, type AllowDecision, type Decision, type AskDecision } from '../../../src/policy/decision.js';
import { defaultDispvmName, EvaluationFault, matchesSource, matchesTarget, sameQube } from '../../../src/policy/match.js';
import { parseRequest } from '../../../src/policy/request.js';
import { SystemInfo, systemInfoFromJson } from '../../../src/policy/system-info.js';
import { decide, makeSystem, uuidOf, memPolicy } from '../../helpers/policy.js';
import { resultBlock } from '../../../src/render/block.js';

/**
 * Situations where the reference implementation crashes: we deny (fail
 * closed) instead, and never throw.
 */
t.test('faults: deny where the reference crashes', async (t) => {
  const si = makeSystem({
    // default_dispvm naming a qube that does not exist
    broken: { type: 'AppVM', default_dispvm: 'ghost-dvm', power_state: 'Running' },
  });

  function fault(d: Decision): DenyDecision {
    if (d.result !== 'deny') throw new Error(`expected deny, got ${d.result}`);
    if (d.kind !== 'fault') throw new Error(`expected a fault, got ${d.kind}: ${d.reason}`);
    return d;
  }
  const ev = (p: string, src: string, tgt: string, opts = {}) => decide(p, src, tgt, 'svc', { si, ...opts });

  t.test('rule @dispvm:X against request @dispvm from a source without default_dispvm', async (t) => {
    const d = fault(ev('svc * @anyvm @dispvm:default-dvm allow\nsvc * @anyvm @anyvm allow\n', 'vault', '@dispvm'));
    t.equal(d.rule, null, 'no rule decided');
    t.equal(d.notify, true);
    t.equal(d.requestedTarget, '@dispvm');
    t.match(d.reason, /vault/);
    // an unknown source asking for @dispvm too
    fault(ev('svc * @anyvm @dispvm:default-dvm allow\n', 'ghost', '@dispvm'));
    // @dispvm:@tag: simply does not match there (no fault)
    t.equal(ev('svc * @anyvm @dispvm:@tag:dvm allow\nsvc * @anyvm @anyvm deny\n', 'vault', '@dispvm').rule?.line, 2);
  });

  t.test('a default_dispvm naming a missing qube meets @dispvm resolution', async (t) => {
    // compared by name only (no lookup): no fault, and no match
    const n = ev('svc * @anyvm @dispvm:default-dvm allow\n', 'broken', '@dispvm');
    t.equal(n.result === 'deny' && n.kind, 'no-rule');
    fault(ev('svc * @anyvm @dispvm:@tag:dvm allow\n', 'broken', '@dispvm'));
    // ask collection resolving @dispvm
    const a = fault(ev('svc * @anyvm @anyvm ask\n', 'broken', ''));
    t.equal(a.rule?.line, 1);
    fault(ev('svc * @anyvm @default ask\nsvc * @anyvm @dispvm allow\n', 'broken', ''));
    // an allow to @dispvm is denied too
    const b = ev('svc * @anyvm @dispvm allow\n', 'broken', '@dispvm');
    t.equal(b.result, 'deny');
    t.equal(ev('svc * @anyvm @anyvm allow target=@dispvm\n', 'broken', 'work').result, 'deny');
    // without @dispvm in play, the broken source evaluates normally
    t.equal(ev('svc * @anyvm @anyvm allow\n', 'broken', 'work').result, 'allow');
    t.equal(ev('svc * @anyvm @dispvm:default-dvm allow\nsvc * @anyvm @anyvm deny\n', 'broken', '@dispvm:alt-dvm').rule?.line, 2);
    t.same((ev('svc * broken @default ask\nsvc * broken work allow\n', 'broken', '') as { targets: string[] }).targets, ['work']);
  });

  t.test('ask collection expanding @dispvm:ghost', async (t) => {
    const d = fault(ev('svc * work @default ask\nsvc * work @dispvm:ghost allow\n', 'work', ''));
    t.equal(d.rule?.line, 2, 'the rule whose expansion failed');
    t.match(d.reason, /@dispvm:ghost/);
    // the same rule is harmless when it is only matched (not expanded)
    t.equal(ev('svc * work @dispvm:ghost allow\nsvc * work @anyvm deny\n', 'work', 'personal').rule?.line, 2);
    // a missing @dispvm:uuid: too
    fault(ev('svc * work @default ask\nsvc * work @dispvm:uuid:99999999-9999-4999-8999-999999999999 deny\n', 'work', ''));
  });

  t.test('ask with autostart=no and target= naming a missing qube', async (t) => {
    const d = fault(ev('svc * work @anyvm ask autostart=no target=ghost\n', 'work', 'personal'));
    t.equal(d.rule?.line, 1);
    const u = fault(ev('svc * work @anyvm ask autostart=no target=uuid:99999999-9999-4999-8999-999999999999\n', 'work', 'personal'));
    t.equal(u.rule?.line, 1);
    // with autostart (default yes) the unknown target is offered as written
    t.same((ev('svc * work @anyvm ask target=ghost\n', 'work', 'personal') as { targets: string[] }).targets, ['ghost']);
  });

  t.test('a uuid: rule in the SOURCE column against an unknown caller', async (t) => {
    // Qubes compares uuids through a lookup that fails quietly: the rule just does not match
    const d = ev(`svc * uuid:${uuidOf(si, 'work')} @anyvm deny\nsvc * @anyvm @anyvm deny notify=no\n`, 'ghost', 'personal');
    t.equal(d.result, 'deny');
    t.equal(d.rule?.line, 2);
    // ask collection needs the caller in the system info: an unknown one cannot be offered anything
    fault(ev(`svc * @anyvm @anyvm ask\nsvc * uuid:${uuidOf(si, 'work')} vault allow\n`, 'ghost', ''));
  });

  t.test('match helpers', async (t) => {
    const req = (source: string, target: string) => {
      const r = parseRequest({ source, target, service: 'svc' }, si);
      if (!r.ok) throw new Error(r.reason);
      return r.request;
    };
    const tok = (s: string) => parseToken(s, 'target');
    t.throws(() => matchesTarget(tok('@dispvm:alt-dvm'), req('vault', '@dispvm').target, req('vault', '@dispvm').source, si), EvaluationFault);
    // the default template by name, whether or not it exists (Qubes looks it up only when it needs it)
    t.equal(defaultDispvmName(req('broken', '').source), 'ghost-dvm');
    t.equal(defaultDispvmName(req('vault', '').source), null);
    t.equal(defaultDispvmName(req('ghost', '').source), null);
    t.equal(defaultDispvmName(req('work', '').source), 'default-dvm');
    t.notOk(matchesSource(parseToken(`uuid:${uuidOf(si, 'work')}`, 'source'), req('ghost', '').source, si));
    t.ok(sameQube('work', `uuid:${uuidOf(si, 'work')}`, si));
    t.ok(sameQube(`uuid:${uuidOf(si, 'work')}`, 'work', si));
    t.notOk(sameQube('ghost', `uuid:${uuidOf(si, 'work')}`, si));
    t.notOk(sameQube(`uuid:${uuidOf(si, 'work')}`, 'ghost', si));
    t.notOk(sameQube(`uuid:${uuidOf(si, 'work')}`, `uuid:${uuidOf(si, 'personal')}`, si));
    t.throws(() => expandTarget(tok('@dispvm:ghost'), si, null), EvaluationFault);
    const e = new EvaluationFault('x');
    t.equal(e.name, 'EvaluationFault');
    t.equal(e.rule, null);
  });

  t.test('no input crashes evaluation', async (t) => {
    const pol = memPolicy({
      '50-test.policy': [
        'svc * @anyvm @dispvm:default-dvm allow',
        'svc * @anyvm @dispvm:@tag:dvm ask',
        'svc * uuid:' + uuidOf(si, 'work') + ' @anyvm allow',
        'svc * @anyvm @default ask default_target=@dispvm',
        'svc * @anyvm @dispvm:ghost allow',
        'svc * @anyvm @anyvm ask autostart=no target=ghost',
        'svc * * * ask',
      ].join('\n'),
    });
    const sources = ['work', 'vault', 'broken', 'ghost', 'dom0', '@adminvm', '', 'uuid:' + uuidOf(si, 'work')];
    const targets = ['', 'work', 'ghost', '@dispvm', '@dispvm:alt-dvm', '@adminvm', 'dom0', '@anyvm', '@dispvm:ghost'];
    for (const s of sources)
      for (const tg of targets)
        for (const assumeYesForAsk of [false, true]) {
          const d = decide(pol, s, tg, 'svc', { si, assumeYesForAsk });
          t.ok(['allow', 'deny', 'ask'].includes(d.result), `${s} → ${tg}`);
          if (d.result === 'allow') t.ok(d.target.startsWith('@dispvm:') || d.target === 'dom0' || si.lookup(d.target), `${s} → ${tg}: allowed target is real`);
        }
  });
});

/**
 * Behaviours of Qubes' own evaluator that the differential tester
 * (npm run difftest, issue 13) found us getting wrong. Every expectation
 * here was read off the reference for the same policy, system and request.
 */
t.test('reference behaviours found by differential testing', async (t) => {
  const U = (n: string) => `00000000-0000-4000-8000-${n.padStart(12, '0')}`;
  const domains: Record<string, Record<string, unknown>> = {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running' },
    work: { type: 'AppVM', uuid: U('1'), power_state: 'Running', default_dispvm: 'dvm', guivm: 'dom0' },
    personal: { type: 'AppVM', uuid: U('2') },
    dvm: { type: 'AppVM', template_for_dispvms: true, uuid: U('d1') },
    dvm2: { type: 'AppVM', template_for_dispvms: true, uuid: U('d2') },
    relay: { type: 'AppVM', uuid: U('a1'), power_state: 'Running' },
    remote1: { type: 'RemoteVM', uuid: U('e1'), relayvm: 'relay', transport_rpc: 'qubesair.SSHProxy' },
    remote2: { type: 'RemoteVM', uuid: U('e2'), relayvm: 'ghost', transport_rpc: 'qubesair.SSHProxy' },
  };
  const si = systemInfoFromJson({ domains });
  const without = (name: string) => systemInfoFromJson({ domains: Object.fromEntries(Object.entries(domains).filter(([n]) => n !== name)) });
  const ev = (policy: string, source: string, target: string, service: string, opts: { assumeYesForAsk?: boolean; requestedSource?: string; sys?: SystemInfo } = {}) =>
    decide(policy, source, target, service, { si: opts.sys ?? si, ...opts });
  const allow = (d: Decision): AllowDecision => {
    if (d.result !== 'allow') throw new Error(`expected allow, got ${d.result}: ${d.result === 'deny' ? d.reason : ''}`);
    return d;
  };
  const deny = (d: Decision): DenyDecision => {
    if (d.result !== 'deny') throw new Error(`expected deny, got ${d.result}`);
    return d;
  };

  t.test('an empty target= or default_target= is a syntax error (the whole policy denies)', async (t) => {
    for (const p of ['svc * @anyvm @anyvm allow target=', 'svc * @anyvm @anyvm ask default_target=', 'svc * @anyvm @anyvm ask target=']) {
      const pol = memPolicy({ '50-test.policy': `${p}\n` });
      t.match(pol.errors.map((e) => e.describe()), [/50-test\.policy:1: invalid empty redirect token/], p);
      t.equal(deny(decide(pol, 'work', 'personal', 'svc', { si })).kind, 'load-error');
    }
    // an empty user= is a user, as in Qubes: DEFAULT in the block
    t.equal(allow(ev('svc * @anyvm @anyvm allow user=\n', 'work', 'personal', 'svc')).user, '');
  });

  t.test('a deny removes an ask target however the rule spells it (@dispvm:uuid:, the zero uuid)', async (t) => {
    const d = ev(
      `a.Ask * work @default ask\na.Ask * work @dispvm:uuid:${U('d1')} deny\na.Ask * work uuid:00000000-0000-0000-0000-000000000000 deny\na.Ask * work * allow\n`,
      'work', '', 'a.Ask',
    ) as AskDecision;
    t.same(d.targets, ['@dispvm:dvm', '@dispvm:dvm2', 'dvm', 'dvm2', 'personal', 'relay', 'remote1', 'remote2']);
  });

  t.test('an ask target=@dispvm answered yes does not resolve @dispvm (Qubes fails on it): deny', async (t) => {
    const p = 'b.Disp * @anyvm @anyvm ask target=@dispvm\n';
    t.same((ev(p, 'work', '@dispvm', 'b.Disp') as AskDecision).targets, ['@dispvm']);
    t.equal(deny(ev(p, 'work', '@dispvm', 'b.Disp', { assumeYesForAsk: true })).kind, 'unusable-target');
  });

  t.test('a RemoteVM block names the target as requested in service=', async (t) => {
    const d = allow(ev('c.Remote * @anyvm @default allow target=remote1\n', 'work', '', 'c.Remote+x'));
    t.equal(d.target, 'remote1');
    t.equal(resultBlock(d), [
      'user=DEFAULT', 'result=allow', 'target=relay', `target_uuid=uuid:${U('a1')}`, 'autostart=True', 'requested_target=@default',
      'service=qubesair.SSHProxy+@default+c.Remote+x',
    ].join('\n'));
  });

  t.test('autostart=no is checked before the RemoteVM relay (and so notify is the rule\'s)', async (t) => {
    const d = deny(ev('d.Auto * @anyvm @anyvm allow autostart=no notify=no\n', 'work', 'remote2', 'd.Auto'));
    t.equal(d.kind, 'autostart');
    t.equal(d.notify, false);
    // with autostart, the missing relay: Qubes crashes looking it up
    t.equal(deny(ev('d.Auto * @anyvm @anyvm allow notify=no\n', 'work', 'remote2', 'd.Auto')).kind, 'fault');
  });

  t.test('dom0 calling dom0 is a loopback however either is spelled', async (t) => {
    const p = 'e.Self * dom0 @adminvm allow\ne.Self * dom0 dom0 allow\ne.Self * @adminvm dom0 allow\n';
    for (const [src, tgt] of [['dom0', '@adminvm'], ['dom0', 'dom0'], ['@adminvm', 'dom0'], ['uuid:00000000-0000-0000-0000-000000000000', '@adminvm']])
      t.equal(deny(ev(p, src!, tgt!, 'e.Self')).kind, 'loopback', `${src} -> ${tgt}`);
  });

  t.test('requested_source: empty is none; a uuid: spelling is kept; the relay is compared as written', async (t) => {
    const p = 'rs * @anyvm @anyvm allow\n';
    t.equal(allow(ev(p, 'relay', 'work', 'rs', { requestedSource: '' })).requestedSource, null);
    const u = allow(ev(p, 'relay', 'work', 'rs', { requestedSource: `uuid:${U('e1')}` }));
    t.match(resultBlock(u), new RegExp(`\\npolicy_source=uuid:${U('e1')}$`));
    const r = deny(ev(p, `uuid:${U('a1')}`, 'work', 'rs', { requestedSource: 'remote1' }));
    t.equal(r.kind, 'bad-request');
    t.equal(r.requestedTarget, 'work', 'the target was fine: reported');
    // a relay the system info does not list is refused too (SPEC: the caller must be known)
    const sys = without('relay');
    t.equal(deny(ev(p, 'relay', 'work', 'rs', { requestedSource: 'remote1', sys })).kind, 'bad-request');
  });

  t.test('target= is verified like a requested target: `dom0` must be in the system info', async (t) => {
    t.equal(allow(ev('f.Redir * @anyvm @anyvm allow target=dom0\n', 'work', 'personal', 'f.Redir')).target, 'dom0');
    const no0 = without('dom0');
    t.equal(deny(ev('f.Redir * @anyvm @anyvm allow target=dom0\n', 'work', 'personal', 'f.Redir', { sys: no0 })).kind, 'no-target');
    t.equal(allow(ev('f.Redir * @anyvm @anyvm allow target=@adminvm\n', 'work', 'personal', 'f.Redir', { sys: no0 })).target, 'dom0');
  });

  t.test('@anyvm leaves out the qube named dom0, not every AdminVM; uuid:-named keys are never expanded', async (t) => {
    const sys = systemInfoFromJson({
      domains: { ...domains, 'odd-admin': { type: 'AdminVM', uuid: U('f1') }, 'uuid:looks-like-one': { type: 'AppVM', uuid: U('f2') } },
    });
    const d = ev('g.Any * work @default ask\ng.Any * work @anyvm allow\n', 'work', '', 'g.Any', { sys }) as AskDecision;
    t.ok(d.targets.includes('odd-admin'));
    t.notOk(d.targets.includes('dom0'));
    t.notOk(d.targets.some((x) => x.startsWith('uuid:')));
  });

  t.test('the zero uuid names dom0 by its spelling, even when another qube carries it', async (t) => {
    const sys = systemInfoFromJson({ domains: { ...domains, work: { ...domains['work'], uuid: '00000000-0000-0000-0000-000000000000' } } });
    const d = allow(ev('h.Zero * @anyvm @anyvm allow\nh.Zero * @anyvm @adminvm allow\n', 'work', 'uuid:00000000-0000-0000-0000-000000000000', 'h.Zero', { sys }));
    t.equal(d.destination.kind, 'dom0', 'not a loopback to work');
  });
});
