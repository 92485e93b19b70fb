/**
 * The Qubes result block (SPEC §3.3), byte for byte as the reference prints
 * it; qrexec-daemon parses it, so every line and its order matter.
 */
import type { AllowDecision, Decision } from '../policy/decision.js';

const DENY = 'result=deny';

/** qrexec-daemon reads at most this many bytes of answer, newline included (SPEC §8). */
export const MAX_BLOCK_BYTES = 4096;

/** What qrexec-daemon accepts: printable ASCII lines. */
const SENDABLE = /^[\x20-\x7e\n]*$/;

/**
 * Why a block (without its newline) cannot reach qrexec-daemon intact, or
 * null when it can. Names in the system info and `user=` values are free
 * text, so an allow could otherwise print what the daemon would misread:
 * bytes it does not take, more than it reads, or (through a newline inside
 * a value) a line of its own, such as a second `user=`.
 */
export function unsendable(block: string): string | null {
  // checked first: once ASCII, characters and bytes count the same
  if (!SENDABLE.test(block)) return 'not printable ASCII';
  if (block.length + 1 > MAX_BLOCK_BYTES) return `over ${MAX_BLOCK_BYTES} bytes`;
  const keys = new Set<string>();
  for (const line of block.split('\n')) {
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    if (eq < 1 || keys.has(key)) return `a newline inside a value makes the line ${JSON.stringify(line)}`;
    keys.add(key);
  }
  return null;
}

function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/** The block for an allow (without the trailing newline). */
export function allowBlock(d: AllowDecision): string {
  const user = d.user || 'DEFAULT';
  const autostart = pyBool(d.autostart);
  const dest = d.destination;
  const lines: string[] = [];
  switch (dest.kind) {
    case 'dom0':
      return [`user=${user}`, 'result=allow', 'target=dom0', `autostart=${autostart}`, `requested_target=${d.requestedTarget}`].join('\n');
    case 'qube':
      lines.push(`user=${user}`, 'result=allow', `target=${d.target}`, `target_uuid=uuid:${dest.qube.uuid}`);
      break;
    case 'dispvm':
      lines.push(`user=${user}`, 'result=allow', `target=${d.target}`, `target_uuid=@dispvm:uuid:${dest.template.uuid}`);
      break;
    case 'remote':
      // the relay carries the call; a rule's user= cannot apply on the remote side
      lines.push('user=DEFAULT', 'result=allow', `target=${dest.relay.name}`, `target_uuid=uuid:${dest.relay.uuid}`);
      break;
  }
  lines.push(`autostart=${autostart}`, `requested_target=${d.requestedTarget}`);
  if (dest.kind === 'remote') lines.push(`service=${dest.transportRpc}+${dest.remote.name}+${d.service}${d.argument}`);
  if (d.requestedSource !== null) lines.push(`policy_source=${d.requestedSource}`);
  return lines.join('\n');
}

/**
 * The block for any decision. An `ask` here is one nobody answered (no agent,
 * or --just-evaluate): it is a deny.
 */
export function resultBlock(d: Decision): string {
  return d.result === 'allow' ? allowBlock(d) : DENY;
}
