/**
 * `allow` (SPEC §3.2), RemoteVM targets (§3.4), notify defaults.
 */
import t from 'tap';
import { type DenyDecision, type AllowDecision, type Decision } from '../../../src/policy/decision.js';
import { confirmAsk, evaluate, evaluateRequest } from '../../../src/policy/evaluate.js';
import { parseRequest } from '../../../src/policy/request.js';
import { decide, makeSystem, uuidOf, memPolicy, POLICY_DIR } from '../../helpers/policy.js';

/**
 * `allow` (SPEC §3.2), RemoteVM targets (§3.4) and notify defaults.
 */
t.test('allow', async (t) => {
  const ZERO = 'uuid:00000000-0000-0000-0000-000000000000';
  const si = makeSystem({
    'sys-relay': { type: 'AppVM', power_state: 'Running' },
    'remote-a': { type: 'RemoteVM', tags: ['remote'], relayvm: 'sys-relay', transport_rpc: 'qubesair.SSHProxy', power_state: 'Running' },
    'remote-halted': { type: 'RemoteVM', relayvm: 'sys-relay', transport_rpc: 'qubesair.SSHProxy' },
    'remote-norelay': { type: 'RemoteVM', relayvm: null, transport_rpc: 'qubesair.SSHProxy', power_state: 'Running' },
    'remote-notransport': { type: 'RemoteVM', relayvm: 'sys-relay', transport_rpc: null, power_state: 'Running' },
    'remote-ghostrelay': { type: 'RemoteVM', relayvm: 'ghost', transport_rpc: 'qubesair.SSHProxy', power_state: 'Running' },
    'remote-nouuidrelay': { type: 'RemoteVM', relayvm: 'relay-nouuid', transport_rpc: 'qubesair.SSHProxy', power_state: 'Running' },
    'relay-nouuid': { type: 'AppVM', power_state: 'Running', uuid: undefined },
    'nouuid': { type: 'AppVM', power_state: 'Running', uuid: undefined },
    'dvm-nouuid': { type: 'AppVM', template_for_dispvms: true, uuid: undefined },
    'notdvm-default': { type: 'AppVM', default_dispvm: 'personal', power_state: 'Running' },
  });

  function allowed(d: Decision): AllowDecision {
    if (d.result !== 'allow') throw new Error(`expected allow, got ${d.result}: ${d.result === 'deny' ? d.reason : ''}`);
    return d;
  }
  function denied(d: Decision): DenyDecision {
    if (d.result !== 'deny') throw new Error(`expected deny, got ${d.result}`);
    return d;
  }
  const ev = (p: string, src: string, tgt: string, svc = 'svc', opts = {}) => decide(p, src, tgt, svc, { si, ...opts });

  t.test('allow to the request target', async (t) => {
    const d = allowed(ev('svc * work @anyvm allow\n', 'work', 'personal'));
    t.equal(d.target, 'personal');
    t.equal(d.destination.kind, 'qube');
    t.equal(d.user, null);
    t.equal(d.autostart, true);
    t.equal(d.notify, false);
    t.equal(d.rule?.line, 1);
    // a uuid request keeps its spelling as the target
    const pu = 'uuid:' + uuidOf(si, 'personal');
    const u = allowed(ev('svc * work personal allow\n', 'work', pu));
    t.equal(u.target, pu);
    t.equal(u.requestedTarget, pu);
    t.equal(u.destination.kind === 'qube' && u.destination.qube.name, 'personal');
    // dom0 spellings
    t.equal(allowed(ev('svc * work @adminvm allow\n', 'work', '@adminvm')).target, 'dom0');
    t.equal(allowed(ev('svc * work @adminvm allow\n', 'work', 'dom0')).target, 'dom0');
    const z = allowed(ev('svc * work @adminvm allow\n', 'work', ZERO));
    t.equal(z.target, ZERO, 'the zero uuid stays as written');
    t.equal(z.destination.kind, 'dom0');
    // disposables
    const dv = allowed(ev('svc * work @dispvm allow\n', 'work', '@dispvm'));
    t.equal(dv.target, '@dispvm:default-dvm');
    t.equal(dv.destination.kind === 'dispvm' && dv.destination.template.name, 'default-dvm');
    t.equal(allowed(ev('svc * untrusted @dispvm allow\n', 'untrusted', '@dispvm')).target, '@dispvm:alt-dvm');
    t.equal(allowed(ev('svc * work @dispvm:alt-dvm allow\n', 'work', '@dispvm:alt-dvm')).target, '@dispvm:alt-dvm');
    const du = '@dispvm:uuid:' + uuidOf(si, 'alt-dvm');
    t.equal(allowed(ev('svc * work @dispvm:alt-dvm allow\n', 'work', du)).target, du);
    // user=
    t.equal(allowed(ev('svc * work personal allow user=alice\n', 'work', 'personal')).user, 'alice');
  });

  t.test('an allow whose result block qrexec-daemon could not read is a deny (SPEC §8)', async (t) => {
    const unsendable = (policy: string, target = 'personal', sys = si) => {
      const d = decide(policy, 'work', target, 'svc', { si: sys });
      if (d.result !== 'deny') throw new Error(`expected deny, got ${d.result}`);
      return d;
    };
    let d = unsendable('svc * work personal allow user=\u00fcser\n');
    t.equal(d.kind, 'unsendable');
    t.match(d.reason, /^the result block for personal cannot be sent to qrexec-daemon \(not printable ASCII\); rule .*:1$/);
    t.equal(d.rule?.line, 1, 'the deciding rule is still named');
    d = unsendable('svc * work personal allow user=' + 'u'.repeat(5000) + '\n');
    t.match(d.reason, /\(over 4096 bytes\)/);
    // the block is the measure: 4,095 bytes and a newline still fit, one more does not
    const fixed = `user=\nresult=allow\ntarget=personal\ntarget_uuid=uuid:${uuidOf(si, 'personal')}\nautostart=True\nrequested_target=personal`.length;
    const fits = 'u'.repeat(4095 - fixed);
    t.equal(allowed(ev(`svc * work personal allow user=${fits}\n`, 'work', 'personal')).user, fits);
    t.match(unsendable(`svc * work personal allow user=${fits}u\n`).reason, /over 4096 bytes/);
    // names from the system info are free text too: a control character in a uuid
    const odd = makeSystem({ personal: { type: 'AppVM', power_state: 'Running', uuid: 'bad\tuuid' } });
    t.match(unsendable('svc * work personal allow\n', 'personal', odd).reason, /not printable ASCII/);
    // ... and a newline in one would give qrexec-daemon a line of its own (here a second user=)
    const injected = makeSystem({ personal: { type: 'AppVM', power_state: 'Running', uuid: 'x\nuser=root' } });
    t.equal(
      unsendable('svc * work personal allow\n', 'personal', injected).reason,
      `the result block for personal cannot be sent to qrexec-daemon (a newline inside a value); rule ${POLICY_DIR}/50-test.policy:1`,
    );
    // an ask answered with such a target is refused the same way
    const input = { source: 'work', target: '', service: 'svc' };
    const a = evaluate(memPolicy({ '50-a.policy': 'svc * work @anyvm ask user=\u00fcser\n' }), si, input);
    if (a.result !== 'ask') throw new Error('expected ask');
    t.match(confirmAsk(a, 'personal', si, input), { result: 'deny', kind: 'unsendable' });
  });

  t.test('allow with target= redirect', async (t) => {
    const p = (tgt: string) => `svc * work @anyvm allow target=${tgt}\nsvc * work @adminvm allow target=${tgt}\n`;
    t.equal(allowed(ev(p('personal'), 'work', '')).target, 'personal');
    t.equal(allowed(ev(p('personal'), 'work', 'vault')).target, 'personal');
    t.equal(allowed(ev(p('personal'), 'work', 'dom0')).target, 'personal');
    const pu = 'uuid:' + uuidOf(si, 'personal');
    const u = allowed(ev(p(pu), 'work', ''));
    t.equal(u.target, pu, 'a uuid form is kept as written');
    t.equal(u.destination.kind === 'qube' && u.destination.qube.name, 'personal');
    t.equal(u.requestedTarget, '@default');
    t.equal(allowed(ev(p('@adminvm'), 'work', '')).target, 'dom0');
    t.equal(allowed(ev(p('dom0'), 'work', '')).target, 'dom0');
    const z = allowed(ev(p(ZERO), 'work', ''));
    t.equal(z.target, ZERO);
    t.equal(z.destination.kind, 'dom0');
    t.equal(allowed(ev(p('@dispvm'), 'work', '')).target, '@dispvm:default-dvm');
    t.equal(allowed(ev('svc * @anyvm @anyvm allow target=@dispvm\n', 'untrusted', '')).target, '@dispvm:alt-dvm', "the source's default_dispvm");
    t.equal(allowed(ev(p('@dispvm:alt-dvm'), 'work', '')).target, '@dispvm:alt-dvm');
    const dU = '@dispvm:uuid:' + uuidOf(si, 'alt-dvm');
    const du = allowed(ev(p(dU), 'work', ''));
    t.equal(du.target, dU);
    t.equal(du.destination.kind === 'dispvm' && du.destination.template.name, 'alt-dvm');
    // @dispvm:X is checked
    for (const x of ['@dispvm:work', '@dispvm:ghost', '@dispvm:uuid:99999999-9999-4999-8999-999999999999']) {
      const d = denied(ev(p(x), 'work', ''));
      t.equal(d.kind, 'unusable-target', x);
      t.equal(d.rule?.line, 1);
      t.match(d.reason, /not a template for dispvm/);
    }
    // a redirect to a qube that does not exist leaves no target
    const g = denied(ev(p('ghost'), 'work', 'personal'));
    t.equal(g.kind, 'no-target');
    t.match(g.warnings.join(), /ghost/);
  });

  t.test('allow without a target → deny', async (t) => {
    const d = denied(ev('svc * work @anyvm allow\n', 'work', ''));
    t.equal(d.kind, 'no-target');
    t.equal(d.rule?.line, 1);
    t.equal(d.requestedTarget, '@default');
    const u = denied(ev('svc * work @anyvm allow\n', 'work', 'ghost'));
    t.equal(u.kind, 'no-target');
  });

  t.test('@dispvm without default_dispvm → deny; default_dispvm not a template → deny', async (t) => {
    const d = denied(ev('svc * vault @dispvm allow\n', 'vault', '@dispvm'));
    t.equal(d.kind, 'no-target');
    t.equal(d.rule?.line, 1);
    const r = denied(ev('svc * vault @anyvm allow target=@dispvm\n', 'vault', 'personal'));
    t.equal(r.kind, 'no-target');
    const n = denied(ev('svc * notdvm-default @dispvm allow\n', 'notdvm-default', '@dispvm'));
    t.equal(n.kind, 'unusable-target');
  });

  t.test('autostart=no', async (t) => {
    const p = 'svc * @anyvm @anyvm allow autostart=no\nsvc * @anyvm @adminvm allow autostart=no\n';
    const dom0 = allowed(ev(p, 'work', 'dom0'));
    t.equal(dom0.autostart, false);
    t.equal(allowed(ev(p, 'work', '@adminvm')).target, 'dom0');
    t.equal(allowed(ev(p, 'work', 'sys-net')).target, 'sys-net', 'running qube');
    t.equal(allowed(ev(p, 'work', 'remote-a')).target, 'remote-a', 'running RemoteVM');
    for (const tgt of ['personal', 'vault', '@dispvm', '@dispvm:alt-dvm', 'remote-halted']) {
      const d = denied(ev(p, 'work', tgt));
      t.equal(d.kind, 'autostart', tgt);
      t.equal(d.notify, false, `${tgt}: the rule's notify (default no)`);
      t.equal(d.rule?.line, 1);
    }
    // notify=yes on the rule carries over
    const n = denied(ev('svc * @anyvm @anyvm allow autostart=no notify=yes\n', 'work', 'personal'));
    t.equal(n.notify, true);
    // a halted qube in the `target=` of an autostart=no rule
    const r = denied(ev('svc * @anyvm @anyvm allow target=vault autostart=no\n', 'work', 'sys-net'));
    t.equal(r.kind, 'autostart');
    t.equal(allowed(ev('svc * @anyvm @anyvm allow target=sys-net autostart=no\n', 'work', 'vault')).target, 'sys-net');
    // only "Running" counts
    const sys = makeSystem({ paused: { type: 'AppVM', power_state: 'Paused' } });
    t.equal(decide(p, 'work', 'paused', 'svc', { si: sys }).result, 'deny');
  });

  t.test('loopback → deny', async (t) => {
    const p = 'svc * @anyvm @anyvm allow\n';
    for (const tgt of ['work', 'uuid:' + uuidOf(si, 'work')]) {
      const d = denied(ev(p, 'work', tgt));
      t.equal(d.kind, 'loopback', tgt);
      t.equal(d.rule?.line, 1);
    }
    const r = denied(ev('svc * work @anyvm allow target=work\n', 'work', 'personal'));
    t.equal(r.kind, 'loopback');
    const u = denied(ev(p, 'uuid:' + uuidOf(si, 'work'), 'work'));
    t.equal(u.kind, 'loopback', 'source given by uuid');
    // a disposable of itself is not a loopback
    t.equal(ev(p, 'default-dvm', '@dispvm:default-dvm').result, 'allow');
  });

  t.test('loopback: a RemoteVM (via its relay) calling itself', async (t) => {
    const d = ev('svc * @anyvm @anyvm allow\n', 'sys-relay', 'remote-a', 'svc', { requestedSource: 'remote-a' });
    t.equal(d.source, 'remote-a');
    t.equal(d.result, 'deny', 'final target is the (relayed) source itself');
  });

  t.test('a qube without uuid in system info → deny', async (t) => {
    const p = 'svc * @anyvm @anyvm allow\n';
    for (const [tgt, what] of <Array<[string, string]>>[
      ['nouuid', 'plain qube'],
      ['@dispvm:dvm-nouuid', 'disposable template'],
      ['remote-nouuidrelay', 'RemoteVM relay'],
    ]) {
      const d = denied(ev(p, 'work', tgt));
      t.equal(d.kind, 'unusable-target', what);
      t.match(d.reason, /uuid/);
    }
    // dom0 does not need one
    const sys = makeSystem({ dom0: { type: 'AdminVM', power_state: 'Running', uuid: undefined } });
    t.equal(decide('svc * @anyvm @adminvm allow\n', 'work', '@adminvm', 'svc', { si: sys }).result, 'allow');
    // the source does not need one either
    t.equal(ev(p, 'nouuid', 'personal').result, 'allow');
  });

  t.test('RemoteVM targets', async (t) => {
    const p = 'svc * @anyvm @anyvm allow user=alice\n';
    const d = allowed(ev(p, 'work', 'remote-a', 'svc+arg'));
    t.equal(d.target, 'remote-a', 'the decision names the RemoteVM itself');
    t.equal(d.user, 'alice', 'the rule user is kept in the decision');
    t.equal(d.destination.kind, 'remote');
    if (d.destination.kind === 'remote') {
      t.equal(d.destination.relay.name, 'sys-relay');
      t.equal(d.destination.remote.name, 'remote-a');
      t.equal(d.destination.transportRpc, 'qubesair.SSHProxy');
    }
    // via @tag and target=
    t.equal(allowed(ev('svc * @anyvm @tag:remote allow\n', 'work', 'remote-a')).destination.kind, 'remote');
    t.equal(allowed(ev('svc * @anyvm @anyvm allow target=remote-a\n', 'work', 'personal')).target, 'remote-a');
    // relayvm and transport_rpc are required; the relay must exist
    for (const tgt of ['remote-norelay', 'remote-notransport']) {
      const x = denied(ev(p, 'work', tgt));
      t.equal(x.kind, 'unusable-target', tgt);
      t.equal(x.rule?.line, 1);
    }
    // a relay that does not exist: Qubes crashes looking it up
    const g = denied(ev(p, 'work', 'remote-ghostrelay'));
    t.equal(g.kind, 'fault');
    t.equal(g.rule?.line, 1);
  });

  t.test('a rule user= on a RemoteVM target is ignored with a warning', async (t) => {
    const d = allowed(ev('svc * @anyvm @anyvm allow user=alice\n', 'work', 'remote-a'));
    t.match(d.warnings.join('\n'), /user/, 'a warning names the ignored user=');
    // without user= there is nothing to warn about
    t.same(allowed(ev('svc * @anyvm @anyvm allow\n', 'work', 'remote-a')).warnings, []);
  });

  t.test('notify values', async (t) => {
    t.equal(ev('svc * @anyvm @anyvm deny\n', 'work', 'personal').notify, true, 'deny rule default');
    t.equal(ev('svc * @anyvm @anyvm deny notify=no\n', 'work', 'personal').notify, false);
    t.equal(ev('svc * @anyvm @anyvm deny notify=yes\n', 'work', 'personal').notify, true);
    t.equal(ev('svc * @anyvm @anyvm allow\n', 'work', 'personal').notify, false, 'allow default');
    t.equal(ev('svc * @anyvm @anyvm allow notify=yes\n', 'work', 'personal').notify, true);
    t.equal(ev('svc * @anyvm @anyvm allow notify=no\n', 'work', 'personal').notify, false);
    t.equal(ev('svc * @anyvm @anyvm ask\n', 'work', 'personal').notify, false, 'ask default');
    t.equal(ev('svc * @anyvm @anyvm ask notify=yes\n', 'work', 'personal').notify, true);
    t.equal(ev('svc * @anyvm @anyvm ask notify=yes\n', 'work', 'personal', 'svc', { assumeYesForAsk: true }).notify, true);
    t.equal(ev('svc * @anyvm @anyvm ask\n', 'work', 'personal', 'svc', { assumeYesForAsk: true }).notify, false);
    t.equal(ev('other * @anyvm @anyvm allow\n', 'work', 'personal').notify, true, 'no matching rule');
    t.equal(ev('', 'work', 'personal').notify, true, 'empty policy');
  });

  t.test('policy that failed to load denies everything', async (t) => {
    const pol = memPolicy({ '10-a.policy': 'svc * @anyvm @anyvm allow\n', '20-b.policy': 'garbage line\n' });
    t.ok(pol.error);
    const d = denied(decide(pol, 'work', 'personal', 'svc', { si }));
    t.equal(d.kind, 'load-error');
    t.equal(d.rule, null);
    t.match(d.reason, /20-b\.policy:1/);
    t.equal(d.requestedTarget, 'personal');
    t.equal(d.service, 'svc');
  });

  t.test('evaluate is pure: same input, same answer', async (t) => {
    const pol = memPolicy({ '50-test.policy': 'svc * @anyvm vault deny\nsvc * @anyvm @anyvm ask default_target=vault\n' });
    const a = evaluate(pol, si, { source: 'work', target: '', service: 'svc' });
    const b = evaluate(pol, si, { source: 'work', target: '', service: 'svc' });
    t.same(a, b);
    t.equal(a.warnings.length, 1);
    // evaluateRequest does not mutate the request's warnings
    const parsed = parseRequest({ source: 'work', target: 'ghost', service: 'svc' }, si);
    if (!parsed.ok) throw new Error('parse');
    const before = [...parsed.request.warnings];
    evaluateRequest(pol, si, parsed.request);
    evaluateRequest(pol, si, parsed.request);
    t.same(parsed.request.warnings, before);
  });
});
