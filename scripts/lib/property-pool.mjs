/**
 * The worker pool behind `npm run fuzz` and `npm run difftest`: bundle a
 * TypeScript entry (which exports `runChunk`, test/property/lib/chunk.ts)
 * with esbuild so that plain node runs it, then hand chunks of work to J
 * worker processes. A worker that stops reporting for the hang timeout is
 * killed, its chunk counted as a hang, and a new worker takes over; a worker
 * that dies under a chunk counts a crash.
 */
import { build } from 'esbuild';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Bundle `entry` into a temporary directory (removed at exit), with optional esbuild plugins; returns the bundle's path. */
export async function bundleEntry(entry, prefix, plugins = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const outfile = path.join(dir, 'entry.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: 'inline',
    // some bundled CommonJS dependencies call require() for Node built-ins
    banner: { js: "import { createRequire as __qpCreateRequire } from 'node:module'; const require = __qpCreateRequire(import.meta.url);" },
    logLevel: 'warning',
    plugins,
  });
  return outfile;
}

/**
 * Run chunks until `next()` returns null. `script` is the runner's own file
 * (forked with `--worker BUNDLE`); `record(job, result)` gets every result,
 * hangs and worker deaths included.
 */
export function runPool({ script, outfile, jobs, hangTimeoutS, env, next, record }) {
  return new Promise((resolveAll) => {
    let running = 0;
    let drained = false;
    const startWorker = () => {
      const child = fork(script, ['--worker', outfile], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      running++;
      let job = null;
      let watchdog = null;
      const arm = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          // no progress: count a hang for the chunk, and carry on with a fresh worker
          record(job, { runs: 0, inputs: 0, ms: hangTimeoutS * 1000, failure: { category: 'hang', message: `no progress for ${hangTimeoutS} s`, seed: job.seed, path: '', counterexample: '' } });
          job = null;
          child.kill('SIGKILL');
        }, hangTimeoutS * 1000);
      };
      const give = () => {
        job = drained ? null : next();
        if (job === null) {
          drained = true;
          clearTimeout(watchdog);
          child.send({ type: 'stop' });
          return;
        }
        arm();
        child.send({ type: 'run', ...job });
      };
      child.on('message', (m) => {
        if (m.type === 'ready') give();
        else if (m.type === 'tick') arm();
        else if (m.type === 'done') {
          record(job, m.result);
          give();
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(watchdog);
        running--;
        if (job !== null) {
          // the worker died under a chunk: a crash (out of memory, a native fault, process.exit)
          record(job, { runs: 0, inputs: 0, ms: 0, failure: { category: 'crash', message: `worker exited (${signal ?? code})`, seed: job.seed, path: '', counterexample: '' } });
          job = null;
        }
        if (!drained) startWorker();
        else if (running === 0) resolveAll();
      });
    };
    for (let i = 0; i < jobs; i++) startWorker();
  });
}

/** The worker side: run chunks of the bundle's `runChunk` as the pool sends them. */
export async function workerMain(outfile) {
  const { runChunk } = await import(outfile);
  // the runner is gone (killed, or stopped by a signal): stop too
  process.on('disconnect', () => process.exit(1));
  process.on('message', async (m) => {
    if (m.type === 'stop') process.exit(0);
    const result = await runChunk(m.id, m.runs, m.seed, () => process.send({ type: 'tick' }), m.path);
    process.send({ type: 'done', result });
  });
  process.send({ type: 'ready' });
}
