/**
 * The mtls listener reads a CONNECT head on the decrypted socket itself (listeners/tls-connect.ts,
 * head-reader.ts) and gives every other connection to Node's HTTPS server's HTTP side: the
 * answers must be what that server gave, and the bounds it keeps (header timeout, drain) must
 * hold for the connections it holds.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startProxy, type ProxyHandle } from '../../../src/index.js';
import { runCli } from '../../helpers/cli.js';
import { startEchoHost } from '../../helpers/fronting.js';
import { expectHeadTimeout, nextRecord } from '../../helpers/head-front.js';
import { readUntil, statusOf } from '../../helpers/raw.js';
import { startHttpUpstream, type Upstream } from '../../helpers/upstream.js';

const HEADERS_MS = 400;

describe('mtls listener: CONNECT heads read without the HTTP server', () => {
  let certs: string;
  let client: { ca: Buffer; cert: Buffer; key: Buffer };
  let echo: Awaited<ReturnType<typeof startEchoHost>>;
  let http: Upstream;
  let proxy: ProxyHandle;
  const mtlsProxy = (headers: string) =>
    startProxy({
      mode: 'mtls', listen: '127.0.0.1:0', admin: 'off',
      tls: { cert: join(certs, 'server.crt'), key: join(certs, 'server.key'), clientCa: join(certs, 'ca.crt') },
      policy: { allowPrivate: true, connectPorts: [echo.port, http.port] },
      timeouts: { headers: headers },
    });
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-tls-connect-'));
    certs = join(dir, 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
    const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
    client = { ca: ca!, cert: cert!, key: key! };
    echo = await startEchoHost();
    http = await startHttpUpstream();
    proxy = await mtlsProxy(`${HEADERS_MS}ms`);
  });
  after(async () => {
    await proxy?.close(0);
    await echo?.close();
    await http?.close();
  });

  const authenticated = (port = proxy.address.port): Promise<TLSSocket> =>
    new Promise((resolve, reject) => {
      const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...client }, () => resolve(s));
      s.once('error', reject);
    });

  it('a head and the first tunnel bytes in one write: 200, those bytes reach the destination, the record names the certificate', async () => {
    const records = proxy.recordStream({ replay: false });
    const s = await authenticated();
    s.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: 127.0.0.1:${echo.port}\r\n\r\nfirst-bytes|`);
    const got = await readUntil(s as never, 'first-bytes|');
    assert.equal(statusOf(got), 200, got);
    s.write('more');
    assert.match(await readUntil(s as never, 'more'), /more$/);
    s.destroy();
    const r = await nextRecord(records, 'connect');
    assert.equal(r.status, 200);
    assert.equal(r.identity?.kind, 'certificate');
    assert.ok(r.identity?.principal, JSON.stringify(r.identity));
  });

  it('a head in pieces: 200 and a working tunnel', async () => {
    const s = await authenticated();
    const head = `CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nUser-Agent: pieces\r\n\r\n`;
    s.write(head.slice(0, 11));
    await new Promise((r) => setTimeout(r, 20));
    s.write(head.slice(11));
    assert.equal(statusOf(await readUntil(s as never, '\r\n\r\n')), 200);
    s.write('ping');
    assert.match(await readUntil(s as never, 'ping'), /ping$/);
    s.destroy();
  });

  it('a request that is not a CONNECT goes to the HTTP server with every byte: forwarded, answered by the destination', async () => {
    const s = await authenticated();
    s.write(`GET http://127.0.0.1:${http.port}/hello HTTP/1.1\r\nHost: 127.0.0.1:${http.port}\r\nConnection: close\r\n\r\n`);
    const got = await readUntil(s as never, '\r\n\r\n');
    assert.equal(statusOf(got), 200, got);
    s.destroy();
  });

  it('a CONNECT the HTTP server must refuse (Transfer-Encoding) is still refused with 400', async () => {
    const s = await authenticated();
    s.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n`);
    const got = await readUntil(s as never, '\r\n\r\n');
    assert.equal(statusOf(got), 400, got);
    s.destroy();
  });

  it('a CONNECT head that stops half-way: 408 at the header timeout and a request_timeout record', async () => {
    const records = proxy.recordStream({ replay: false });
    await expectHeadTimeout(await authenticated(), records, HEADERS_MS);
  });

  it('a drain closes a connection still waiting for its head (the HTTP server never saw it)', async () => {
    const own = await mtlsProxy('30s');
    const s = await authenticated(own.address.port);
    s.on('error', () => undefined);
    s.write('CONNECT 127.0.0.1:1 HTTP/1.1\r\n');
    const closed = new Promise<number>((resolve) => s.once('close', () => resolve(performance.now())));
    await new Promise((r) => setTimeout(r, 50));
    const started = performance.now();
    await own.close(5000);
    const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 3000))]);
    s.destroy();
    assert.ok(at - started < 2000, `closed after ${at - started} ms`);
  });
});
