/**
 * A fake policy agent socket service in a temp "rpc dir": `policy.Ask` and
 * `policy.Notify` unix sockets that record the header and JSON they receive
 * and answer with a canned reply (or close without one).
 */
import * as net from 'node:net';
import * as path from 'node:path';

export interface AgentCall {
  service: string;
  header: string;
  params: Record<string, unknown>;
}

export interface FakeAgent {
  rpcDir: string;
  calls: AgentCall[];
  close(): Promise<void>;
}

/** A reply string, `null` to close without answering, or `'hang'` to never answer. */
export async function startFakeAgent(rpcDir: string, replies: { ask?: string | null; notify?: string }): Promise<FakeAgent> {
  const calls: AgentCall[] = [];
  const servers: net.Server[] = [];
  const open = new Set<net.Socket>();
  for (const [service, reply] of [
    ['policy.Ask', replies.ask],
    ['policy.Notify', replies.notify ?? ''],
  ] as const) {
    if (reply === undefined) continue;
    const server = net.createServer({ allowHalfOpen: true }, (conn) => {
      open.add(conn);
      conn.on('close', () => open.delete(conn));
      const chunks: Buffer[] = [];
      conn.on('data', (b) => chunks.push(b));
      conn.on('error', () => {});
      conn.on('end', () => {
        const data = Buffer.concat(chunks).toString('latin1');
        const nul = data.indexOf('\0');
        calls.push({ service, header: data.slice(0, nul), params: JSON.parse(data.slice(nul + 1)) });
        if (reply === null) conn.destroy();
        else if (reply !== 'hang') conn.end(reply);
      });
    });
    await new Promise<void>((resolve) => server.listen(path.join(rpcDir, service), resolve));
    servers.push(server);
  }
  return {
    rpcDir,
    calls,
    close: () => {
      for (const c of open) c.destroy();
      return Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
    },
  };
}
