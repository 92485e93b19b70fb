/**
 * The per-caller rule lists the evaluator walks (evaluate.ts,
 * rulesForSource): a pure speed-up. Every request here is decided twice,
 * through the lists and through the whole candidate list (an `onSkip` hook
 * makes the evaluator walk every rule, as explain does), and the two
 * decisions must be the same in every field, faults and ask targets
 * included.
 */
import t from 'tap';
import { evaluate, rulesForSource } from '../../../src/policy/evaluate.js';
import { parseRequest } from '../../../src/policy/request.js';
import { makeSystem, memPolicy, uuidOf } from '../../helpers/policy.js';

const POLICY = `
svc.A  *     work            @anyvm          allow
svc.A  +x    @tag:web        @dispvm         allow
svc.A  *     @type:AppVM     @tag:vault      ask default_target=vault
svc.A  *     @adminvm        @anyvm          allow target=work
svc.A  *     vault           @dispvm:default-dvm allow
svc.A  *     personal        @dispvm:@tag:dvm allow
svc.A  *     @anyvm          @anyvm          deny notify=no
svc.B  *     uuid:WORKUUID   personal        allow
svc.B  *     dom0            @anyvm          ask
svc.B  *     @tag:personal   @anyvm          ask default_target=work
svc.B  *     @anyvm          @dispvm         ask
*      *     untrusted       @anyvm          deny
*      *     @anyvm          @adminvm        ask
*      *     @anyvm          @anyvm          ask
`;

t.test('decisions through the per-caller lists equal those of the whole walk', async (t) => {
  const si = makeSystem();
  const policy = memPolicy({ '50-test.policy': POLICY.replace('WORKUUID', uuidOf(si, 'work')) });
  t.same(policy.errors, [], 'the policy loads');
  const callers = ['work', 'personal', 'untrusted', 'vault', 'sys-net', 'default-dvm', 'dom0', '@adminvm', 'uuid:' + uuidOf(si, 'work'), 'uuid:00000000-0000-0000-0000-000000000000', 'nosuchqube'];
  const targets = ['work', 'personal', 'vault', '@default', '@dispvm', '@dispvm:default-dvm', '@adminvm', 'dom0', 'uuid:' + uuidOf(si, 'personal'), ''];
  const services = ['svc.A', 'svc.A+x', 'svc.B', 'svc.C+y'];
  let compared = 0;
  const differing: string[] = [];
  const kinds = new Set<string>();
  for (const source of callers)
    for (const target of targets)
      for (const service of services)
        for (const assumeYesForAsk of [false, true]) {
          const input = { source, target, service, requestedSource: null };
          const indexed = evaluate(policy, si, input, { assumeYesForAsk });
          const walked = evaluate(policy, si, input, { assumeYesForAsk, onSkip: () => {} });
          if (JSON.stringify(indexed) !== JSON.stringify(walked) || indexed.rule !== walked.rule) differing.push(`${source} -> ${target} ${service}`);
          compared++;
          kinds.add(indexed.result === 'deny' ? `deny:${indexed.kind}` : indexed.result);
        }
  t.equal(compared, callers.length * targets.length * services.length * 2);
  t.same(differing, [], 'no request decided differently');
  // the comparison covered every outcome the rules above can give
  for (const k of ['allow', 'ask', 'deny:rule', 'deny:fault', 'deny:not-in-ask-targets', 'deny:loopback'])
    t.ok(kinds.has(k), `some request ended in ${k}`);
});

t.test('the per-caller lists: policy order kept, and a full cache starts over without changing a list', async (t) => {
  const si = makeSystem();
  const policy = memPolicy({ '50-test.policy': POLICY.replace('WORKUUID', uuidOf(si, 'work')) });
  const all = policy.rulesFor('svc.A');
  const req = (source: string) => {
    const p = parseRequest({ source, target: 'work', service: 'svc.A', requestedSource: null }, si);
    if (!p.ok) throw new Error(p.reason);
    return p.request.source;
  };
  const forWork = rulesForSource(all, req('work'), si);
  t.same(forWork.map((r) => r.line), [2, 4, 8, 14, 15], "work's list: its own rule, @type:AppVM, @anyvm and two of the * rules, in order");
  t.same(rulesForSource(all, req('dom0'), si).map((r) => r.line), [5], 'dom0: @adminvm only (every other rule names a qube)');
  t.equal(rulesForSource(all, req('work'), si), forWork, 'the list is kept for the next request');
  // more callers than the cache keeps (unknown callers are callers too)
  for (let i = 0; i < 4100; i++) rulesForSource(all, req(`caller-${i}`), si);
  const again = rulesForSource(all, req('work'), si);
  t.not(again, forWork, 'made again after the cache started over');
  t.same(again, forWork, 'and the same');
});
