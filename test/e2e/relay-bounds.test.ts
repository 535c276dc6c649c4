import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { openSocket, rawExchange, readUntil, statusOf } from '../helpers/raw.js';

const MiB = 1024 * 1024;

/** A raw TCP destination whose behaviour per connection the test decides. */
async function rawDestination(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

describe('relay bounds', () => {
  let flood: Awaited<ReturnType<typeof rawDestination>>;
  let resetting: Awaited<ReturnType<typeof rawDestination>>;
  let proxy: CliProxy;
  let inspect: CliProxy;
  let caDir: string;
  before(async () => {
    // A response without a length: its end is the close of the connection (RFC 9112 section 6.3), 128 MiB of it.
    flood = await rawDestination((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
        const chunk = Buffer.alloc(MiB, 'x');
        let left = 128;
        const pump = () => {
          while (left > 0) {
            left--;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
          socket.end();
        };
        pump();
      });
    });
    // Accepts, then resets 100 ms later without a word: the dialled connection dies while nothing has taken it yet.
    resetting = await rawDestination((socket) => void setTimeout(() => socket.resetAndDestroy(), 100));
    caDir = await mkdtemp(join(tmpdir(), 'egk-bounds-ca-'));
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${flood.port},${resetting.port}`]);
    inspect = await startCli(['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', caDir, '--allow-private', '--connect-ports', `${flood.port},${resetting.port}`]);
  });
  after(async () => {
    await proxy?.stop();
    await inspect?.stop();
    await rm(caDir, { recursive: true, force: true });
    flood?.server.close();
    resetting?.server.close();
  });

  it('a client that stops reading a response without a length: the proxy gives up at its bound instead of buffering it all', async () => {
    const pid = proxy.child.pid!;
    const before = await rssMiB(pid);
    const client = await openSocket(proxy.port);
    client.write(`GET http://127.0.0.1:${flood.port}/ HTTP/1.1\r\nHost: 127.0.0.1:${flood.port}\r\n\r\n`);
    client.pause(); // never reads: the kernel buffers fill, then the proxy's
    const line = await proxy.waitForLog((l) => l.event === 'http' && l.target === `127.0.0.1:${flood.port}`, 30_000);
    client.destroy();
    assert.equal(line.error, 'client_slow');
    assert.ok((line.bytes_down as number) < 64 * MiB, `${line.bytes_down} bytes were taken from the destination`);
    assert.ok((await rssMiB(pid)) - before < 96, 'the proxy did not keep the response in memory');
  });

  it('a dialled connection the destination resets before anything took it over does not take the proxy down', async () => {
    // Inspect answers CONNECT, then waits for the client's ClientHello with the destination already dialled.
    for (let i = 0; i < 3; i++) {
      const client = await openSocket(inspect.port);
      client.on('error', () => undefined);
      client.write(`CONNECT 127.0.0.1:${resetting.port} HTTP/1.1\r\nHost: 127.0.0.1:${resetting.port}\r\n\r\n`);
      assert.match(await readUntil(client, '\r\n\r\n'), /^HTTP\/1\.1 200/);
      await new Promise((r) => setTimeout(r, 300));
      client.destroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(inspect.child.exitCode, null, `the proxy exited: ${inspect.stderr()}`);
    const r = await rawExchange(inspect.port, `GET http://127.0.0.1:${flood.port}/ HTTP/1.1\r\nHost: 127.0.0.1:${flood.port}\r\nConnection: close\r\n\r\n`, 500);
    assert.equal(statusOf(r), 200, 'the proxy still serves');
  });
});
