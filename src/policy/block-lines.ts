/**
 * What qrexec-daemon is told of an allow (SPEC §3.3): the lines of the
 * result block, byte for byte as the reference prints them, and whether
 * they can reach it intact. The second is a rule that decides (an allow
 * that cannot be sent is denied), so it lives here with the evaluator;
 * render/block.ts only joins the lines.
 */
import type { AllowDecision } from './decision.js';

/** qrexec-daemon reads at most this many bytes of answer, newline included (SPEC §8). */
export const MAX_BLOCK_BYTES = 4096;

/** One line qrexec-daemon takes: printable ASCII, no newline. */
const SENDABLE_LINE = /^[\x20-\x7e]*$/;

/**
 * Why a block, given as its lines, cannot reach qrexec-daemon intact, or
 * null when it can. Names in the system info and `user=` values are free
 * text, so an allow could otherwise print what the daemon would misread:
 * bytes it does not take, more than it reads, or, through a newline inside
 * a value, a line of its own such as a second `user=`.
 */
export function unsendable(lines: readonly string[]): string | null {
  let bytes = 0;
  for (const line of lines) {
    if (!SENDABLE_LINE.test(line)) return line.includes('\n') ? 'a newline inside a value' : 'not printable ASCII';
    // once ASCII, characters and bytes count the same; +1 for the newline
    bytes += line.length + 1;
  }
  return bytes > MAX_BLOCK_BYTES ? `over ${MAX_BLOCK_BYTES} bytes` : null;
}

function pyBool(b: boolean): string {
  return b ? 'True' : 'False';
}

/**
 * What a relay qube is asked to run for a call to a RemoteVM (SPEC §3.4):
 * `RPC+REQUESTED_TARGET+SERVICE+ARG`, the target as the caller asked for it
 * (the remote side resolves it again), as Qubes writes it.
 */
export function relayedService(d: AllowDecision, dest: Extract<AllowDecision['destination'], { kind: 'remote' }>): string {
  return `${dest.transportRpc}+${d.requestedTarget}+${d.service}${d.argument}`;
}

/** The lines of the block for an allow, each `key=value`, in the reference's order. */
export function allowLines(d: AllowDecision): string[] {
  const user = d.user || 'DEFAULT';
  const autostart = pyBool(d.autostart);
  const dest = d.destination;
  switch (dest.kind) {
    case 'dom0':
      return [`user=${user}`, 'result=allow', 'target=dom0', `autostart=${autostart}`, `requested_target=${d.requestedTarget}`];
    case 'qube':
      return withTail(d, [`user=${user}`, 'result=allow', `target=${d.target}`, `target_uuid=uuid:${dest.qube.uuid}`, `autostart=${autostart}`]);
    case 'dispvm':
      return withTail(d, [`user=${user}`, 'result=allow', `target=${d.target}`, `target_uuid=@dispvm:uuid:${dest.template.uuid}`, `autostart=${autostart}`]);
    case 'remote': {
      // the relay carries the call; a rule's user= cannot apply on the remote side
      const lines = ['user=DEFAULT', 'result=allow', `target=${dest.relay.name}`, `target_uuid=uuid:${dest.relay.uuid}`, `autostart=${autostart}`];
      lines.push(`requested_target=${d.requestedTarget}`, `service=${relayedService(d, dest)}`);
      if (d.requestedSource !== null) lines.push(`policy_source=${d.requestedSource}`);
      return lines;
    }
  }
}

/** `requested_target=` and, for a relayed call, `policy_source=` (SPEC §3.3 table). */
function withTail(d: AllowDecision, lines: string[]): string[] {
  lines.push(`requested_target=${d.requestedTarget}`);
  if (d.requestedSource !== null) lines.push(`policy_source=${d.requestedSource}`);
  return lines;
}
