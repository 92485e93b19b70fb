/** `qrexec-policy graph` (and the drop-in `qrexec-policy-graph`): draw who may call whom. */
import type { Argv } from 'yargs';
import { UsageError } from '../../errors.js';
import type { SubCommand } from '../command.js';
import { policyOptions, sourceOptions } from '../options.js';

export function graphOptions<T>(y: Argv<T>) {
  return (
    policyOptions(y)
      // --source a b: several values, as qrexec-policy-graph takes them (here and in the umbrella)
      .parserConfiguration({ 'parse-positional-numbers': false, 'parse-numbers': false, 'greedy-arrays': true })
      .option('policy-dir', {
        type: 'string',
        array: true,
        describe: "qrexec-policy-graph's name for one policy directory: given twice, the last one counts (as there)",
      })
  )
    .option('include-ask', { type: 'boolean', describe: 'also draw calls that ask the user (orange edges)' })
    .option('source', { type: 'string', array: true, describe: 'only calls from these qubes (names or @anyvm, @tag:T, @type:T)' })
    .option('target', { type: 'string', array: true, describe: 'only calls to these targets (as drawn: a qube, @dispvm[:X], @adminvm, @default)' })
    .option('service', { type: 'string', array: true, describe: 'only these services: SVC (any argument), SVC+ARG, or * for services no rule names' })
    .option('output', { type: 'string', describe: 'write to FILE instead of standard output' })
    .option('skip-labels', { type: 'boolean', describe: 'no service names on edges; merge equal edges' })
    .option('full-output', { type: 'boolean', describe: "label edges with SERVICE+ARG and the deciding rule's action; asks included" })
    .option('format', { type: 'string', choices: ['dot', 'json'], default: 'dot', describe: 'DOT (Graphviz) or JSON' })
    .epilog('exit status: 0 written, 1 the policy does not load or the output cannot be written, 2 usage error, 4 could not decide (no system info, or a policy directory that cannot be read)');
}

export const command: SubCommand = {
  command: 'graph',
  describe: 'draw who may call whom (DOT or JSON)',
  builder: (y) => graphOptions(y),
  examples: [
    ['--include-ask --output calls.dot', 'every allowed or asked call, as DOT'],
    ['--source work --format json', 'work\'s calls as JSON'],
  ],
  handler: async (a, io) => {
    const policyDir = a['policyDir'] as string[] | undefined;
    if (policyDir !== undefined && a['path'] !== undefined) throw new UsageError('give --path or --policy-dir, not both');
    const { runGraph } = await import('../../graph/cli.js');
    return runGraph(
      {
        ...sourceOptions(a),
        ...(policyDir === undefined ? {} : { path: policyDir.slice(-1) }),
        includeAsk: a['includeAsk'] as boolean | undefined,
        source: a['source'] as string[] | undefined,
        target: a['target'] as string[] | undefined,
        service: a['service'] as string[] | undefined,
        output: a['output'] as string | undefined,
        skipLabels: a['skipLabels'] as boolean | undefined,
        fullOutput: a['fullOutput'] as boolean | undefined,
        format: a['format'] as string | undefined,
      },
      io,
      a['$0'] === 'qrexec-policy-graph' ? 'qrexec-policy-graph' : 'qrexec-policy graph',
    );
  },
};
