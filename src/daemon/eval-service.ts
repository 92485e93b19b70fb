/**
 * `policy.EvalSimple` and `policy.EvalGUI` (SPEC §8): a qube asks whether
 * SOURCE may call the queried service on TARGET; the answer is
 * `result=allow` or `result=deny`, evaluated as just-evaluate with
 * assume-yes. EvalGUI answers only the GUI qube of both SOURCE and TARGET.
 * Anything wrong closes the call without an answer, with one log line.
 */
import { SystemInfoError } from '../policy/system-info.js';
import { answerWith, withSources, type Answer, type Services } from './decide.js';
import { parsePayload, type ServiceCall } from './eval-protocol.js';
import { quoted } from './protocol.js';

export interface EvalService {
  name: string;
  /** Require the tag `guivm-REMOTE` on both SOURCE and TARGET. */
  checkGui: boolean;
}

export const EVAL_SIMPLE: EvalService = { name: 'policy.EvalSimple', checkGui: false };
export const EVAL_GUI: EvalService = { name: 'policy.EvalGUI', checkGui: true };

/** The answer to a complete call, or null when it is refused (logged here). */
export function evalAnswer(svc: Services, service: EvalService, call: ServiceCall): Answer | null {
  const { log } = svc;
  if (call.invoked !== service.name) {
    log.log('error', `${service.name} invoked with incorrect name ${quoted(call.invoked)} by ${quoted(call.remote)}`);
    return null;
  }
  const queried = call.queried;
  if (queried === null || queried === '' || queried.startsWith('+')) {
    log.log('warn', `${service.name} requires an argument (the service to query), but ${quoted(call.remote)} did not provide one`);
    return null;
  }
  const names = parsePayload(call.payload);
  if ('reason' in names) {
    log.log('warn', `${service.name}: ${quoted(call.remote)} sent ${names.reason}`);
    return null;
  }
  const q = {
    source: names.source,
    target: names.target,
    serviceAndArg: queried,
    requestedSource: null,
    assumeYesForAsk: true,
    justEvaluate: true,
  };
  return withSources(svc, (policy, si) => {
    if (service.checkGui) {
      if (si instanceof SystemInfoError) {
        log.log('error', `${service.name}: cannot check the caller ${quoted(call.remote)}: ${si.message}`);
        return null;
      }
      const tag = `guivm-${call.remote}`;
      if (![names.source, names.target].every((n) => si.get(n)?.tags.includes(tag) ?? false)) {
        log.log('warn', `${service.name} can only be invoked by the GUI qube of both the source and the target, not ${quoted(call.remote)}`);
        return null;
      }
    }
    return answerWith(svc, q, policy, si);
  });
}
