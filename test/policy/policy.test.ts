/**
 * Policy evaluation (SPEC §3.1–§3.4, §4.4, §5.1) through the real parser,
 * loader and evaluator. One file (one process) keeps the suite fast; each
 * top-level test is one area.
 */
import t, { type Test } from 'tap';
import { parseToken } from '../../src/parser/tokens.js';
import { expandTarget } from '../../src/policy/ask.js';
import { type DenyDecision, type AllowDecision, type Decision, type AskDecision, codePointSort } from '../../src/policy/decision.js';
import { confirmAsk, evaluate, evaluateRequest } from '../../src/policy/evaluate.js';
import { defaultDispvmName, EvaluationFault, matchesSource, matchesTarget, sameQube } from '../../src/policy/match.js';
import { LegacyPolicy, loadPolicySet, Policy } from '../../src/policy/policy.js';
import { checkServiceArg, parseRequest, splitServiceArg } from '../../src/policy/request.js';
import { parseSystemInfo, SystemInfo, SystemInfoError, systemInfoFromJson } from '../../src/policy/system-info.js';
import { decide, makeSystem, uuidOf, memPolicy, LEGACY_DIR, memLegacy, memTree, POLICY_DIR } from '../helpers/policy.js';
import { resultBlock } from '../../src/render/block.js';

/**
 * Matching of every SPEC §3.1 token in the SOURCE and TARGET columns against
 * every kind of request value, through the real parser and evaluator.
 */
