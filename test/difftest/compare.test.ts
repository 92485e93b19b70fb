/**
 * The differential tester's judgement (difftest/lib/compare.ts): which
 * differences from the reference are allowed (the declared table, and only
 * where we deny), and which are reported, the worst as wrong allows. The
 * reference itself is not needed here: answers are written out by hand.
 */
import t from 'tap';
import { DECLARED, judge, unsendableBlock, type Ctx } from '../../difftest/lib/compare.js';
import type { RefAnswer, RefDecision } from '../../difftest/lib/oracle-client.js';
import type { OurAnswer } from '../../difftest/lib/ours.js';
import type { DecisionJson } from '../../src/render/json.js';
import type { Req } from '../property/gen/request.js';

const domains = {
  dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000' },
  work: { type: 'AppVM', uuid: '11111111-1111-4111-8111-111111111111' },
  personal: { type: 'AppVM', uuid: '22222222-2222-4222-8222-222222222222' },
  dvm: { type: 'AppVM', template_for_dispvms: true, uuid: '33333333-3333-4333-8333-333333333333' },
  notdvm: { type: 'AppVM', uuid: '44444444-4444-4444-8444-444444444444' },
};

const BLOCK = 'user=DEFAULT\nresult=allow\ntarget=personal\ntarget_uuid=uuid:22222222-2222-4222-8222-222222222222\nautostart=True\nrequested_target=personal';

function req(over: Partial<Req> = {}): Req {
  return { source: 'work', target: 'personal', service: 'svc', requestedSource: null, assumeYes: false, ...over };
}
function ctx(over: Partial<Req> = {}): Ctx {
  return { req: req(over), domains, refLoadFailed: false };
}

const RULE = { file: '/p/50-x.policy', line: 1 };

function refAllow(over: Partial<RefDecision> = {}, block = BLOCK): RefAnswer {
  return {
    decision: { result: 'allow', requested_target: 'personal', target: 'personal', targets: null, default_target: null, user: null, autostart: true, notify: false, rule: RULE, reason: '', crash: null, ...over },
    exec: { block, crash: null },
    exec_yes: { block, crash: null },
    just_evaluate: { exit: 0, crash: null },
  };
}
function refDeny(over: Partial<RefDecision> = {}): RefAnswer {
  return {
    decision: { result: 'deny', requested_target: 'personal', target: null, targets: null, default_target: null, user: null, autostart: null, notify: true, rule: RULE, reason: 'denied by policy', crash: null, ...over },
    exec: { block: 'result=deny', crash: null },
    exec_yes: { block: 'result=deny', crash: null },
    just_evaluate: { exit: 1, crash: null },
  };
}

function decision(over: Partial<DecisionJson> = {}): DecisionJson {
  return {
    result: 'allow', service: 'svc', argument: '+', source: 'work', requested_target: 'personal', target: 'personal', targets: null,
    default_target: null, user: null, autostart: true, notify: false, rule: RULE, ...over,
  };
}
function oursAllow(over: Partial<DecisionJson> = {}, block = BLOCK): OurAnswer {
  return { decision: decision(over), exec: { status: 0, stdout: block + '\n' }, execYes: { status: 0, stdout: block + '\n' }, justEvaluate: { status: 0, stdout: '' } };
}
function oursDeny(over: Partial<DecisionJson> = {}): OurAnswer {
  const d = decision({ result: 'deny', target: null, user: null, autostart: null, notify: true, reason: 'x', ...over });
  return { decision: d, exec: { status: 1, stdout: 'result=deny\n' }, execYes: { status: 1, stdout: 'result=deny\n' }, justEvaluate: { status: 1, stdout: '' } };
}

const fields = (v: ReturnType<typeof judge>) => v.problems.map((p) => `${p.channel}.${p.field}`);

