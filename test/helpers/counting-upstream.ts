import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/** A destination that only counts: proves a refused request never reached it. */
export interface CountingUpstream {
  port: number;
  /** TCP connections accepted. */
  connections: number;
  /** Requests (and Upgrades) parsed, each answered 200 "ok" (Upgrades are closed). */
  requests: number;
  /** performance.now() of the last connection or bytes received: a test waits for quiet before it compares counts. */
  lastActivity: number;
  close(): Promise<void>;
}

export async function startCountingUpstream(tls?: { cert: string; key: string }): Promise<CountingUpstream> {
  const answer = (_req: IncomingMessage, res: ServerResponse) => {
    counts.requests++;
    res.end('ok');
  };
  const server: Server = tls ? createHttps({ cert: tls.cert, key: tls.key }, answer) : createHttp(answer);
  const counts: CountingUpstream = {
    port: 0,
    connections: 0,
    requests: 0,
    lastActivity: 0,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server.on('connection', (socket: Duplex) => {
    counts.connections++;
    counts.lastActivity = performance.now();
    socket.on('data', () => (counts.lastActivity = performance.now()));
  });
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    counts.requests++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  counts.port = (server.address() as AddressInfo).port;
  return counts;
}