t.test('matching (SPEC §3.1)', async (t) => {
  const ZERO = 'uuid:00000000-0000-0000-0000-000000000000';
  const si = makeSystem();
  // dom0 carrying a tag (for @tag: matching dom0)
  const siTagged = makeSystem({
    dom0: {
      type: 'AdminVM',
      power_state: 'Running',
      uuid: '00000000-0000-0000-0000-000000000000',
      default_dispvm: 'default-dvm',
      tags: ['trusted'],
    },
  });
  const WORK = 'uuid:' + uuidOf(si, 'work');
  const PERSONAL = 'uuid:' + uuidOf(si, 'personal');
  const DDVM = uuidOf(si, 'default-dvm');

  /**
   * Whether a one-rule policy `svc * SOURCE TARGET deny` matches the request.
   * A deny rule reports itself even for an unknown source, so `rule !== null`
   * is exactly "the rule matched".
   */
  function matches(source: string, target: string, reqSource: string, reqTarget: string, sys: SystemInfo = si): boolean {
    const d = decide(`svc * ${source} ${target} deny notify=no\n`, reqSource, reqTarget, 'svc', { si: sys });
    if (d.result !== 'deny') throw new Error(`unexpected ${d.result}`);
    if (d.kind !== 'rule' && d.kind !== 'no-rule') throw new Error(`unexpected deny kind ${d.kind}: ${d.reason}`);
    return d.rule !== null;
  }

  type Row = [token: string, value: string, expected: boolean, sys?: SystemInfo];

  t.test('SOURCE column', async (t) => {
    const rows: Row[] = [
      // qube names and uuid forms, both ways
      ['work', 'work', true],
      ['work', WORK, true],
      ['work', 'personal', false],
      ['work', 'dom0', false],
      [WORK, 'work', true],
      [WORK, WORK, true],
      [WORK, 'personal', false],
      [WORK, PERSONAL, false],
      [WORK, 'dom0', false],
      [WORK, '@adminvm', false],
      // dom0 forms match only dom0 forms, both ways
      ['@adminvm', 'dom0', true],
      ['@adminvm', '@adminvm', true],
      ['@adminvm', ZERO, true],
      ['@adminvm', 'work', false],
      ['@adminvm', 'ghost', false],
      ['dom0', 'dom0', true],
      ['dom0', '@adminvm', true],
      ['dom0', ZERO, true],
      ['dom0', 'work', false],
      [ZERO, 'dom0', true],
      [ZERO, '@adminvm', true],
      [ZERO, ZERO, true],
      [ZERO, 'work', false],
      // @anyvm never matches dom0; * does
      ['@anyvm', 'work', true],
      ['@anyvm', WORK, true],
      ['@anyvm', 'ghost', true],
      ['@anyvm', 'dom0', false],
      ['@anyvm', '@adminvm', false],
      ['@anyvm', ZERO, false],
      ['*', 'work', true],
      ['*', 'dom0', true],
      ['*', '@adminvm', true],
      ['*', ZERO, true],
      ['*', 'ghost', true],
      // tags and types
      ['@tag:work', 'work', true],
      ['@tag:work', WORK, true],
      ['@tag:work', 'personal', false],
      ['@tag:work', 'ghost', false],
      ['@tag:trusted', 'dom0', false],
      ['@tag:trusted', 'dom0', true, siTagged],
      // @adminvm names no qube (it is not a key of the system info): tags and types never match it, as in Qubes
      ['@tag:trusted', '@adminvm', false, siTagged],
      ['@tag:trusted', ZERO, true, siTagged],
      ['@type:AppVM', 'work', true],
      ['@type:AppVM', 'fedora-41', false],
      ['@type:AppVM', 'dom0', false],
      ['@type:AppVM', 'ghost', false],
      ['@type:TemplateVM', 'fedora-41', true],
      ['@type:AdminVM', 'dom0', true],
      ['@type:AdminVM', '@adminvm', false],
      ['@type:AdminVM', ZERO, true],
      ['@type:AdminVM', 'work', false],
      // @dispvm:… is valid in the SOURCE column but never matches a caller
      ['@dispvm:default-dvm', 'default-dvm', false],
      ['@dispvm:default-dvm', 'work', false],
      ['@dispvm:default-dvm', 'dom0', false],
      [`@dispvm:uuid:${DDVM}`, 'default-dvm', false],
      ['@dispvm:@tag:dvm', 'default-dvm', false],
      ['@dispvm:@tag:dvm', 'alt-dvm', false],
      ['@dispvm:@tag:dvm', 'work', false],
      // a literal name that is not a qube matches a caller of that name (exact string)
      ['ghost', 'ghost', true],
      ['ghost', 'work', false],
    ];
    for (const [tok, value, expected, sys] of rows) {
      t.equal(matches(tok, '*', value, 'personal', sys), expected, `${tok} vs source ${value}`);
    }
  });

  t.test('TARGET column', async (t) => {
    const rows: Row[] = [
      // names and uuid forms, both ways
      ['personal', 'personal', true],
      ['personal', PERSONAL, true],
      ['personal', 'vault', false],
      ['personal', '', false],
      ['personal', '@dispvm', false],
      [PERSONAL, 'personal', true],
      [PERSONAL, PERSONAL, true],
      [PERSONAL, 'vault', false],
      [PERSONAL, 'dom0', false],
      // dom0 forms match only dom0 forms, both ways
      ['@adminvm', 'dom0', true],
      ['@adminvm', '@adminvm', true],
      ['@adminvm', ZERO, true],
      ['@adminvm', 'personal', false],
      ['@adminvm', '', false],
      ['dom0', 'dom0', true],
      ['dom0', '@adminvm', true],
      ['dom0', ZERO, true],
      ['dom0', 'personal', false],
      [ZERO, 'dom0', true],
      [ZERO, '@adminvm', true],
      [ZERO, ZERO, true],
      [ZERO, '@default', false],
      // @anyvm: everything but dom0 forms (keywords included); *: everything
      ['@anyvm', 'personal', true],
      ['@anyvm', PERSONAL, true],
      ['@anyvm', '', true],
      ['@anyvm', '@default', true],
      ['@anyvm', 'ghost', true],
      ['@anyvm', '@dispvm', true],
      ['@anyvm', '@dispvm:alt-dvm', true],
      ['@anyvm', 'dom0', false],
      ['@anyvm', '@adminvm', false],
      ['@anyvm', ZERO, false],
      ['*', 'personal', true],
      ['*', '', true],
      ['*', '@dispvm', true],
      ['*', '@dispvm:alt-dvm', true],
      ['*', 'dom0', true],
      ['*', '@adminvm', true],
      ['*', ZERO, true],
      // @default: no target named (empty, explicit, or unknown → @default)
      ['@default', '', true],
      ['@default', '@default', true],
      ['@default', 'ghost', true],
      ['@default', 'uuid:99999999-9999-4999-8999-999999999999', true],
      ['@default', 'personal', false],
      ['@default', '@dispvm', false],
      ['@default', 'dom0', false],
      // @dispvm matches only the request @dispvm
      ['@dispvm', '@dispvm', true],
      ['@dispvm', '@dispvm:default-dvm', false],
      ['@dispvm', 'default-dvm', false],
      ['@dispvm', '', false],
      // @dispvm:X: @dispvm:X, its @dispvm:uuid: form, and @dispvm when X is the source's default
      ['@dispvm:default-dvm', '@dispvm:default-dvm', true],
      ['@dispvm:default-dvm', `@dispvm:uuid:${DDVM}`, true],
      ['@dispvm:default-dvm', '@dispvm', true], // work's default_dispvm is default-dvm
      ['@dispvm:alt-dvm', '@dispvm', false],
      ['@dispvm:default-dvm', '@dispvm:alt-dvm', false],
      ['@dispvm:default-dvm', 'default-dvm', false],
      ['@dispvm:default-dvm', '', false],
      [`@dispvm:uuid:${DDVM}`, '@dispvm:default-dvm', true],
      [`@dispvm:uuid:${DDVM}`, `@dispvm:uuid:${DDVM}`, true],
      [`@dispvm:uuid:${DDVM}`, '@dispvm', false], // compared as written, as Qubes does
      [`@dispvm:uuid:${DDVM}`, '@dispvm:alt-dvm', false],
      // @dispvm:@tag:T
      ['@dispvm:@tag:dvm', '@dispvm:default-dvm', true],
      ['@dispvm:@tag:dvm', '@dispvm:alt-dvm', true],
      ['@dispvm:@tag:web', '@dispvm:alt-dvm', true],
      ['@dispvm:@tag:web', '@dispvm:default-dvm', false],
      ['@dispvm:@tag:dvm', '@dispvm', true], // work → default-dvm (tagged dvm)
      ['@dispvm:@tag:web', '@dispvm', false],
      ['@dispvm:@tag:dvm', 'default-dvm', false],
      ['@dispvm:@tag:dvm', '', false],
      ['@dispvm:@tag:dvm', 'dom0', false],
      // @tag: / @type: match known qubes (dom0 when it carries the tag/type)
      ['@tag:personal', 'personal', true],
      ['@tag:personal', PERSONAL, true],
      ['@tag:personal', 'vault', false],
      ['@tag:personal', '', false],
      ['@tag:dvm', '@dispvm:default-dvm', false],
      ['@tag:dvm', '@dispvm', false],
      ['@tag:trusted', 'dom0', false],
      ['@tag:trusted', 'dom0', true, siTagged],
      // @adminvm names no qube (it is not a key of the system info): tags and types never match it, as in Qubes
      ['@tag:trusted', '@adminvm', false, siTagged],
      ['@tag:trusted', ZERO, true, siTagged],
      ['@type:AppVM', 'personal', true],
      ['@type:AppVM', 'fedora-41', false],
      ['@type:AppVM', 'dom0', false],
      ['@type:AppVM', '@dispvm', false],
      ['@type:AppVM', '', false],
      ['@type:TemplateVM', 'fedora-41', true],
      ['@type:AdminVM', 'dom0', true],
      ['@type:AdminVM', '@adminvm', false],
      ['@type:AdminVM', ZERO, true],
      ['@type:AdminVM', 'personal', false],
    ];
    for (const [tok, value, expected, sys] of rows) {
      t.equal(matches('work', tok, 'work', value, sys), expected, `${tok} vs target ${JSON.stringify(value)}`);
    }
  });

  t.test('@dispvm:X and @dispvm:@tag:T against @dispvm depend on the source', async (t) => {
    // untrusted's default_dispvm is alt-dvm (tagged dvm and web)
    t.equal(matches('untrusted', '@dispvm:alt-dvm', 'untrusted', '@dispvm'), true);
    t.equal(matches('untrusted', '@dispvm:default-dvm', 'untrusted', '@dispvm'), false);
    t.equal(matches('untrusted', '@dispvm:@tag:web', 'untrusted', '@dispvm'), true);
    // vault has no default_dispvm: @dispvm:@tag:T simply does not match (no fault)
    t.equal(matches('vault', '@dispvm:@tag:dvm', 'vault', '@dispvm'), false);
    // a default_dispvm that carries the tag but is not a disposable template does not match
    const sys = makeSystem({ work: { type: 'AppVM', default_dispvm: 'personal', power_state: 'Running' } });
    t.equal(matches('work', '@dispvm:@tag:personal', 'work', '@dispvm', sys), false);
  });

  t.test('without dom0 in system info the literal name dom0 is unknown, @adminvm still dom0', async (t) => {
    const sys = makeSystem({ dom0: null });
    // request target `dom0` → unknown → @default (with a warning)
    const d = decide('svc * work @default deny\n', 'work', 'dom0', 'svc', { si: sys });
    t.equal(d.requestedTarget, '@default');
    t.equal(d.rule?.line, 1);
    t.match(d.warnings.join('\n'), /does not exist/);
    // request target `@adminvm` still means dom0
    t.equal(matches('work', '@adminvm', 'work', '@adminvm', sys), true);
    t.equal(matches('work', '@anyvm', 'work', '@adminvm', sys), false);
    const d2 = decide('svc * work @adminvm allow\n', 'work', '@adminvm', 'svc', { si: sys });
    t.equal(d2.result, 'allow');
    t.equal(d2.result === 'allow' && d2.target, 'dom0');
    // the dom0 forms of the SOURCE column: @adminvm still is dom0
    t.equal(matches('@adminvm', '*', '@adminvm', 'work', sys), true);
    t.equal(matches('@anyvm', '*', '@adminvm', 'work', sys), false);
    // a caller spelled dom0 is still dom0 to the matcher (Qubes compares the spelling), though unknown here
    t.equal(matches('@anyvm', '*', 'dom0', 'work', sys), false, 'literal dom0 is a dom0 spelling');
    t.equal(matches('dom0', '*', 'dom0', 'work', sys), true, 'literal dom0 matches dom0 forms');
  });

  t.test('service and argument columns', async (t) => {
    const p = 'svc +a work personal deny\nsvc * work personal deny\n* * work personal deny\nother * work personal deny\n';
    t.equal(decide(p, 'work', 'personal', 'svc+a').rule?.line, 1);
    t.equal(decide(p, 'work', 'personal', 'svc+b').rule?.line, 2);
    t.equal(decide(p, 'work', 'personal', 'svc').rule?.line, 2);
    t.equal(decide(p, 'work', 'personal', 'svc+').rule?.line, 2);
    t.equal(decide(p, 'work', 'personal', 'zzz').rule?.line, 3);
    t.equal(decide(p, 'work', 'personal', 'other+x').rule?.line, 3);
    // `svc` has argument `+`; a rule for `+` matches both `svc` and `svc+`
    const q = 'svc + work personal deny\nsvc +x work personal deny notify=no\n';
    t.equal(decide(q, 'work', 'personal', 'svc').rule?.line, 1);
    t.equal(decide(q, 'work', 'personal', 'svc+').rule?.line, 1);
    t.equal(decide(q, 'work', 'personal', 'svc+x').rule?.line, 2);
    t.equal(decide(q, 'work', 'personal', 'svc+xy').rule, null);
  });

  t.test('first match wins in file order', async (t) => {
    const p = 'svc * work personal deny\nsvc * work personal allow\nsvc * @anyvm @anyvm allow\n';
    const d = decide(p, 'work', 'personal', 'svc');
    t.equal(d.result, 'deny');
    t.equal(d.rule?.line, 1);
    const d2 = decide(p, 'work', 'vault', 'svc');
    t.equal(d2.result, 'allow');
    t.equal(d2.rule?.line, 3);
  });
});

