import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { runCli, startCli, type CliProxy, type LogLine } from '../helpers/cli.js';
import { startCountingUpstream, type CountingUpstream } from '../helpers/counting-upstream.js';
import { makeTestPki } from '../helpers/pki.js';
import { openSocket, rawExchange, readUntil, statusOf } from '../helpers/raw.js';

// A request line without an HTTP version (HTTP/0.9's shape) is one llhttp lets through (see
// isHttp1Request in src/quirks/node-quirks.ts): a bare LF inside a CONNECT target ends the line
// there and turns the rest into a header. Every listener refuses it before identify, policy,
// DNS or a dial: the targets below are "localhost", a name the proxy would have to resolve.

/** Requests Node's parser hands on as HTTP/0.9 or HTTP/2.0; `P` is the upstream's port. */
function versionless(p: number): Array<{ name: string; send: string; line: RegExp }> {
  return [
    { name: 'CONNECT without a version', send: `CONNECT localhost:${p}\r\n\r\n`, line: /without an HTTP version: \\?"CONNECT localhost:\d+/ },
    { name: 'CONNECT ended by a bare LF', send: `CONNECT localhost:${p}\n\r\n`, line: /without an HTTP version/ },
    { name: 'bare LF inside the CONNECT target', send: `CONNECT local\nhost:${p} HTTP/1.1\r\n\r\n`, line: /without an HTTP version: \\?"CONNECT local\\?"/ },
    { name: 'CRLF inside the CONNECT target', send: `CONNECT local\r\nhost:${p} HTTP/1.1\r\n\r\n`, line: /without an HTTP version/ },
    { name: 'absolute-URI GET without a version', send: `GET http://localhost:${p}/\r\nHost: localhost\r\n\r\n`, line: /without an HTTP version/ },
    { name: 'origin-form GET without a version', send: 'GET /\r\n\r\n', line: /without an HTTP version/ },
    { name: 'Upgrade without a version', send: `GET http://localhost:${p}/\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`, line: /without an HTTP version/ },
    { name: 'HTTP/2.0 in an HTTP/1 request line', send: `GET http://localhost:${p}/ HTTP/2.0\r\nHost: localhost\r\n\r\n`, line: /HTTP\/2\.0 request line/ },
    { name: 'a second request smuggled behind a versionless CONNECT', send: `CONNECT localhost:${p}\r\n\r\nGET http://localhost:${p}/ HTTP/1.1\r\nHost: localhost\r\n\r\n`, line: /without an HTTP version/ },
  ];
}

function assertRefused(res: string, line: RegExp): void {
  assert.equal(statusOf(res), 400, res);
  assert.match(res, /\r\nProxy-Status: egresskit; error=http_request_error; details="[^\r\n]*HTTP/, res);
  assert.match(res, /malformed request/);
  assert.match(res, line);
  assert.match(res, /end the request line with HTTP\/1\.1/);
  // One answer, then the connection is closed: nothing after it was read as a request.
  assert.equal(res.match(/HTTP\/1\.1 \d{3} /g)?.length, 1, res);
}

/** The one record of a refused request line: no identity, policy, DNS or destination. */
function assertRecordHasNoWork(l: LogLine): void {
  assert.equal(l.error, 'bad_request');
  assert.equal(l.status, 400);
  for (const field of ['dns_ms', 'connect_ms', 'resolved', 'decision', 'rule', 'target', 'identity']) assert.equal(l[field], null, `${field} in ${JSON.stringify(l)}`);
}

async function dnsLookups(adminPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  return Number(/^egresskit_phase_seconds_count\{[^}]*phase="dns"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
}

function badRequestLines(proxy: CliProxy): LogLine[] {
  return proxy.logs.filter((l) => l.event === 'client_error' && l.error === 'bad_request' && /HTTP/.test(String(l.error_detail)));
}

describe('request lines that are not HTTP/1.x: forward (plain listener)', () => {
  let upstream: CountingUpstream;
  let proxy: CliProxy;
  before(async () => {
    upstream = await startCountingUpstream();
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', String(upstream.port)]);
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  it('each shape gets 400 with Proxy-Status and one client_error record; no DNS, no upstream contact', async () => {
    const cases = versionless(upstream.port);
    for (const c of cases) {
      const res = await rawExchange(proxy.port, c.send);
      assert.doesNotThrow(() => assertRefused(res, c.line), c.name);
    }
    await proxy.waitForLog(() => badRequestLines(proxy).length >= cases.length);
    const lines = badRequestLines(proxy);
    assert.equal(lines.length, cases.length, JSON.stringify(lines));
    for (const l of lines) assertRecordHasNoWork(l);
    assert.equal(await dnsLookups(proxy.adminPort!), 0, 'a refused request line made a DNS lookup');
    assert.equal(upstream.connections, 0, 'a refused request line reached the upstream');
    assert.equal(proxy.logs.filter((l) => l.event === 'connect' || l.event === 'http' || l.event === 'upgrade').length, 0);
  });

  it('the same CONNECT with its version is resolved and tunnelled (the counters above can see work)', async () => {
    const socket = await openSocket(proxy.port);
    socket.write(`CONNECT localhost:${upstream.port} HTTP/1.1\r\n\r\n`);
    assert.match(await readUntil(socket, '\r\n\r\n'), /^HTTP\/1\.1 200 /);
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    assert.match(await readUntil(socket, 'ok'), /^HTTP\/1\.1 200 /);
    socket.destroy();
    const line = await proxy.waitForLog((l) => l.event === 'connect');
    assert.equal(typeof line.dns_ms, 'number', JSON.stringify(line));
    assert.equal(upstream.connections, 1);
    assert.equal(await dnsLookups(proxy.adminPort!), 1);
  });

  it('a Transfer-Encoding that does not end in chunked: 400 bad_framing at the entry, one record, no DNS, no upstream contact', async () => {
    // llhttp emits this request before it refuses its framing (see inFlightResponse in the quirks).
    const dns = await dnsLookups(proxy.adminPort!);
    const connections = upstream.connections;
    const res = await rawExchange(proxy.port, `DELETE http://localhost:${upstream.port}/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: x\r\n\r\n`);
    assert.equal(statusOf(res), 400, res);
    assert.match(res, /\r\nProxy-Status: egresskit; error=http_request_error; details="Transfer-Encoding \\"x\\" does not end in chunked"/);
    assert.equal(res.match(/HTTP\/1\.1 \d{3} /g)?.length, 1, res);
    const line = await proxy.waitForLog((l) => l.error === 'bad_framing');
    assert.equal(line.event, 'client_error');
    assertRecordHasNoWork({ ...line, error: 'bad_request' });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(proxy.logs.filter((l) => l.client === line.client).length, 1, 'more than one record for one request');
    assert.equal(await dnsLookups(proxy.adminPort!), dns);
    assert.equal(upstream.connections, connections);
  });

  it('the same Transfer-Encoding on a CONNECT or an Upgrade: 400 bad_framing, never tunnelled', async () => {
    const connections = upstream.connections;
    for (const head of [
      `CONNECT localhost:${upstream.port} HTTP/1.1\r\nTransfer-Encoding: x\r\n\r\n`,
      `GET http://localhost:${upstream.port}/ HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nTransfer-Encoding: gzip\r\n\r\n`,
    ]) {
      const res = await rawExchange(proxy.port, head);
      assert.equal(statusOf(res), 400, res);
      assert.match(res, /\r\nProxy-Status: egresskit; error=http_request_error; details="Transfer-Encoding/);
    }
    assert.equal(upstream.connections, connections);
  });

  it('junk after a complete request: the request is answered first, then the junk gets its 400', async () => {
    const res = await rawExchange(proxy.port, `GET http://127.0.0.1:${upstream.port}/ HTTP/1.1\r\nHost: x\r\n\r\n\x00junk\r\n\r\n`);
    const statuses = [...res.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    assert.deepEqual(statuses, [200, 400], res);
    assert.match(res.slice(res.lastIndexOf('HTTP/1.1 400')), /\r\nProxy-Status: egresskit; error=http_request_error/);
  });

  it('HTTP/1.0 request lines are still served', async () => {
    const res = await rawExchange(proxy.port, `GET http://127.0.0.1:${upstream.port}/ HTTP/1.0\r\n\r\n`);
    assert.equal(statusOf(res), 200, res);
  });
});

describe('request lines that are not HTTP/1.x: mtls (TLS listener)', () => {
  let upstream: CountingUpstream;
  let proxy: CliProxy;
  let certs: string;
  before(async () => {
    upstream = await startCountingUpstream();
    certs = join(await mkdtemp(join(tmpdir(), 'egk-reqline-')), 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
    proxy = await startCli([
      'mtls', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', String(upstream.port),
      '--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt'),
    ]);
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  async function tlsExchange(payload: string): Promise<string> {
    const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
    return new Promise((resolve, reject) => {
      let data = '';
      const s = tlsConnect({ host: '127.0.0.1', port: proxy.port, servername: 'localhost', ca, cert, key }, () => s.write(payload));
      const timer = setTimeout(() => s.destroy(), 5000);
      s.setEncoding('latin1').on('data', (d: string) => (data += d));
      s.once('error', (e) => (data ? undefined : reject(e)));
      s.once('close', () => {
        clearTimeout(timer);
        resolve(data);
      });
    });
  }

  it('each shape gets 400 with Proxy-Status and a record, after the client certificate but before identify', async () => {
    const cases = versionless(upstream.port);
    for (const c of cases) {
      const res = await tlsExchange(c.send);
      assert.doesNotThrow(() => assertRefused(res, c.line), c.name);
    }
    await proxy.waitForLog(() => badRequestLines(proxy).length >= cases.length);
    for (const l of badRequestLines(proxy)) assertRecordHasNoWork(l);
    assert.equal(upstream.connections, 0);
  });
});

describe('request lines that are not HTTP/1.x: inspect (inside interception)', () => {
  let upstream: CountingUpstream;
  let proxy: CliProxy;
  let ca: string;
  before(async () => {
    const pki = await makeTestPki('egk-reqline');
    upstream = await startCountingUpstream({ cert: pki.serverCert, key: pki.serverKey });
    const caDir = await mkdtemp(join(tmpdir(), 'egk-reqline-ca-'));
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', caDir,
      '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(upstream.port),
    ]);
    ca = await readFile(join(caDir, 'ca.crt'), 'utf8');
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  /** CONNECT (with its version), TLS to the minted leaf, then `payload` inside. */
  async function inTunnel(payload: string): Promise<string> {
    const socket = await openSocket(proxy.port);
    socket.write(`CONNECT localhost:${upstream.port} HTTP/1.1\r\nHost: localhost:${upstream.port}\r\n\r\n`);
    assert.match(await readUntil(socket, '\r\n\r\n'), /^HTTP\/1\.1 200 /);
    const secure: TLSSocket = tlsConnect({ socket, servername: 'localhost', ca });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    return new Promise((resolve) => {
      let data = '';
      const timer = setTimeout(() => secure.destroy(), 5000);
      secure.setEncoding('latin1').on('data', (d: string) => (data += d));
      secure.on('error', () => undefined);
      secure.once('close', () => {
        clearTimeout(timer);
        socket.destroy();
        resolve(data);
      });
      secure.write(payload);
    });
  }

  const inside = [
    { name: 'origin-form GET without a version', send: 'GET /\r\n\r\n' },
    { name: 'GET without a version, with Host', send: 'GET /secret\r\nHost: localhost:P\r\n\r\n' },
    { name: 'Upgrade without a version', send: 'GET /\r\nHost: localhost:P\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n' },
    { name: 'HTTP/2.0 in an HTTP/1 request line', send: 'GET / HTTP/2.0\r\nHost: localhost:P\r\n\r\n' },
  ];

  it('each shape gets 400 with Proxy-Status and a client_error record, and is never relayed upstream', async () => {
    for (const c of inside) {
      const res = await inTunnel(c.send.replace('localhost:P', `localhost:${upstream.port}`));
      assert.doesNotThrow(() => assertRefused(res, /HTTP/), c.name);
    }
    const records = await proxy.waitForLog(() => badRequestLines(proxy).length >= inside.length).then(() => badRequestLines(proxy));
    assert.equal(records.length, inside.length);
    for (const l of records) {
      // Inside a tunnel the record names the tunnel's destination, which was decided when it opened.
      assert.equal(l.target, `localhost:${upstream.port}`);
      assert.equal(l.status, 400);
    }
    assert.equal(upstream.requests, 0, 'a refused request line was relayed to the destination');
  });

  it('a Transfer-Encoding that does not end in chunked inside the tunnel: 400 bad_framing, never relayed', async () => {
    const res = await inTunnel(`POST / HTTP/1.1\r\nHost: localhost:${upstream.port}\r\nTransfer-Encoding: gzip\r\n\r\n`);
    assert.equal(statusOf(res), 400, res);
    assert.match(res, /\r\nProxy-Status: egresskit; error=http_request_error; details="Transfer-Encoding/);
    const line = await proxy.waitForLog((l) => l.event === 'client_error' && l.error === 'bad_framing');
    assert.equal(line.target, `localhost:${upstream.port}`);
    assert.equal(upstream.requests, 0);
  });

  it('a request with its version in the same kind of tunnel is relayed (the counter above can see work)', async () => {
    const res = await inTunnel(`GET / HTTP/1.1\r\nHost: localhost:${upstream.port}\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(res), 200, res);
    assert.equal(upstream.requests, 1);
  });
});
