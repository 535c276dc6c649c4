import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { openSocket } from '../helpers/raw.js';

/**
 * A client that leaves while the destination is still thinking is the client's doing: the
 * record says client_gone. It used to say internal: the abort that the client's close sent to
 * undici came back as a destination error and overwrote it (about 1 in 40 soak requests).
 */
describe('forward: a client that leaves before the response head', () => {
  let dest: Server;
  let port: number;
  let proxy: CliProxy;
  before(async () => {
    dest = createServer((_req, res) => setTimeout(() => res.end('late'), 400));
    await new Promise<void>((r) => dest.listen(0, '127.0.0.1', r));
    port = (dest.address() as AddressInfo).port;
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', String(port)]);
  });
  after(async () => {
    await proxy?.stop();
    dest?.closeAllConnections();
    await new Promise((r) => dest?.close(r));
  });

  for (const how of ['end', 'reset'] as const) {
    it(`is recorded as client_gone, not internal (${how})`, async () => {
      const s = await openSocket(proxy.port);
      const path = `/leave-${how}`;
      s.write(`GET http://127.0.0.1:${port}${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      await new Promise((r) => setTimeout(r, 100));
      if (how === 'reset') s.resetAndDestroy();
      else s.destroy();
      const line = await proxy.waitForLog((l) => typeof l.url === 'string' && l.url.endsWith(path));
      assert.equal(line.error, 'client_gone', JSON.stringify(line));
    });
  }
});