/**
 * Request validation and normalisation (SPEC §3.1, §3.3 field rules, §3.4).
 */
t.test('request validation', async (t) => {
  const ZERO = 'uuid:00000000-0000-0000-0000-000000000000';
  const si = makeSystem({
    'sys-relay': { type: 'AppVM', power_state: 'Running' },
    'remote-a': { type: 'RemoteVM', relayvm: 'sys-relay', transport_rpc: 'qubesair.SSHProxy', power_state: 'Running' },
    'remote-x': { type: 'RemoteVM', relayvm: 'work', transport_rpc: 'qubesair.SSHProxy' },
  });
  const ANY = 'svc * @anyvm @default allow target=personal\nsvc * @anyvm @anyvm allow\n* * * * deny notify=no\n';

  function denied(d: ReturnType<typeof decide>): DenyDecision {
    if (d.result !== 'deny') throw new Error(`expected deny, got ${d.result}`);
    return d;
  }

  t.test('splitServiceArg and checkServiceArg', async (t) => {
    t.same(splitServiceArg('svc'), { service: 'svc', argument: '+' });
    t.same(splitServiceArg('svc+'), { service: 'svc', argument: '+' });
    t.same(splitServiceArg('svc+a+b'), { service: 'svc', argument: '+a+b' });
    t.same(splitServiceArg('+a'), { service: '', argument: '+a' });
    t.equal(checkServiceArg('qubes.Filecopy', '+x-Y_z.1'), null);
    t.match(checkServiceArg('', '+'), /empty service/);
    t.match(checkServiceArg('a b', '+'), /invalid characters in service/);
    t.match(checkServiceArg('svc', '+a/b'), /invalid characters in argument/);
  });

  t.test('empty target becomes @default', async (t) => {
    const d = decide(ANY, 'work', '', 'svc');
    t.equal(d.requestedTarget, '@default');
    t.equal(d.rule?.line, 1);
    t.same(d.warnings, []);
    t.equal(decide(ANY, 'work', '@default', 'svc').requestedTarget, '@default');
  });

  t.test('unknown name or uuid → @default with a warning', async (t) => {
    for (const target of ['ghost', 'uuid:99999999-9999-4999-8999-999999999999', 'Work']) {
      const d = decide(ANY, 'work', target, 'svc');
      t.equal(d.requestedTarget, '@default', target);
      t.equal(d.rule?.line, 1, `${target} decided by the @default rule`);
      t.equal(d.result, 'allow');
      t.equal(d.result === 'allow' && d.target, 'personal');
      t.equal(d.warnings.length, 1);
      t.match(d.warnings[0], target);
    }
  });

  t.test('known targets keep their spelling', async (t) => {
    const pu = 'uuid:' + uuidOf(si, 'personal');
    t.equal(decide(ANY, 'work', pu, 'svc', { si }).requestedTarget, pu);
    t.equal(decide(ANY, 'work', 'dom0', 'svc', { si }).requestedTarget, 'dom0');
    t.equal(decide(ANY, 'work', '@adminvm', 'svc', { si }).requestedTarget, '@adminvm');
    t.equal(decide(ANY, 'work', ZERO, 'svc', { si }).requestedTarget, ZERO);
    t.equal(decide(ANY, 'work', '@dispvm', 'svc', { si }).requestedTarget, '@dispvm');
    const du = '@dispvm:uuid:' + uuidOf(si, 'default-dvm');
    t.equal(decide(ANY, 'work', du, 'svc', { si }).requestedTarget, du);
  });

  t.test('keywords that a caller may not name → bad request, requested_target null', async (t) => {
    for (const target of ['@anyvm', '*', '@tag:work', '@type:AppVM', '@dispvm:@tag:dvm', '@dispvm:', '@tag:', '@foo', '@dispvm:@foo']) {
      const d = denied(decide(ANY, 'work', target, 'svc'));
      t.equal(d.kind, 'bad-request', target);
      t.equal(d.requestedTarget, null, `${target}: requested_target null`);
      t.equal(d.rule, null);
      t.equal(d.service, 'svc');
      t.equal(d.argument, '+');
      t.match(d.reason, /^bad request: /);
    }
  });

  t.test('@dispvm:X with X not a disposable template → bad request', async (t) => {
    for (const target of ['@dispvm:work', '@dispvm:ghost', '@dispvm:dom0', '@dispvm:uuid:' + uuidOf(si, 'work'), '@dispvm:uuid:99999999-9999-4999-8999-999999999999']) {
      const d = denied(decide(ANY, 'work', target, 'svc', { si }));
      t.equal(d.kind, 'bad-request', target);
      t.equal(d.requestedTarget, null);
      t.match(d.reason, /not a template for dispvm/);
    }
    // a real disposable template is fine, by name or uuid
    t.equal(decide(ANY, 'work', '@dispvm:alt-dvm', 'svc', { si }).result, 'allow');
    t.equal(decide(ANY, 'work', '@dispvm:uuid:' + uuidOf(si, 'alt-dvm'), 'svc', { si }).result, 'allow');
  });

  t.test('bad service names → deny', async (t) => {
    for (const service of ['', '+arg', '*', '*+a', 'svc name', 'a/b', 'svc+a/b', 'svc+a b', 'sérvice', 'svc+é', 'svc+*', 'svc\0', 'svc+a\n']) {
      const d = denied(decide('* * @anyvm @anyvm allow\n', 'work', 'personal', service));
      t.equal(d.kind, 'bad-request', JSON.stringify(service));
      t.equal(d.rule, null);
      t.equal(d.notify, true);
      // the target itself was fine: it is reported normalised, as Qubes (which does not check services) does
      t.equal(d.requestedTarget, 'personal');
    }
    const d = denied(decide('* * @anyvm @anyvm allow\n', 'work', 'personal', 'svc+a/b'));
    t.equal(d.service, 'svc');
    t.equal(d.argument, '+a/b');
  });

  t.test('a bad target is reported before a bad service', async (t) => {
    const d = denied(decide(ANY, 'work', '@anyvm', 'a b'));
    t.equal(d.requestedTarget, null);
    t.match(d.reason, /intendedtarget/);
  });

  t.test('unknown source', async (t) => {
    // a rule that denies it still reports that rule
    const d = denied(decide('svc * @anyvm @anyvm deny notify=no\n', 'ghost', 'personal', 'svc'));
    t.equal(d.kind, 'rule');
    t.equal(d.rule?.line, 1);
    t.equal(d.notify, false);
    t.equal(d.source, 'ghost');
    // an allow becomes a deny (reporting the rule)
    const a = denied(decide('svc * @anyvm @anyvm allow\n', 'ghost', 'personal', 'svc'));
    t.equal(a.kind, 'unknown-source');
    t.equal(a.rule?.line, 1);
    const a2 = denied(decide('svc * ghost personal allow\n', 'ghost', 'personal', 'svc'));
    t.equal(a2.kind, 'unknown-source');
    // an ask too
    // collecting ask targets needs the caller in the system info (Qubes crashes without it)
    const k = denied(decide('svc * @anyvm @anyvm ask\n', 'ghost', 'personal', 'svc'));
    t.equal(k.rule?.line, 1);
    t.equal(k.kind, 'fault');
    const k2 = denied(decide('svc * @anyvm @anyvm ask\n', 'ghost', 'personal', 'svc', { assumeYesForAsk: true }));
    t.equal(k2.kind, 'fault');
    const k3 = denied(decide('svc * @anyvm @anyvm ask target=personal\n', 'ghost', 'personal', 'svc'));
    t.equal(k3.kind, 'unknown-source');
    // no rule: plain no-rule deny
    const n = denied(decide('svc * work @anyvm allow\n', 'ghost', 'personal', 'svc'));
    t.equal(n.kind, 'no-rule');
    t.equal(n.notify, true);
  });

  t.test('parseRequest exposes the normalised request', async (t) => {
    const r = parseRequest({ source: 'uuid:' + uuidOf(si, 'work'), target: 'personal', service: 'svc+x' }, si);
    t.ok(r.ok);
    if (r.ok) {
      t.equal(r.request.serviceArg, 'svc+x');
      t.equal(r.request.source.qube?.name, 'work');
      t.equal(r.request.source.isDom0, false);
      t.equal(r.request.target.kind, 'qube');
    }
    for (const s of ['dom0', ZERO]) {
      const p = parseRequest({ source: s, target: 'personal', service: 'svc' }, si);
      t.ok(p.ok && p.request.source.isDom0 && p.request.source.qube?.name === 'dom0', s);
    }
    // @adminvm is dom0 by its spelling, but no key of the system info (so no qube to look at)
    const a = parseRequest({ source: '@adminvm', target: 'personal', service: 'svc' }, si);
    t.ok(a.ok && a.request.source.isDom0 && a.request.source.qube === null, '@adminvm');
    const g = parseRequest({ source: 'ghost', target: '', service: 'svc' }, si);
    t.ok(g.ok && g.request.source.qube === null && !g.request.source.isDom0);
    t.ok(g.ok && g.request.target.kind === 'default');
  });

  t.test('requested_source (SPEC §3.4)', async (t) => {
    const p = 'svc * sys-relay @anyvm deny notify=no\nsvc * remote-a work allow\nsvc * @anyvm @anyvm deny\n';
    // evaluated with the RemoteVM as source
    const d = decide(p, 'sys-relay', 'work', 'svc', { si, requestedSource: 'remote-a' });
    t.equal(d.result, 'allow');
    t.equal(d.rule?.line, 2);
    t.equal(d.source, 'remote-a');
    t.equal(d.requestedSource, 'remote-a');
    // without it the relay is the source
    const plain = decide(p, 'sys-relay', 'work', 'svc', { si });
    t.equal(plain.rule?.line, 1);
    t.equal(plain.requestedSource, null);
    // must name a known RemoteVM …
    for (const rs of ['ghost', 'work', 'sys-relay', 'dom0']) {
      const b = denied(decide(p, 'sys-relay', 'work', 'svc', { si, requestedSource: rs }));
      t.equal(b.kind, 'bad-request', rs);
      t.equal(b.rule, null);
      // Qubes verifies the target before the requested source, so it reports one
      t.equal(b.requestedTarget, 'work', 'the target was fine');
      t.equal(b.requestedSource, rs);
    }
    // … whose relayvm is the caller
    const wrong = denied(decide(p, 'personal', 'work', 'svc', { si, requestedSource: 'remote-a' }));
    t.equal(wrong.kind, 'bad-request');
    t.match(wrong.reason, /relay/);
    const unknown = denied(decide(p, 'ghost', 'work', 'svc', { si, requestedSource: 'remote-a' }));
    t.equal(unknown.kind, 'bad-request');
    // remote-x is relayed by work
    t.equal(decide('svc * remote-x personal allow\n', 'work', 'personal', 'svc', { si, requestedSource: 'remote-x' }).result, 'allow');
    // an empty requested_source is not "none"
    t.equal(decide(p, 'sys-relay', 'work', 'svc', { si, requestedSource: '' }).result, 'deny');
  });
});

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
 * `--legacy` (SPEC §4.4): R4.0 semantics through LegacyPolicy.
 */
