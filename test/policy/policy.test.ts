/**
 * Policy evaluation (SPEC §3.1–§3.4, §4.4, §5.1) through the real parser,
 * loader and evaluator, one file per topic in topics/. They run in this one
 * process: a test file costs its own start-up (ts-node, the modules), about
 * 1.5 s of CPU each, which five processes would spend for nothing. (Run
 * them with `npx tap test/policy/policy.test.ts`; naming the directory
 * runs each topic a second time on its own.)
 */
import './topics/matching.js';
import './topics/allow.js';
import './topics/ask.js';
import './topics/faults.js';
import './topics/policy-set.js';
import './topics/source-index.js';
