import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { makeTestPki } from '../helpers/pki.js';
import { openSocket, readUntil, statusOf } from '../helpers/raw.js';

// Inside an intercepted tunnel to localhost:PORT, a request naming another host (Host, an
// absolute target, :authority) is answered 421 by egresskit and never reaches the destination.
// Each place that enforces it (HTTP/1.1, HTTP/2, the WebSocket Upgrade) has its own test, and
// each has a control: the same request naming the tunnel's host does reach the destination.

/** An HTTPS destination (HTTP/2 and HTTP/1.1, Upgrades answered 101) that counts what reaches it. */
async function countingUpstream(cert: string, key: string) {
  const seen: string[] = [];
  const server = http2.createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
    seen.push(`${req.httpVersion} ${req.headers[':authority'] ?? req.headers.host} ${req.url}`);
    res.end('reached');
  });
  const sockets = new Set<Duplex>();
  server.on('secureConnection', (s: Duplex) => (sockets.add(s), s.once('close', () => sockets.delete(s))));
  server.on('upgrade', (req: { headers: Record<string, string>; url: string }, socket: Duplex) => {
    seen.push(`upgrade ${req.headers.host} ${req.url}`);
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () => new Promise<void>((r) => (server.close(() => r()), sockets.forEach((s) => s.destroy()))),
  };
}

describe('inspect: a request for another host inside a tunnel is answered 421 (misdirected)', () => {
  let upstream: Awaited<ReturnType<typeof countingUpstream>>;
  let proxy: CliProxy;
  let ca: string;
  let good: string;
  /** Another name for the same port: only the check can tell it from the tunnel's own. */
  const evil = (name: string) => `${name}.example:${upstream.port}`;

  before(async () => {
    const pki = await makeTestPki('egk-421');
    upstream = await countingUpstream(pki.serverCert, pki.serverKey);
    const caDir = await mkdtemp(join(tmpdir(), 'egk-421-ca-'));
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', caDir,
      '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(upstream.port),
    ]);
    ca = await readFile(join(caDir, 'ca.crt'), 'utf8');
    good = `localhost:${upstream.port}`;
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  /** CONNECT localhost:PORT, then TLS to egresskit's minted certificate offering `alpn`. */
  async function tunnel(alpn: string[]): Promise<TLSSocket> {
    const raw = await openSocket(proxy.port);
    raw.write(`CONNECT ${good} HTTP/1.1\r\nHost: ${good}\r\n\r\n`);
    assert.equal(statusOf(await readUntil(raw, '\r\n\r\n')), 200);
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: raw, servername: 'localhost', ca, ALPNProtocols: alpn }, () => resolve(s));
      s.once('error', reject);
    });
  }

  /** One HTTP/1.1 request on a new tunnel; the answer's head. */
  async function h1(head: string): Promise<string> {
    const s = await tunnel(['http/1.1']);
    try {
      s.write(head);
      return await readUntil(s, '\r\n\r\n');
    } finally {
      s.destroy();
    }
  }

  const misdirectedLine = (what: RegExp) => proxy.waitForLog((l) => l.error === 'misdirected' && what.test(String(l.error_detail)));

  it('HTTP/1.1: a Host naming another host', async () => {
    assert.equal(statusOf(await h1(`GET /h1-good HTTP/1.1\r\nHost: ${good}\r\nConnection: close\r\n\r\n`)), 200);
    assert.ok(upstream.seen.includes(`1.1 ${good} /h1-good`), upstream.seen.join('\n'));
    const answer = await h1(`GET /h1-host HTTP/1.1\r\nHost: ${evil('h1-host')}\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(answer), 421, answer);
    assert.match(answer, /Proxy-Status: egresskit; error=http_request_denied/i);
    assert.ok(!upstream.seen.some((l) => l.includes('/h1-host')), 'the request never reached the destination');
    const line = await misdirectedLine(/Host "h1-host\.example/);
    assert.equal(line.status, 421);
  });

  it('HTTP/1.1: an absolute request target naming another host', async () => {
    const answer = await h1(`GET https://${evil('h1-absolute')}/h1-absolute HTTP/1.1\r\nHost: ${good}\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(answer), 421, answer);
    assert.ok(!upstream.seen.some((l) => l.includes('/h1-absolute')), 'the request never reached the destination');
    await misdirectedLine(/request target https:\/\/h1-absolute\.example/);
  });

  it('HTTP/2: an :authority naming another host', async () => {
    const s = await tunnel(['h2']);
    assert.equal(s.alpnProtocol, 'h2');
    const session = http2.connect(`https://${good}`, { createConnection: () => s });
    try {
      const ask = (authority: string, path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = session.request({ ':method': 'GET', ':path': path, ':authority': authority });
          let body = '';
          let status = 0;
          req.on('response', (h) => (status = Number(h[':status'])));
          req.setEncoding('utf8').on('data', (d: string) => (body += d));
          req.on('end', () => resolve({ status, body }));
          req.on('error', reject);
        });
      assert.deepEqual(await ask(good, '/h2-good'), { status: 200, body: 'reached' });
      const refused = await ask(evil('h2'), '/h2-authority');
      assert.equal(refused.status, 421, refused.body);
      assert.ok(!upstream.seen.some((l) => l.includes('/h2-authority')), 'the stream never reached the destination');
      await misdirectedLine(/:authority "h2\.example/);
    } finally {
      session.destroy();
    }
  });

  it('WebSocket Upgrade: a Host naming another host', async () => {
    const upgrade = (host: string, path: string) =>
      h1(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    assert.equal(statusOf(await upgrade(good, '/ws-good')), 101);
    assert.ok(upstream.seen.includes(`upgrade ${good} /ws-good`), upstream.seen.join('\n'));
    const answer = await upgrade(evil('ws'), '/ws-host');
    assert.equal(statusOf(answer), 421, answer);
    assert.ok(!upstream.seen.some((l) => l.includes('/ws-host')), 'the Upgrade never reached the destination');
    const line = await misdirectedLine(/Host "ws\.example/);
    assert.equal(line.status, 421);
    assert.equal(line.event, 'upgrade');
  });
});
