import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { rawExchange, statusOf } from '../helpers/raw.js';

/**
 * A destination that answers the first request on each connection with keep-alive, then
 * closes that connection when the next request arrives on it without answering: what a
 * destination whose keep-alive timer fires as the request is on its way looks like.
 */
async function startClosingDestination(): Promise<{ server: Server; port: number; connections: () => number }> {
  const served = new WeakSet<Socket>();
  let connections = 0;
  const server = createServer((req, res) => {
    if (served.has(req.socket)) return void req.socket.destroy();
    served.add(req.socket);
    res.end('ok');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

describe('a request on a pooled connection the destination has just closed', () => {
  let dest: Awaited<ReturnType<typeof startClosingDestination>>;
  let proxy: CliProxy;
  before(async () => {
    dest = await startClosingDestination();
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', String(dest.port)]);
  });
  after(async () => {
    await proxy?.stop();
    dest?.server.closeAllConnections();
    dest?.server.close();
  });

  const get = (path: string) =>
    rawExchange(proxy.port, `GET http://127.0.0.1:${dest.port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${dest.port}\r\nConnection: close\r\n\r\n`);

  it('is sent once more on a new connection (idempotent, no body): 200, not 502', async () => {
    assert.equal(statusOf(await get('/first')), 200);
    assert.equal(dest.connections(), 1);
    // The proxy reuses its pooled connection, which the destination closes on this request.
    const second = await get('/second');
    assert.equal(statusOf(second), 200, second);
    assert.equal(dest.connections(), 2);
    const line = await proxy.waitForLog((l) => l.event === 'http' && String(l.url).endsWith('/second'));
    assert.equal(line.status, 200);
    assert.equal(line.error, null);
  });

  it('a POST is not sent twice: the failure is answered', async () => {
    await get('/warm');
    const r = await rawExchange(proxy.port, `POST http://127.0.0.1:${dest.port}/post HTTP/1.1\r\nHost: 127.0.0.1:${dest.port}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi`);
    assert.equal(statusOf(r), 502, r);
  });
});
