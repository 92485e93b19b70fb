/**
 * Matching every SPEC §3.1 token in the SOURCE and TARGET columns, and
 * request validation (SPEC §3.1, §3.3, §3.4), through the real parser, loader
 * and evaluator.
 */
import t from 'tap';
import { type DenyDecision } from '../../../src/policy/decision.js';
import { checkServiceArg, parseRequest, splitServiceArg } from '../../../src/policy/request.js';
import { SystemInfo } from '../../../src/policy/system-info.js';
import { decide, makeSystem, uuidOf } from '../../helpers/policy.js';

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
