/**
 * The plain listener reads CONNECT heads itself (listeners/plain-front.ts) and gives every other
 * connection to Node's HTTP server: what it answers must be what that server answered, and the
 * bounds it keeps (header timeout, drain) must hold for the connections it holds.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startProxy, type ProxyHandle } from '../../../src/index.js';
import { startEchoHost } from '../../helpers/fronting.js';
import { expectHeadTimeout, nextRecord } from '../../helpers/head-front.js';
import { openSocket, rawExchange, readUntil, statusOf } from '../../helpers/raw.js';

const HEADERS_MS = 400;

describe('plain listener: CONNECT heads read without the HTTP server', () => {
  let echo: Awaited<ReturnType<typeof startEchoHost>>;
  let proxy: ProxyHandle;
  before(async () => {
    echo = await startEchoHost();
    proxy = await startProxy({
      listen: '127.0.0.1:0',
      admin: 'off',
      policy: { allowPrivate: true, connectPorts: [echo.port] },
      timeouts: { headers: `${HEADERS_MS}ms` },
    });
  });
  after(async () => {
    await proxy?.close(0);
    await echo?.close();
  });

  it('a head and the first tunnel bytes in one write: 200, and those bytes reach the destination first', async () => {
    const s = await openSocket(proxy.address.port);
    s.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: 127.0.0.1:${echo.port}\r\n\r\nfirst-bytes|`);
    const got = await readUntil(s, 'first-bytes|');
    assert.equal(statusOf(got), 200, got);
    s.write('more');
    assert.match(await readUntil(s, 'more'), /more$/);
    s.destroy();
  });

  it('a head written a few bytes at a time (within the header timeout): 200 and a working tunnel', async () => {
    const s = await openSocket(proxy.address.port);
    const head = `CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nUser-Agent: slow\r\n\r\n`;
    for (let i = 0; i < head.length; i += 9) {
      s.write(head.slice(i, i + 9));
      await sleep(5);
    }
    assert.equal(statusOf(await readUntil(s, '\r\n\r\n')), 200);
    s.write('ping');
    assert.match(await readUntil(s, 'ping'), /ping$/);
    s.destroy();
  });

  it('a CONNECT head that stops half-way: 408 at the header timeout and a request_timeout record', async () => {
    const records = proxy.recordStream({ replay: false });
    await expectHeadTimeout(await openSocket(proxy.address.port), records, HEADERS_MS);
  });

  it('a CONNECT head trickled a line at a time (more reads than the front takes) is left to the HTTP server: 408 past the timeout', async () => {
    const records = proxy.recordStream({ replay: false });
    const s = await openSocket(proxy.address.port);
    const started = performance.now();
    s.write('CONNECT 127.0.0.1:1 HTTP/1.1\r\n');
    const timer = setInterval(() => s.writable && s.write('X-a: b\r\n'), 50);
    try {
      const res = await readUntil(s, '\r\n\r\n', 5000);
      assert.equal(statusOf(res), 408, res);
      assert.ok(performance.now() - started >= HEADERS_MS - 50);
    } finally {
      clearInterval(timer);
      s.destroy();
    }
    const r = await nextRecord(records, 'client_error');
    assert.equal(r.error, 'request_timeout');
  });

  it('a client that ends the connection inside a CONNECT head: 400 bad_request, as Node answers it', async () => {
    const res = await rawExchange(proxy.address.port, Buffer.from(''), 100).catch(() => '');
    assert.equal(res, '');
    const s = await openSocket(proxy.address.port);
    s.end('CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x');
    const got = await readUntil(s, '\r\n\r\n');
    assert.equal(statusOf(got), 400, got);
    assert.match(got, /Proxy-Status: egresskit; error=/);
    s.destroy();
  });

  it('heads it leaves to the HTTP server get that server answers (bare LF, obs-fold, Transfer-Encoding, oversize)', async () => {
    const cases: Array<[string, number]> = [
      [`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\nHost: x\n\n`, 400],
      [`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nX: a\r\n b\r\n\r\n`, 400],
      [`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n`, 400],
      [`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      [`CONNECT 127.0.0.1:${echo.port} HTTP/2.0\r\n\r\n`, 400],
    ];
    for (const [head, status] of cases) {
      const res = await rawExchange(proxy.address.port, head);
      assert.equal(statusOf(res), status, `${JSON.stringify(head.slice(0, 60))}: ${res}`);
    }
    // And a head Node reads, with its bytes pushed back: a keep-alive GET answered in full.
    const res = await rawExchange(proxy.address.port, 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(res, /this is an egress proxy, not a web server/);
  });

  it('a drain closes connections still waiting for their head at once, not at the header timeout', { timeout: 15_000 }, async () => {
    const p = await startProxy({ listen: '127.0.0.1:0', admin: 'off', policy: { allowPrivate: true }, timeouts: { headers: '30s' } });
    const s = await openSocket(p.address.port);
    s.write('CONNECT 127.0.0.1:1 HTTP/1.1\r\n');
    await sleep(50);
    const started = performance.now();
    const closed = once(s, 'close');
    await p.close(5000);
    await closed;
    assert.ok(performance.now() - started < 2000, `closed after ${Math.round(performance.now() - started)} ms`);
  });
});

describe('plain listener: a head in many reads goes to the HTTP server (no rescan per byte)', () => {
  it('8 reads of a head: still read here; a ninth: handed on with every byte', async () => {
    const { createServer } = await import('node:http');
    const { createPlainFront } = await import('../../../src/listeners/plain-front.js');
    const http = createServer();
    const handed: Buffer[] = [];
    const connects: string[] = [];
    http.on('connection', (socket: import('node:net').Socket) => socket.on('data', (d: Buffer) => handed.push(d)));
    const { front } = createPlainFront(http, { maxHeaderBytes: 16 * 1024, headersTimeoutMs: 10_000 }, {
      connect: (socket, head) => {
        connects.push(head.url);
        socket.destroy();
      },
      clientError: (socket) => socket.destroy(),
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    const port = (front.address() as import('node:net').AddressInfo).port;
    const send = async (pieces: string[]) => {
      const s = await openSocket(port);
      for (const p of pieces) {
        s.write(p);
        // Apart, so that each piece is its own read.
        await sleep(30);
      }
      return s;
    };
    try {
      const lines = Array.from({ length: 6 }, (_, i) => `X-${i}: y\r\n`);
      const eight = await send(['CONNECT a.example:443 HTTP/1.1\r\n', ...lines, '\r\n']);
      await sleep(50);
      assert.deepEqual(connects, ['a.example:443']);
      eight.destroy();
      const pieces = ['CONNECT b.example:443 HTTP/1.1\r\n', ...lines, 'X-7: y\r\n', 'X-8: y\r\n'];
      const nine = await send(pieces);
      await sleep(50);
      assert.deepEqual(connects, ['a.example:443'], 'the ninth read is not scanned here');
      assert.equal(Buffer.concat(handed).toString(), pieces.join(''), 'the HTTP server got every byte, in order');
      nine.destroy();
    } finally {
      front.close();
    }
  });
});