t.test('--legacy', async (t) => {
  const si = makeSystem();
  const ev = (p: LegacyPolicy, src: string, tgt: string, svc: string, opts = {}) => decide(p, src, tgt, svc, { si, ...opts });
  function denied(d: Decision): DenyDecision {
    if (d.result !== 'deny') throw new Error(`expected deny, got ${d.result}`);
    return d;
  }

  t.test('file choice: SVC+ARG, else SVC', async (t) => {
    const pol = memLegacy({
      'svc+arg': 'work personal allow\n',
      svc: 'work @anyvm allow,target=vault\n$anyvm $anyvm deny\n',
    });
    const a = ev(pol, 'work', 'personal', 'svc+arg');
    t.equal(a.result, 'allow');
    t.equal(a.rule?.file, `${LEGACY_DIR}/svc+arg`);
    t.equal(a.rule?.line, 1);
    // the specific file has no match for vault: no fall-through to the generic file
    const b = denied(ev(pol, 'work', 'vault', 'svc+arg'));
    t.equal(b.kind, 'no-rule');
    t.equal(b.rule, null);
    t.equal(b.notify, true);
    // other arguments (and none) use the generic file
    for (const svc of ['svc+other', 'svc', 'svc+']) {
      const c = ev(pol, 'work', 'personal', svc);
      t.equal(c.result, 'allow', svc);
      t.equal(c.result === 'allow' && c.target, 'vault');
      t.equal(c.rule?.file, `${LEGACY_DIR}/svc`);
    }
    const d = denied(ev(pol, 'personal', 'work', 'svc+other'));
    t.equal(d.kind, 'rule');
    t.equal(d.rule?.line, 2);
  });

  t.test('policy not found', async (t) => {
    const pol = memLegacy({ svc: 'work personal allow\n' });
    const d = denied(ev(pol, 'work', 'personal', 'other'));
    t.equal(d.kind, 'no-rule');
    t.match(d.reason, /policy not found/);
    t.equal(d.rule, null);
    t.same(pol.candidates('other', '+'), { kind: 'not-found' });
    // names the R4.0 reader ignores never count as the file
    const ign = memLegacy({ '.hidden': 'work personal allow\n', 'svc.rpmnew': 'work personal allow\n', 'svc.swp': '', 'svc.rpmsave': '' });
    for (const svc of ['.hidden', 'svc.rpmnew', 'svc.swp', 'svc.rpmsave']) t.match(denied(ev(ign, 'work', 'personal', svc)).reason, /not found/, svc);
  });

  t.test('first match wins; no match → deny', async (t) => {
    const pol = memLegacy({
      svc: '# comment\n\nwork personal deny\nwork personal allow\n$anyvm $tag:vault ask,default_target=vault\n$anyvm $dispvm allow\n',
    });
    const d = denied(ev(pol, 'work', 'personal', 'svc'));
    t.equal(d.kind, 'rule');
    t.equal(d.rule?.line, 3);
    const k = ev(pol, 'work', 'vault', 'svc');
    t.equal(k.result, 'ask');
    t.equal(k.result === 'ask' && k.defaultTarget, 'vault');
    t.equal(k.rule?.line, 5);
    const v = ev(pol, 'work', '@dispvm', 'svc');
    t.equal(v.result === 'allow' && v.target, '@dispvm:default-dvm');
    t.equal(denied(ev(pol, 'personal', 'sys-net', 'svc')).reason, 'no matching rule found');
  });

  t.test('$include: is relative to the legacy directory', async (t) => {
    const pol = memLegacy({ svc: '$include:common\n', common: 'work vault allow\n' });
    const d = ev(pol, 'work', 'vault', 'svc');
    t.equal(d.result, 'allow');
    t.equal(d.rule?.file, `${LEGACY_DIR}/common`);
  });

  t.test('errors deny', async (t) => {
    const bad = memLegacy({ svc: 'work personal allow\nwork\n' });
    const d = denied(ev(bad, 'work', 'personal', 'svc'));
    t.equal(d.kind, 'load-error');
    t.match(d.reason, /svc:2/);
    t.match(bad.candidates('svc', '+'), { kind: 'error', error: { line: 2 } }, 'the error, tagged');
    // other services are unaffected
    t.equal(ev(memLegacy({ svc: 'work\n', ok: 'work personal allow\n' }), 'work', 'personal', 'ok').result, 'allow');
    // a missing legacy directory
    const none = new LegacyPolicy({ legacyPath: '/nonexistent', fs: memTree({}) });
    const m = denied(ev(none, 'work', 'personal', 'svc'));
    t.equal(m.kind, 'load-error');
    t.match(m.reason, /\/nonexistent/);
    t.equal(none.error, null);
  });

  t.test('per-service cache and file list', async (t) => {
    const pol = memLegacy({ svc: 'work personal allow\n', 'svc+a': 'work vault allow\n' });
    const first = pol.candidates('svc', '+x');
    t.equal(pol.candidates('svc', '+x'), first, 'cached');
    pol.candidates('svc', '+a');
    t.same(pol.files, [`${LEGACY_DIR}/svc`, `${LEGACY_DIR}/svc+a`]);
    t.equal(ev(pol, 'work', 'vault', 'svc+a').result, 'allow');
  });
});

