// Shared helpers for the benchmarks: timing child processes, medians, and a
// minimal fake qubesd (real unix socket, real wire protocol) for exec runs.
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Wall time of one process run in ms (spawnSync; stdout/stderr discarded). */
export function timeRun(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore', ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (opts.expectStatus !== undefined && r.status !== opts.expectStatus)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}, expected ${opts.expectStatus}`);
  return ms;
}

/**
 * Run every command `runs` times, interleaved (a, b, c, a, b, c, …) so that
 * machine noise hits all of them alike; return the medians in ms.
 */
export function interleaved(commands, runs) {
  const times = commands.map(() => []);
  for (let i = 0; i < runs; i++) {
    commands.forEach((c, k) => times[k].push(timeRun(c.cmd, c.args, c.opts)));
  }
  return times.map((t) => ({ median: median(t), min: Math.min(...t), runs: t.length }));
}

/** A fake qubesd answering admin.vm.Start / CreateDisposable; the bench runs it in-process. */
export function startFakeQubesd(socketPath) {
  const server = net.createServer({ allowHalfOpen: true }, (conn) => {
    const chunks = [];
    conn.on('data', (b) => chunks.push(b));
    conn.on('error', () => {});
    conn.on('end', () => {
      const header = Buffer.concat(chunks).toString('latin1').split('\0')[0];
      const method = header.split(' ')[0].split('+')[0];
      if (method === 'admin.vm.CreateDisposable') conn.end('0\0uuid:dddddddd-0000-4000-8000-000000000001');
      else conn.end('0\0');
    });
  });
  return new Promise((resolve) => server.listen(socketPath, () => resolve(server)));
}