t.test('equal answers agree; every field and channel is compared', async (t) => {
  t.same(judge(ctx(), refAllow(), oursAllow()), { declared: [], problems: [] });
  t.same(judge(ctx(), refDeny(), oursDeny()).problems, []);
  t.same(fields(judge(ctx(), refAllow(), oursAllow({ user: 'root' }))), ['decision.user']);
  t.same(fields(judge(ctx(), refAllow(), oursAllow({ notify: true }))), ['decision.notify']);
  t.same(fields(judge(ctx(), refAllow(), oursAllow({ rule: { file: '/p/50-x.policy', line: 2 } }))), ['decision.rule']);
  t.same(fields(judge(ctx(), refAllow(), oursAllow({ rule: { file: '/p/other.policy', line: 1 } }))), ['decision.rule'], 'the file name counts');
  const other = BLOCK.replace('autostart=True', 'autostart=False');
  t.same(fields(judge(ctx(), refAllow(), oursAllow({}, other))), ['exec.block', 'exec_yes.block'], 'blocks byte for byte');
  const v = judge(ctx(), refDeny(), { ...oursDeny(), decision: { unparsable: 'oops' } });
  t.same(fields(v), ['decision.output']);
});

t.test('what the reference leaves free is not compared', async (t) => {
  // requested_target and notify of a bad request; user and autostart of a deny
  t.same(judge(ctx(), refDeny({ requested_target: null, notify: null, rule: null }), oursDeny({ requested_target: 'x', notify: false, rule: null })).problems, []);
  t.same(judge(ctx(), refDeny(), oursDeny({ user: 'root' })).problems, []);
  // an ask without --assume-yes-for-ask that the reference would put to a GUI agent
  const ask = refDeny({ result: 'ask', targets: ['personal'], user: null, autostart: true, notify: false, reason: '' });
  ask.exec = { block: null, crash: null, agent: true };
  const ours = oursDeny({ result: 'ask', targets: ['personal'], autostart: true, notify: false });
  delete (ours.decision as Partial<DecisionJson>).reason;
  t.same(judge(ctx(), ask, ours).problems, [], 'the plain exec of an agent ask is skipped');
});

t.test('an allow where the reference denies is a wrong allow; a deny where it allows is not', async (t) => {
  const v = judge(ctx(), refDeny(), oursAllow());
  t.ok(v.problems.length > 0);
  t.ok(v.problems.some((p) => p.ourAllow), 'flagged as the worst kind');
  const w = judge(ctx(), refAllow(), oursDeny());
  t.ok(w.problems.length > 0);
  t.notOk(w.problems.some((p) => p.ourAllow));
  // both allow, with different blocks: a disagreement, not a wrong allow
  const x = judge(ctx(), refAllow(), oursAllow({}, BLOCK.replace('requested_target=personal', 'requested_target=work')));
  t.notOk(x.problems.some((p) => p.ourAllow));
});

t.test('where the reference crashed we must deny, nothing else is compared', async (t) => {
  const crash = refDeny({ crash: 'KeyError: x', rule: null, notify: null });
  crash.exec = { block: 'result=deny', crash: 'KeyError: x' };
  t.same(judge(ctx(), crash, oursDeny({ rule: RULE, notify: false })).problems, []);
  t.ok(judge(ctx(), crash, oursAllow()).problems.some((p) => p.ourAllow));
});

