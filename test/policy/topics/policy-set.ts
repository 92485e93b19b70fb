/**
 * The rule sets evaluate() reads: `--legacy` (SPEC §4.4, LegacyPolicy),
 * the policy.d index by service (Policy, loadPolicySet), and the system
 * info (SPEC §5.1).
 */
import t, { type Test } from 'tap';
import { type DenyDecision, type Decision } from '../../../src/policy/decision.js';
import { LegacyPolicy, loadPolicySet, Policy } from '../../../src/policy/policy.js';
import { parseSystemInfo, SystemInfo, SystemInfoError, systemInfoFromJson } from '../../../src/policy/system-info.js';
import { decide, makeSystem, memPolicy, LEGACY_DIR, memLegacy, memTree, POLICY_DIR } from '../../helpers/policy.js';

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
