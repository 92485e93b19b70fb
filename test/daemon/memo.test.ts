/**
 * The daemon's decision memory (src/daemon/memo.ts): a remembered decision
 * is the one evaluate() gives, only ever for the same rule set, the same
 * system info and the same request, and a changed policy or system info is
 * evaluated anew.
 */
import t from 'tap';
import { DecisionMemo } from '../../src/daemon/memo.js';
import { evaluate } from '../../src/policy/evaluate.js';
import type { RequestInput } from '../../src/policy/request.js';
import { makeSystem, memPolicy } from '../helpers/policy.js';

const POLICY = `
svc.A  *     work      @anyvm     allow
svc.A  +x    personal  @dispvm    allow
svc.B  *     @anyvm    @tag:vault ask default_target=vault
svc.B  *     work      @anyvm     allow target=personal notify=yes
*      *     @anyvm    @anyvm     deny
`;

t.test('remembered decisions are evaluate()\'s, for every request of a policy', async (t) => {
  const si = makeSystem();
  const policy = memPolicy({ '50-test.policy': POLICY });
  t.same(policy.errors, []);
  const memo = new DecisionMemo();
  const requests: RequestInput[] = [];
  for (const source of ['work', 'personal', 'vault', 'nosuchqube', 'dom0'])
    for (const target of ['work', 'personal', '@default', '@dispvm', 'vault', '', '@adminvm'])
      for (const service of ['svc.A', 'svc.A+x', 'svc.B', 'svc.C', 'bad service'])
        for (const requestedSource of [null, 'work']) requests.push({ source, target, service, requestedSource });
  const kinds = new Set<string>();
  for (const assumeYesForAsk of [false, true])
    for (const input of requests) {
      const first = memo.evaluate(policy, si, input, { assumeYesForAsk });
      t.same(first, evaluate(policy, si, input, { assumeYesForAsk }), JSON.stringify([input, assumeYesForAsk]));
      t.equal(memo.evaluate(policy, si, input, { assumeYesForAsk }), first, 'the second time, the remembered decision');
      kinds.add(first.result + ('kind' in first ? `:${first.kind}` : ''));
    }
  t.ok(['allow', 'ask', 'deny:rule', 'deny:bad-request', 'deny:no-rule', 'deny:loopback'].every((k) => kinds.has(k)), [...kinds].join(' '));
});

t.test('another rule set or another system info is evaluated anew', async (t) => {
  const si = makeSystem();
  const allow = memPolicy({ '50-test.policy': 'svc.A * work @anyvm allow\n' });
  const deny = memPolicy({ '50-test.policy': 'svc.A * work @anyvm deny\n' });
  const memo = new DecisionMemo();
  const input = { source: 'work', target: 'personal', service: 'svc.A' };
  t.equal(memo.evaluate(allow, si, input).result, 'allow');
  t.equal(memo.evaluate(deny, si, input).result, 'deny', 'the new policy decides');
  t.equal(memo.evaluate(allow, si, input).result, 'allow');
  // the same policy with system info in which the target is gone: @default, no target, denied
  const other = makeSystem({ personal: null });
  const fresh = memo.evaluate(allow, other, input);
  t.same(fresh, evaluate(allow, other, input), 'the new system info decides');
  t.equal(fresh.result, 'deny');
  t.equal(memo.evaluate(allow, si, input).result, 'allow', 'and the old one still has its own');
});

t.test('requests are told apart by every field, wherever a field ends', async (t) => {
  const si = makeSystem();
  const policy = memPolicy({ '50-test.policy': POLICY });
  const memo = new DecisionMemo();
  const pairs: Array<[RequestInput, RequestInput]> = [
    [{ source: 'work', target: 'personal', service: 'svc.A' }, { source: 'workp', target: 'ersonal', service: 'svc.A' }],
    [{ source: 'work', target: '', service: 'svc.A' }, { source: 'wor', target: 'k', service: 'svc.A' }],
    [{ source: 'work', target: 'personal', service: 'svc.A', requestedSource: null }, { source: 'work', target: 'personal', service: 'svc.A', requestedSource: 'work' }],
    [{ source: 'work', target: 'personal', service: 'svc.A', requestedSource: '' }, { source: 'work', target: 'personal', service: 'svc.A', requestedSource: null }],
  ];
  for (const [a, b] of pairs) {
    const da = memo.evaluate(policy, si, a);
    const db = memo.evaluate(policy, si, b);
    t.not(da, db, JSON.stringify([a, b]));
    t.same(db, evaluate(policy, si, b));
  }
  const ask = { source: 'work', target: 'vault', service: 'svc.B' };
  t.not(memo.evaluate(policy, si, ask, { assumeYesForAsk: true }), memo.evaluate(policy, si, ask), 'assume-yes is part of the request');
});

t.test('bounded: past the limit it starts over, and still answers right', async (t) => {
  const si = makeSystem();
  const policy = memPolicy({ '50-test.policy': POLICY });
  const memo = new DecisionMemo(2);
  const inputs = ['work', 'personal', 'vault'].map((source) => ({ source, target: 'work', service: 'svc.A' }));
  const first = memo.evaluate(policy, si, inputs[0]!);
  memo.evaluate(policy, si, inputs[1]!);
  memo.evaluate(policy, si, inputs[2]!); // the third clears the first two
  const again = memo.evaluate(policy, si, inputs[0]!);
  t.not(again, first, 'forgotten and evaluated again');
  t.same(again, first);
});

t.test('explain\'s walk hooks are never answered from memory', async (t) => {
  const si = makeSystem();
  const policy = memPolicy({ '50-test.policy': POLICY });
  const memo = new DecisionMemo();
  const input = { source: 'vault', target: 'work', service: 'svc.A' };
  memo.evaluate(policy, si, input);
  const skipped: unknown[] = [];
  memo.evaluate(policy, si, input, { onSkip: (r) => skipped.push(r.line) });
  t.ok(skipped.length > 0, 'the walk ran and reported the rules it passed over');
});
