import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { openSocket, readUntil } from '../helpers/raw.js';
import { streamBytes } from '../helpers/upstream.js';

const MiB = 1024 * 1024;

/** What the destination did with one download's connection. */
interface Download {
  finished: Promise<void>;
  closed: Promise<void>;
}

/**
 * A destination with Node's default 5 s keep-alive timeout: /dl/ID/N answers N bytes with a
 * Content-Length, and tells the test when it has handed the last byte to the kernel and when
 * its keep-alive timer has closed the connection.
 */
async function startDestination(pki?: TestPki): Promise<{ server: Server; port: number; downloads: Map<string, Download> }> {
  const downloads = new Map<string, Download>();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/dl\/([\w-]+)\/(\d+)$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    downloads.set(m[1]!, {
      finished: new Promise((r) => res.once('finish', () => r())),
      closed: new Promise((r) => req.socket.once('close', () => r())),
    });
    streamBytes(res, Number(m[2]));
  };
  const server = pki ? createHttps({ cert: pki.serverCert, key: pki.serverKey }, handler) : createHttp(handler);
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, downloads };
}

async function waitFor<T>(get: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const v = get();
    if (v !== undefined) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Reads a response the way a slow client does: a trickle until the destination has sent it
 * all, nothing at all until the destination's keep-alive timer has closed the connection (so
 * the proxy, held back, still has the tail to relay with the close behind it), then the rest.
 * Returns the body length received.
 */
async function slowRead(s: Duplex, d: () => Download | undefined): Promise<{ status: number; body: number }> {
  s.pause();
  let head = '';
  let body = 0;
  const take = (max: number) => {
    let n = 0;
    for (let c = s.read() as Buffer | null; c !== null; c = s.read() as Buffer | null) {
      if (!head.includes('\r\n\r\n')) {
        head += c.toString('latin1');
        const i = head.indexOf('\r\n\r\n');
        if (i >= 0) body += Buffer.byteLength(head.slice(i + 4), 'latin1');
      } else body += c.length;
      if ((n += c.length) >= max) break;
    }
  };
  const ended = new Promise<void>((r) => s.once('end', r).once('close', r).once('error', r));
  const download = await waitFor(d, 'the request at the destination');
  let finished = false;
  void download.finished.then(() => (finished = true));
  while (!finished) {
    take(64 * 1024);
    await new Promise((r) => setTimeout(r, 50));
  }
  await download.closed;
  const length = () => Number(/content-length: (\d+)/i.exec(head)?.[1] ?? Infinity);
  for (let ended_ = false; !ended_ && body < length(); ) {
    take(Infinity);
    ended_ = await Promise.race([ended.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10))]);
  }
  take(Infinity);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body };
}

describe('a slow reader of a large body gets all of it, whatever the destination does with its connection afterwards', () => {
  let pki: TestPki;
  let plain: Awaited<ReturnType<typeof startDestination>>;
  let secure: Awaited<ReturnType<typeof startDestination>>;
  let forward: CliProxy;
  let mtls: CliProxy;
  let inspect: CliProxy;
  let certs: string;
  let inspectCa: string;
  before(async () => {
    pki = await makeTestPki('egk-slow');
    [plain, secure] = await Promise.all([startDestination(), startDestination(pki)]);
    const dir = await mkdtemp(join(tmpdir(), 'egk-slow-'));
    certs = join(dir, 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
    const common = ['--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private'];
    [forward, mtls, inspect] = await Promise.all([
      startCli(['forward', ...common, '--connect-ports', String(plain.port)]),
      startCli(['mtls', ...common, '--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt'), '--connect-ports', String(plain.port)]),
      startCli(['inspect', ...common, '--ui', 'off', '--ca-dir', join(dir, 'inspect-ca'), '--upstream-ca', pki.caFile, '--connect-ports', String(secure.port)]),
    ]);
    inspectCa = await readFile(join(dir, 'inspect-ca', 'ca.crt'), 'utf8');
  });
  after(async () => {
    await Promise.all([forward?.stop(), mtls?.stop(), inspect?.stop()]);
    for (const d of [plain, secure]) {
      d?.server.closeAllConnections();
      d?.server.close();
    }
  });

  async function clientFor(mode: 'forward' | 'mtls' | 'inspect'): Promise<Duplex> {
    if (mode === 'forward') return openSocket(forward.port);
    if (mode === 'mtls') {
      const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
      return new Promise((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: mtls.port, servername: 'localhost', ca, cert, key }, () => resolve(s));
        s.once('error', reject);
      });
    }
    const raw = await openSocket(inspect.port);
    raw.write(`CONNECT localhost:${secure.port} HTTP/1.1\r\nHost: localhost:${secure.port}\r\n\r\n`);
    assert.match(await readUntil(raw, '\r\n\r\n'), /^HTTP\/1\.1 200/);
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: raw, servername: 'localhost', ca: inspectCa, ALPNProtocols: ['http/1.1'] }, () => resolve(s));
      s.once('error', reject);
    });
  }

  async function download(mode: 'forward' | 'mtls' | 'inspect', n: number): Promise<void> {
    const id = `${mode}-${n}`;
    const s = await clientFor(mode);
    const dest = mode === 'inspect' ? secure : plain;
    const target = mode === 'inspect' ? `/dl/${id}/${n}` : `http://127.0.0.1:${dest.port}/dl/${id}/${n}`;
    s.write(`GET ${target} HTTP/1.1\r\nHost: ${mode === 'inspect' ? 'localhost' : '127.0.0.1'}:${dest.port}\r\n\r\n`);
    const got = await slowRead(s, () => dest.downloads.get(id));
    s.destroy();
    assert.deepEqual(got, { status: 200, body: n }, `${id}: the client got every byte`);
    const proxy = { forward, mtls, inspect }[mode];
    const line = await proxy.waitForLog((l) => l.event === 'http' && String(l.url).includes(`/dl/${id}/`));
    assert.equal(line.error, null, `${id}: ${JSON.stringify(line)}`);
    assert.equal(line.status, 200);
    assert.equal(line.bytes_down, n);
  }

  it('8 MiB through forward, mtls and inspect against a destination with a 5 s keep-alive timeout', async () => {
    // Two sizes per mode: where the last read from the destination's connection falls depends
    // on the kernel; 24 KiB apart, one of the two ends on a chunk big enough to pause the relay.
    const sizes = [8 * MiB, 8 * MiB + 24 * 1024];
    await Promise.all((['forward', 'mtls', 'inspect'] as const).flatMap((mode) => sizes.map((n) => download(mode, n))));
  });
});
