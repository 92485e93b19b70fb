/**
 * Property-based tests of evaluation (issue 8: properties a, b, c, d, g, and
 * explain against eval) on generated systems, policy trees and requests, in
 * memory; then the counterexamples the properties shrank to on the way, as
 * regression tests. `npm run fuzz` runs the same properties with many more
 * inputs (docs/fuzz.md).
 */
import t from 'tap';
import { EVAL_PROPERTIES } from './lib/props-eval.js';
import { tapProperty } from './lib/property.js';
import { decide, makeSystem, memPolicy, uuidOf } from '../helpers/policy.js';
import type { AskDecision, DenyDecision } from '../../src/policy/decision.js';

for (const p of EVAL_PROPERTIES) tapProperty(t, p);

t.test('regressions: counterexamples the properties shrank to', async (t) => {
  t.test('(g) @anyvm never matches dom0 (what the injected-bug demonstration shrank to)', async (t) => {
    const si = makeSystem();
    for (const target of ['dom0', '@adminvm', 'uuid:00000000-0000-0000-0000-000000000000'])
      for (const source of ['work', `uuid:${uuidOf(si, 'work')}`]) {
        const d = decide('svc.A * @anyvm @anyvm allow\n', source, target, 'svc.A+', { si });
        t.match(d, { result: 'deny', kind: 'no-rule' }, `${source} -> ${target}`);
      }
    t.match(decide('svc.A * @anyvm @anyvm allow\n', '@adminvm', 'work', 'svc.A', { si }), { result: 'deny', kind: 'no-rule' }, 'nor a dom0 caller');
  });

  t.test('(g) an empty target= is a syntax error, as in Qubes (found by the differential tester)', async (t) => {
    const d = decide('svc.A * work @anyvm ask notify=yes target= autostart=yes\n', 'work', 'work', 'svc.A') as DenyDecision;
    t.match(d, { result: 'deny', kind: 'load-error', rule: null });
    t.match(d.reason, /50-test\.policy:1: invalid empty redirect token/);
  });

  t.test('(c) a fault in ask collection names the rule it happened in; rules appended after it keep the fault', async (t) => {
    const base = 'svc.A * work @anyvm ask\nsvc.A * work @dispvm:no-such-qube allow\n';
    for (const text of [base, base + 'svc.A * work personal allow\n']) {
      const d = decide(text, 'work', 'personal', 'svc.A') as DenyDecision;
      t.match(d, { result: 'deny', kind: 'fault', rule: { line: 2 } });
      t.match(d.reason, /@dispvm:no-such-qube names no qube/);
    }
  });

  t.test('(c) a deny put between the deciding ask and a later allow takes that offer away (collection walks every rule)', async (t) => {
    const ask = 'svc.A * work vault ask\n';
    const later = 'svc.A * @anyvm personal allow\n';
    t.same(memPolicy({ '50-test.policy': ask + later }).errors, []);
    t.match(decide(ask + later, 'work', 'vault', 'svc.A'), { result: 'ask', targets: ['personal', 'vault'] });
    const after = decide(ask + 'svc.A * work personal deny\n' + later, 'work', 'vault', 'svc.A') as AskDecision;
    t.match(after, { result: 'ask', rule: { line: 1 }, targets: ['vault'] });
  });
});