/**
 * Policy (rule index by service) and loadPolicySet.
 */
t.test('Policy rule index', async (t) => {
  t.test('candidates: a service own rules and the * rules, in policy order', async (t) => {
    const pol = memPolicy({
      '10-a.policy': 'svc * work personal allow\n* * @anyvm @anyvm deny notify=no\nother * work vault allow\n',
      '20-b.policy': 'svc +x work vault allow\n',
    });
    t.equal(pol.error, null);
    t.same(
      pol.rulesFor('svc').map((r) => `${r.file.split('/').pop()}:${r.line}`),
      ['10-a.policy:1', '10-a.policy:2', '20-b.policy:1'],
    );
    t.same(pol.rulesFor('other').map((r) => r.line), [2, 3]);
    t.same(pol.rulesFor('unnamed').map((r) => r.line), [2], 'only the * rules');
    t.equal(pol.candidates('svc').kind, 'rules');
    t.equal(pol.candidates('svc'), pol.candidates('svc'), 'cached');
    t.equal(pol.candidates('unnamed'), pol.candidates('nothing'), 'one wildcard-only list');
    t.same([...pol.namedServices].sort(), ['other', 'svc']);
    t.equal(pol.rules.length, 4);
  });

  t.test('errors: the first one is the policy error', async (t) => {
    const pol = memPolicy({ '10-a.policy': 'bad\n', '20-b.policy': 'also bad\n' });
    t.ok(pol.error);
    t.equal(pol.errors.length, 2);
    t.equal(pol.error, pol.errors[0]);
    t.match(pol.error!.describe(), /10-a\.policy:1/);
    const empty = new Policy([]);
    t.equal(empty.error, null);
    t.same(empty.candidates('x'), { kind: 'rules', rules: [] });
    t.same(empty.load, { files: [], dirs: [], notices: [] });
  });

  t.test('loadPolicySet', async (t) => {
    const fs = memTree({ '50-a.policy': 'svc * work personal allow\n' });
    const pol = loadPolicySet({ paths: [POLICY_DIR], fs });
    t.equal(pol.error, null);
    t.equal(pol.rules.length, 1);
    t.same(pol.load.files, [`${POLICY_DIR}/50-a.policy`]);
    const missing = loadPolicySet({ paths: ['/nope'], fs });
    t.ok(missing.error, 'a missing --path directory is an error');
  });
});

