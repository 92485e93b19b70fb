#!/usr/bin/env node
'use strict';
// Makes qrexec-policy-exec's V8 code cache (called by scripts/build.mjs):
// compiles the bundle (one function expression) as the launcher does,
// runs it once per training call in this one process, then writes the
// bytecode of every function those calls ran. A function missing from the
// cache is compiled when a call first needs it; one in it is read back by
// every call: which calls to train on is a measured choice
// (scripts/build.mjs).
//
// V8 takes a cache only under the flags it was made with, and the launcher
// compiles under the defaults; the bundle tunes V8 only around its policy
// load (src/io/v8-flags.ts), so the cache is made under the defaults, and
// a fresh node is asked whether it takes it.
//
//   node scripts/train-code-cache.cjs '{"bundle":…,"cache":…,"calls":[[arg,…],…]}'
const fs = require('fs');
const vm = require('vm');
const path = require('path');
const { spawnSync } = require('child_process');

const { bundle, cache, calls } = JSON.parse(process.argv[2]);
const file = path.resolve(bundle);
const script = new vm.Script(fs.readFileSync(file, 'utf8'), { filename: file });

async function train() {
  for (const args of calls) {
    process.argv = [process.argv[0], file, ...args];
    const mod = { exports: {} };
    script.runInThisContext().call(mod.exports, mod.exports, require, mod, file, path.dirname(file));
    // a call on a system-info file settles in promise jobs; one turn of the loop sees it done
    await new Promise((resolve) => setImmediate(resolve));
    const status = process.exitCode;
    // 0 allowed, 1 denied: a complete call either way; anything else means the bundle is broken
    if (status !== 0 && status !== 1) throw new Error(`training call ${args.join(' ')} exited ${status}`);
    process.exitCode = 0;
  }
  fs.writeFileSync(cache, script.createCachedData());
  // a fresh process, under the defaults as the launcher is, must take it
  const check = `const fs = require('fs'); const s = new (require('vm').Script)(fs.readFileSync(${JSON.stringify(file)}, 'utf8'), { filename: ${JSON.stringify(file)}, cachedData: fs.readFileSync(${JSON.stringify(cache)}) }); process.exitCode = s.cachedDataRejected ? 3 : 0;`;
  if (spawnSync(process.execPath, ['-e', check]).status !== 0) throw new Error('a fresh node refuses the code cache just made');
}

train().catch((err) => {
  process.stderr.write(`train-code-cache: ${err.message}\n`);
  process.exitCode = 1;
});
