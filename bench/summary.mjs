// The table of issue 17 from what the benchmarks of one `npm run bench` run
// reported (BENCH_SUMMARY files): the daemon against the floor and Qubes'
// daemon, the per-call path against `node -e 0`, in-process evaluation.
// Rows whose benchmark did not run are left out.

const num = (x) => Math.round(x).toLocaleString('en-US');
const ratio = (x) => x.toFixed(2);

/** @returns {string | null} the Markdown table, or null when nothing to show */
export function summaryTable({ daemon, exec }) {
  const lines = ['| | ours | reference | the floor | ours / floor | target |', '| --- | ---: | ---: | ---: | ---: | --- |'];
  if (daemon) {
    // answered requests only: a server that refuses connections is not fast
    const rps = (r) => (r.requests - r.errors) / r.seconds;
    const find = (shape, server, rules, clients) => daemon.find((r) => r.shape.startsWith(shape) && r.server === server && r.rules === rules && r.clients === clients);
    const ruleCounts = [...new Set(daemon.filter((r) => r.shape.startsWith('system info file')).map((r) => r.rules))];
    for (const n of ruleCounts) {
      const ours = find('system info file', 'ours', n, 8);
      const floor = find('system info file', 'floor', n, 8);
      const ref = find('fake qubesd', "Qubes' daemon", n, 8);
      if (!ours) continue;
      lines.push(
        `| daemon, ${num(n)} rules, 8 clients (req/s) | ${num(rps(ours))} | ${ref ? num(rps(ref)) + ' (via qubesd)' : 'not run'} | ${floor ? num(rps(floor)) : ''} | ${floor ? ratio(rps(ours) / rps(floor)) : ''} | ≥ 0.8 |`,
      );
    }
    const p50 = ruleCounts.map((n) => [find('system info file', 'ours', n, 1), find('system info file', 'floor', n, 1)]).filter(([o, f]) => o && f);
    if (p50.length)
      lines.push(
        `| daemon p50, 1 client, ${ruleCounts.map(num).join(' / ')} rules | ${p50.map(([o]) => o.p50_ms.toFixed(3)).join(' / ')} ms | | ${p50.map(([, f]) => f.p50_ms.toFixed(3)).join(' / ')} ms | ${p50.map(([o, f]) => ratio(o.p50_ms / f.p50_ms)).join(' / ')} | ≤ 1.5 |`,
      );
    for (const n of ruleCounts) {
      const ours = find('fake qubesd', 'ours', n, 8);
      const ref = find('fake qubesd', "Qubes' daemon", n, 8);
      if (!ours) continue;
      lines.push(
        `| production shape: system info from a fake qubesd, ${num(n)} rules, 8 clients (req/s) | ${num(rps(ours))} | ${ref ? num(rps(ref)) : 'not run'} | | ${ref ? `${ratio(rps(ours) / rps(ref))} × Qubes'` : ''} | |`,
      );
    }
  }
  if (exec) {
    const targets = { 'rules-10': '≤ 1.10', real: '≤ 1.15', 'rules-10000': '≤ 1.25' };
    const names = { 'rules-10': 'per call, 10 rules', 'rules-1000': 'per call, 1,000 rules', real: `per call, the shipped ${exec.real} tree`, 'rules-10000': 'per call, 10,000 rules' };
    for (const key of ['rules-10', 'rules-1000', 'real', 'rules-10000']) {
      const c = exec.calls[key];
      if (!c) continue;
      const perRound = c.paired === undefined ? '' : ` (per round ${c.paired.toFixed(3)})`;
      lines.push(`| ${names[key]} (median of ${exec.runs}) | ${c.ms.toFixed(1)} ms | | \`node -e 0\` ${exec.base.toFixed(1)} ms | ${c.ratio.toFixed(3)}${perRound} | ${targets[key] ?? ''} |`);
    }
    for (const [n, cells] of Object.entries(exec.evaluate)) {
      const text = ['allow', 'deny', 'ask'].filter((k) => cells[k] !== undefined).map((k) => `${k} ${cells[k].toFixed(2)}`).join(', ');
      lines.push(`| in-process evaluate, ${num(Number(n))} rules (µs per request) | ${text} | | | | |`);
    }
  }
  return lines.length > 2 ? lines.join('\n') : null;
}