/**
 * System information validation (SPEC §5.1).
 */
t.test('system info', async (t) => {
  const one = (d: Record<string, unknown>) => systemInfoFromJson({ domains: { q: d } }).get('q')!;

  function rejects(t: Test, doc: unknown, pattern: RegExp, what: string) {
    let err: unknown;
    try {
      systemInfoFromJson(doc);
    } catch (e) {
      err = e;
    }
    t.type(err, SystemInfoError, what);
    t.match((err as Error).message, pattern, what);
    t.notMatch((err as Error).message, /\n\s+at /, `${what}: no stack trace in the message`);
  }

  t.test('document shape', async (t) => {
    for (const doc of [null, [], 'x', 5, true]) rejects(t, doc, /document: expected an object/, JSON.stringify(doc));
    rejects(t, {}, /"domains" is missing/, 'missing domains');
    rejects(t, { qubes: {} }, /"domains" is missing/, 'missing domains, other keys');
    for (const d of [null, [], 'x', 1]) rejects(t, { domains: d }, /domains: expected an object, got/, `domains ${JSON.stringify(d)}`);
    for (const d of [null, [], 'AppVM', 3]) rejects(t, { domains: { q: d } }, /domains\."q": expected an object/, `domain ${JSON.stringify(d)}`);
    t.equal(systemInfoFromJson({ domains: {} }).qubes.size, 0, 'empty domains is fine');
  });

  t.test('field types', async (t) => {
    rejects(t, { domains: { q: {} } }, /domains\."q"\.type is missing/, 'type missing');
    const bad: Array<[string, unknown, RegExp]> = [
      ['type', 1, /\.type: expected a string, got a number/],
      ['type', null, /\.type: expected a string, got null/],
      ['tags', 'a', /\.tags: expected an array of strings, got a string/],
      ['tags', [1], /\.tags: expected an array of strings, got an array/],
      ['tags', {}, /\.tags: expected an array of strings, got an object/],
      ['template_for_dispvms', 'true', /\.template_for_dispvms: expected a boolean, got a string/],
      ['template_for_dispvms', 1, /\.template_for_dispvms: expected a boolean/],
      ['default_dispvm', 1, /\.default_dispvm: expected a string or null, got a number/],
      ['default_dispvm', false, /\.default_dispvm: expected a string or null, got a boolean/],
      ['power_state', 1, /\.power_state: expected a string/],
      ['power_state', null, /\.power_state: expected a string, got null/],
      ['uuid', 1, /\.uuid: expected a string/],
      ['uuid', [], /\.uuid: expected a string, got an array/],
      ['guivm', 1, /\.guivm: expected a string or null/],
      ['icon', 1, /\.icon: expected a string/],
      ['label', {}, /\.label: expected a string, got an object/],
      ['internal', 1, /\.internal: expected a boolean, a string or null, got a number/],
      ['internal', [], /\.internal: expected a boolean, a string or null/],
      ['relayvm', 1, /\.relayvm: expected a string or null/],
      ['transport_rpc', true, /\.transport_rpc: expected a string or null/],
    ];
    for (const [field, value, pattern] of bad) {
      rejects(t, { domains: { q: { type: 'AppVM', [field]: value } } }, pattern, `${field}=${JSON.stringify(value)}`);
    }
    // the path names the domain
    rejects(t, { domains: { 'my qube': { type: 'AppVM', tags: 'x' } } }, /domains\."my qube"\.tags/, 'domain name quoted');
  });

  t.test('defaults for missing fields', async (t) => {
    const q = one({ type: 'AppVM' });
    t.same(
      { ...q },
      {
        name: 'q',
        type: 'AppVM',
        tags: [],
        templateForDispvms: false,
        defaultDispvm: null,
        powerState: 'Halted',
        uuid: null,
        guivm: null,
        icon: '',
        label: '',
        internal: false,
        relayvm: null,
        transportRpc: null,
      },
    );
  });

  t.test('all fields read', async (t) => {
    const q = one({
      type: 'RemoteVM',
      tags: ['a', 'b'],
      template_for_dispvms: true,
      default_dispvm: 'd',
      power_state: 'Running',
      uuid: 'u-1',
      guivm: 'sys-gui',
      icon: 'appvm-red',
      label: 'red',
      internal: false,
      relayvm: 'relay',
      transport_rpc: 'qubesair.SSHProxy',
      unknown_field: { anything: [1, 2] },
      another: null,
    });
    t.same(
      { ...q },
      {
        name: 'q',
        type: 'RemoteVM',
        tags: ['a', 'b'],
        templateForDispvms: true,
        defaultDispvm: 'd',
        powerState: 'Running',
        uuid: 'u-1',
        guivm: 'sys-gui',
        icon: 'appvm-red',
        label: 'red',
        internal: false,
        relayvm: 'relay',
        transportRpc: 'qubesair.SSHProxy',
      },
    );
    // nullable fields accept null
    const n = one({ type: 'AppVM', default_dispvm: null, guivm: null, relayvm: null, transport_rpc: null, internal: null });
    t.equal(n.defaultDispvm, null);
    t.equal(n.guivm, null);
    t.equal(n.internal, false);
  });

  t.test('internal as a qubesd feature value', async (t) => {
    const cases: Array<[unknown, boolean]> = [
      [true, true],
      [false, false],
      ['1', true],
      ['', false],
      [null, false],
      ['yes', true],
    ];
    for (const [v, expected] of cases) t.equal(one({ type: 'AppVM', internal: v }).internal, expected, JSON.stringify(v));
    t.equal(one({ type: 'AppVM' }).internal, false, 'missing');
  });

  t.test('SystemInfo lookups', async (t) => {
    const si = systemInfoFromJson({
      domains: {
        dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000' },
        a: { type: 'AppVM', uuid: 'u-a' },
        b: { type: 'AppVM', uuid: 'u-a' },
        c: { type: 'AppVM' },
      },
    });
    t.equal(si.get('a')?.name, 'a');
    t.equal(si.get('zzz'), undefined);
    // Qubes adds the uuid: keys in document order, so the later of two qubes sharing a uuid has it
    t.equal(si.lookup('uuid:u-a')?.name, 'b', 'last qube wins a duplicate uuid');
    t.equal(si.byUuidValue('u-a')?.name, 'b');
    t.equal(si.lookup('c')?.name, 'c');
    t.equal(si.lookup('uuid:'), undefined);
    t.equal(si.lookup('uuid:nope'), undefined);
    t.equal(si.dom0?.name, 'dom0');
    t.equal(new SystemInfo([]).dom0, undefined);
    t.same([...si.qubes.keys()], ['dom0', 'a', 'b', 'c'], 'document order kept');
  });

  t.test('parseSystemInfo', async (t) => {
    const ok = parseSystemInfo('{"domains": {"w": {"type": "AppVM"}}}');
    t.equal(ok.get('w')?.type, 'AppVM');
    for (const text of ['', '{', 'nope', '{"domains": }', '\u0000']) {
      let err: unknown;
      try {
        parseSystemInfo(text);
      } catch (e) {
        err = e;
      }
      t.type(err, SystemInfoError, JSON.stringify(text));
      t.match((err as Error).message, /^system info: not valid JSON: /);
      t.notMatch((err as Error).message, /\n/, 'one line, no stack');
    }
    // a file name as the source label
    t.throws(() => parseSystemInfo('[', '/tmp/si.json'), { message: /^\/tmp\/si\.json: not valid JSON/ });
    t.throws(() => parseSystemInfo('{"domains": {"w": {}}}', '/tmp/si.json'), {
      name: 'Error',
      message: /^\/tmp\/si\.json: domains\."w"\.type is missing$/,
    });
    t.throws(() => parseSystemInfo('[]', 'si.json'), { message: /^si\.json: document: expected an object, got an array$/ });
    t.throws(() => parseSystemInfo('{}'), { message: 'system info: "domains" is missing' });
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

t.test('a dom0 listed with a non-zero uuid', async (t) => {
  // dom0's spellings are compared as text (as Qubes does): `uuid:<its uuid>` is just a key
  const D0 = '11111111-1111-4111-8111-111111111111';
  const si = makeSystem({ dom0: { type: 'AdminVM', power_state: 'Running', uuid: D0 } });
  const r = decide('svc * work @adminvm allow\n', 'work', `uuid:${D0}`, 'svc', { si });
  t.equal(r.result === 'deny' && r.kind, 'no-rule');
  t.equal(r.requestedTarget, `uuid:${D0}`);
  // and the zero uuid names nothing there: it is an unknown target (→ @default)
  const z = decide('svc * work @adminvm allow\n', 'work', 'uuid:00000000-0000-0000-0000-000000000000', 'svc', { si });
  t.equal(z.requestedTarget, '@default');
  t.equal(z.result === 'deny' && z.kind, 'no-rule');
  // @adminvm is dom0 whatever its uuid
  t.equal(decide('svc * work @adminvm allow\n', 'work', '@adminvm', 'svc', { si }).result, 'allow');
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

t.test('system info: null where the type is not nullable', async (t) => {
  // SPEC §5.1: tags is an array of strings, template_for_dispvms a boolean; a
  // field of the wrong type is an error. (icon, label, uuid, power_state already reject null.)
  const rejectsNull = (field: string) => {
    try {
      systemInfoFromJson({ domains: { q: { type: 'AppVM', [field]: null } } });
    } catch (e) {
      return e instanceof SystemInfoError && new RegExp(`\\.${field}: expected`).test(e.message);
    }
    return false;
  };
  for (const field of ['icon', 'label', 'uuid', 'power_state', 'type']) t.ok(rejectsNull(field), `${field}: null is rejected`);
  for (const field of ['tags', 'template_for_dispvms']) {
    t.ok(rejectsNull(field), `${field}: null is rejected`);
  }
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
