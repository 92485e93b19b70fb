// Generator for benchmark policy trees: a realistic mix of services,
// arguments, qube names, tags, types, @anyvm, @dispvm[:X], redirects, asks
// (so target collection has work to do) and default denies, over a system
// of N qubes. Deterministic for a given seed.
import * as fs from 'node:fs';
import * as path from 'node:path';

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

function uuid(r) {
  const h = () => Math.floor(r() * 16).toString(16);
  const part = (n) => Array.from({ length: n }, h).join('');
  return `${part(8)}-${part(4)}-4${part(3)}-8${part(3)}-${part(12)}`;
}

/** A system of `qubes` qubes: dom0, templates, disposable templates, app qubes, sys qubes. */
export function generateSystem(qubes, seed = 7) {
  const r = rng(seed);
  const domains = {
    dom0: { type: 'AdminVM', uuid: '00000000-0000-0000-0000-000000000000', power_state: 'Running', tags: [], icon: 'adminvm-black', label: 'black', guivm: null },
  };
  const tags = ['work', 'personal', 'vault', 'web', 'sys', 'dev', 'finance', 'media'];
  const names = [];
  for (let i = 0; domains && Object.keys(domains).length < qubes; i++) {
    const kind = i < 3 ? 'tpl' : i < 6 ? 'dvm' : i < 10 ? 'sys' : 'app';
    const name = kind === 'tpl' ? `fedora-${40 + i}` : kind === 'dvm' ? `dvm-${i}` : kind === 'sys' ? `sys-${i}` : `app-${i}`;
    const t = tags[Math.floor(r() * tags.length)];
    domains[name] = {
      type: kind === 'tpl' ? 'TemplateVM' : 'AppVM',
      tags: [t, ...(r() < 0.3 ? [tags[Math.floor(r() * tags.length)]] : [])],
      template_for_dispvms: kind === 'dvm',
      default_dispvm: kind === 'tpl' ? null : 'dvm-3',
      power_state: r() < 0.5 ? 'Running' : 'Halted',
      uuid: uuid(r),
      icon: 'appvm-blue',
      label: 'blue',
      guivm: 'dom0',
      internal: false,
    };
    names.push(name);
  }
  return { domains };
}

/**
 * `rules` rule lines spread over files like a real dom0: a user file, config
 * files, and defaults; services mostly specific, some `*` rules.
 */
export function generatePolicy(rules, systemInfo, seed = 11) {
  const r = rng(seed);
  const names = Object.keys(systemInfo.domains).filter((n) => n !== 'dom0');
  const tags = ['work', 'personal', 'vault', 'web', 'sys', 'dev', 'finance', 'media'];
  const pick = (a) => a[Math.floor(r() * a.length)];
  const services = Math.max(5, Math.floor(rules / 12));
  const svc = (i) => `bench.Service${i}`;
  const source = () => {
    const x = r();
    return x < 0.45 ? pick(names) : x < 0.7 ? `@tag:${pick(tags)}` : x < 0.8 ? '@type:AppVM' : x < 0.97 ? '@anyvm' : '*';
  };
  const target = () => {
    const x = r();
    return x < 0.45 ? pick(names) : x < 0.6 ? `@tag:${pick(tags)}` : x < 0.7 ? '@dispvm' : x < 0.75 ? '@dispvm:dvm-3' : x < 0.8 ? '@default' : '@anyvm';
  };
  const action = (tgt) => {
    const x = r();
    if (tgt === '@default') return x < 0.5 ? `allow target=${pick(names)}` : 'ask';
    if (x < 0.35) return 'allow';
    if (x < 0.5) return `allow target=${pick(names)}`;
    if (x < 0.7) return pick(['ask', `ask default_target=${pick(names)}`]);
    return pick(['deny', 'deny notify=no']);
  };
  const lines = [];
  for (let i = 0; lines.length < rules - services; i++) {
    const s = svc(Math.floor(r() * services));
    const arg = r() < 0.8 ? '*' : `+arg${Math.floor(r() * 5)}`;
    const tgt = target();
    lines.push(`${s}\t${arg}\t${source()}\t${tgt}\t${action(tgt)}`);
  }
  // each service ends with a default, as shipped policy does
  for (let i = 0; i < services; i++) lines.push(`${svc(i)}\t*\t@anyvm\t@anyvm\tdeny`);
  const third = Math.floor(lines.length / 3);
  return {
    '30-user.policy': '# generated user rules\n' + lines.slice(0, third).join('\n') + '\n',
    '50-config-bench.policy': lines.slice(third, 2 * third).join('\n') + '\n',
    '90-default.policy': lines.slice(2 * third).join('\n') + '\n* * @anyvm @anyvm deny\n',
  };
}

/** Write a tree to `dir`: policy.d/, legacy/ (empty) and system-info.json. */
export function writeTree(dir, { rules, qubes, seed = 1 }) {
  const si = generateSystem(qubes, seed);
  const files = generatePolicy(rules, si, seed + 1);
  fs.mkdirSync(path.join(dir, 'policy.d'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'legacy'), { recursive: true });
  for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(dir, 'policy.d', n), c);
  fs.writeFileSync(path.join(dir, 'system-info.json'), JSON.stringify(si));
  const qubeNames = Object.keys(si.domains).filter((n) => n !== 'dom0');
  return { policy: path.join(dir, 'policy.d'), legacy: path.join(dir, 'legacy'), systemInfo: path.join(dir, 'system-info.json'), qubeNames };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, rules = '1000', qubes = '200'] = process.argv.slice(2);
  if (!dir) {
    console.error('usage: gen-policy.mjs DIR [RULES] [QUBES]');
    process.exit(2);
  }
  const t = writeTree(dir, { rules: Number(rules), qubes: Number(qubes) });
  console.log(JSON.stringify(t));
}