t.test('declared differences: applied only where we deny, on the channels they name', async (t) => {
  // a service Qubes would evaluate: we deny, and still report the normalised target
  const bad = ctx({ service: 'svc+a/b' });
  const v = judge(bad, refAllow(), oursDeny({ rule: null, requested_target: 'personal' }));
  t.same(v.declared.map((d) => d.id), ['invalid-service']);
  t.same(v.problems, []);
  t.same(fields(judge(bad, refAllow(), oursDeny({ requested_target: null }))), ['decision.requested_target'], 'kept fields are compared');
  t.ok(judge(bad, refAllow(), oursAllow()).problems.every((p) => p.expected !== undefined), 'and an allow is reported');
  t.ok(judge(bad, refAllow(), oursAllow()).problems.some((p) => p.ourAllow));

  // unknown callers, and relays that are not in the system info
  t.same(judge(ctx({ source: 'ghost' }), refAllow(), oursDeny()).declared.map((d) => d.id), ['unknown-source']);
  t.same(judge(ctx({ source: 'ghost', requestedSource: 'work' }), refAllow(), oursDeny()).declared.map((d) => d.id), ['unknown-source']);
  t.same(judge(ctx({ source: 'work', requestedSource: '' }), refAllow(), oursAllow()).declared, [], 'an empty requested_source is none');
  t.same(judge(ctx({ source: '@adminvm' }), refAllow(), oursDeny()).declared, [], '@adminvm is dom0 when dom0 is listed');

  // loopback through another spelling: all channels; through an answered ask: that channel only
  const self = refAllow({ target: 'uuid:11111111-1111-4111-8111-111111111111' });
  t.same(judge(ctx({ target: 'uuid:11111111-1111-4111-8111-111111111111' }), self, oursDeny()).declared.map((d) => d.id), ['loopback']);
  const ask = refDeny({ result: 'ask', targets: ['uuid:11111111-1111-4111-8111-111111111111'], user: null, autostart: true, notify: false, reason: '' });
  ask.exec = { block: null, crash: null, agent: true };
  ask.exec_yes = { block: BLOCK, crash: null };
  const ours = oursDeny({ result: 'ask', targets: ['uuid:11111111-1111-4111-8111-111111111111'], autostart: true, notify: false });
  delete (ours.decision as Partial<DecisionJson>).reason;
  const l = judge(ctx({ target: 'uuid:11111111-1111-4111-8111-111111111111' }), ask, ours);
  t.same(l.declared.map((d) => d.id), ['loopback']);
  t.same(l.problems, [], 'the ask decision itself is still compared, and agrees');

  // --just-evaluate answering before the final checks
  const je = refDeny({ reason: 'loopback qrexec connection not supported' });
  je.just_evaluate = { exit: 0, crash: null };
  t.same(judge(ctx(), je, oursDeny()).declared.map((d) => d.id), ['just-evaluate-final-checks']);
  t.same(judge(ctx(), je, oursDeny()).problems, []);

  // a @dispvm resolved to a default_dispvm that is not a template
  const disp = refAllow({ target: '@dispvm:notdvm' }, BLOCK);
  t.same(judge(ctx({ target: '@dispvm' }), disp, oursDeny()).declared.map((d) => d.id), ['dispvm-not-template']);
  t.same(judge(ctx({ target: '@dispvm' }), refAllow({ target: '@dispvm:dvm' }), oursAllow({ target: '@dispvm:dvm' })).declared, []);

  // a block qrexec-daemon could not read
  const long = refAllow({}, BLOCK.replace('user=DEFAULT', `user=${'u'.repeat(5000)}`));
  t.same(judge(ctx(), long, oursDeny()).declared.map((d) => d.id), ['unsendable']);
  // request values past the limit
  t.same(judge(ctx({ target: 'x'.repeat(1025) }), refDeny(), oursDeny()).declared.map((d) => d.id), ['request-length']);
  // includes nested past the limit (recognised by our load error)
  const deep = oursDeny({ rule: null, reason: 'policy failed to load: /p/x:1: includes nested deeper than 32 levels' });
  t.same(judge(ctx(), refAllow(), deep).declared.map((d) => d.id), ['include-depth']);
});

t.test('the declared table: ids, SPEC sections and reasons for every entry', async (t) => {
  t.equal(new Set(DECLARED.map((d) => d.id)).size, DECLARED.length, 'ids are unique');
  for (const d of DECLARED) {
    t.match(d.spec, /SPEC|README/, `${d.id} names where it is written`);
    t.ok(d.why.length > 20, `${d.id} says why`);
  }
});

t.test('unsendableBlock', async (t) => {
  t.equal(unsendableBlock(BLOCK), null);
  t.equal(unsendableBlock('result=allow\nuser=j\u00fcrgen'), 'not printable ASCII');
  t.equal(unsendableBlock('result=allow\nstray'), 'a line without =');
  t.equal(unsendableBlock('user=a\nuser=b'), 'a repeated key');
  t.equal(unsendableBlock(`user=${'x'.repeat(4095)}`), 'over 4096 bytes');
});
