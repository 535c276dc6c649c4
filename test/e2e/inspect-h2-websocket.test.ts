import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import * as http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { WebSocket } from 'ws';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl, run } from '../helpers/exec.js';
import { startH2Upstream, startPlainWebSocketUpstream } from '../helpers/h2-upstream.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { FIXTURES } from '../helpers/paths.js';
import { needGo } from '../helpers/prerequisites.js';
import { openSocket, readUntil } from '../helpers/raw.js';
import { harErrors } from '../unit/inspect/flows/har-validate.js';
import { startHttpsUpstream, type Upstream } from '../helpers/upstream.js';

interface FlowJson {
  id: string;
  url: string;
  state: string;
  status: number | null;
  request: { httpVersion: string; headers: Array<[string, string]>; body: { size: number; utf8: string | null } };
  response: { httpVersion: string; status: number; trailers?: Array<[string, string]>; body: { size: number } } | null;
  tls: { clientAlpn?: string; upstreamAlpn?: string } | null;
  websocket?: {
    messages: Array<{ direction: string; opcode: number; data: { size: number; utf8: string | null; base64: string } }>;
    closeCode: number | null;
    closeReason: string | null;
  } | null;
}

/** One client WebSocket frame (RFC 6455 section 5.2): FIN, the opcode, masked as a client must. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

/** CONNECT through the proxy, then TLS (trusting the interception CA) offering `alpn`. */
async function tunnelTls(proxyPort: number, port: number, ca: string, alpn: string[]): Promise<TLSSocket> {
  const raw = await openSocket(proxyPort);
  raw.write(`CONNECT localhost:${port} HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
  const answer = await readUntil(raw, '\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 200/);
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ socket: raw, servername: 'localhost', ca, ALPNProtocols: alpn }, () => resolve(s));
    s.once('error', reject);
  });
}

function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: { chunks: Buffer[]; trailers?: http2.OutgoingHttpHeaders },
): Promise<{ headers: http2.IncomingHttpHeaders; informational: number[]; body: Buffer; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: !body, waitForTrailers: Boolean(body?.trailers) });
    const informational: number[] = [];
    let response: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('headers', (h) => informational.push(Number(h[':status'])));
    req.on('response', (h) => (response = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ headers: response, informational, body: Buffer.concat(chunks), trailers }));
    req.on('error', reject);
    if (body) {
      if (body.trailers) req.on('wantTrailers', () => req.sendTrailers(body.trailers!));
      for (const c of body.chunks) req.write(c);
      req.end();
    }
  });
}

const goTool = await needGo();

describe('inspect: HTTP/2 and WebSocket through interception', () => {
  let pki: TestPki;
  let h2: Awaited<ReturnType<typeof startH2Upstream>>;
  let h1only: Upstream;
  let plainWs: Upstream;
  let caDir: string;
  let ca: string;
  let proxy: CliProxy;
  let proxyPort: number;
  let ui: string;

  before(async () => {
    pki = await makeTestPki('egk-h2');
    h2 = await startH2Upstream(pki.serverCert, pki.serverKey);
    h1only = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    plainWs = await startPlainWebSocketUpstream();
    caDir = await mkdtemp(join(tmpdir(), 'egk-h2-ca-'));
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--ui', '127.0.0.1:0',
      '--ca-dir', caDir, '--upstream-ca', pki.caFile, '--allow-private',
      '--connect-ports', [h2.port, h1only.port, plainWs.port].join(','),
    ]);
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    proxyPort = Number(new URL(proxy.url).port);
    ui = `http://127.0.0.1:${String(listening.ui).split(':').pop()}`;
    ca = await readFile(join(caDir, 'ca.crt'), 'utf8');
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([h2?.close(), h1only?.close(), plainWs?.close()]);
  });

  const flowFor = async (url: string, pred: (f: FlowJson) => boolean = (f) => f.state !== 'open'): Promise<FlowJson> => {
    for (let i = 0; i < 100; i++) {
      const list = (await (await fetch(`${ui}/api/flows`)).json()) as { flows: FlowJson[] };
      for (const f of list.flows.filter((x) => x.url === url)) {
        const detail = (await (await fetch(`${ui}/api/flows/${f.id}`)).json()) as FlowJson;
        if (pred(detail)) return detail;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no matching flow for ${url}`);
  };

  it('curl --http2: HTTP/2 on both sides, the request body reaches the destination, the flow says HTTP/2', async () => {
    const caFile = join(caDir, 'ca.crt');
    const r = await curl(['-s', '--http2', '--cacert', caFile, '-x', proxy.url, '-d', 'hello h2', '-w', '\n%{http_version}', `${h2.origin}/echo?curl`]);
    assert.equal(r.code, 0, r.stderr);
    const [json, version] = r.stdout.split('\n');
    assert.equal(version, '2');
    const echo = JSON.parse(json!) as { httpVersion: string; bodyLength: number; headers: Record<string, string> };
    assert.equal(echo.httpVersion, '2.0');
    assert.equal(echo.bodyLength, 8);
    assert.equal(echo.headers.via, '2 egresskit');
    const f = await flowFor(`${h2.origin}/echo?curl`);
    assert.equal(f.request.httpVersion, 'HTTP/2');
    assert.equal(f.response?.httpVersion, 'HTTP/2');
    assert.equal(f.request.body.utf8, 'hello h2');
    assert.equal(f.tls?.clientAlpn, 'h2');
    assert.equal(f.tls?.upstreamAlpn, 'h2');
    const line = await proxy.waitForLog((l) => l.event === 'http' && String(l.url).endsWith('/echo') && l.status === 200);
    assert.equal(line.method, 'POST');
    // curl exits without a GOAWAY: the tunnel must still end, with its record.
    const tunnel = await proxy.waitForLog((l) => l.event === 'connect' && l.target === `localhost:${h2.port}`, 5000);
    assert.equal(tunnel.error, null);
  });

  it('node:http2: 50 concurrent streams, a 4 MiB upload with trailers, response trailers and 103 Early Hints on one tunnel', async () => {
    const sessionsBefore = h2.sessions();
    const socket = await tunnelTls(proxyPort, h2.port, ca, ['h2']);
    assert.equal(socket.alpnProtocol, 'h2');
    const session = http2.connect(h2.origin, { createConnection: () => socket });
    try {
      const many = await Promise.all(
        Array.from({ length: 50 }, (_, i) => h2Request(session, { ':path': `/echo?stream=${i}` })),
      );
      many.forEach((r, i) => {
        assert.equal(r.headers[':status'], 200);
        assert.equal((JSON.parse(r.body.toString()) as { path: string }).path, `/echo?stream=${i}`);
      });

      const chunk = Buffer.alloc(256 * 1024, 'u');
      const chunks = Array.from({ length: 16 }, () => chunk);
      const up = await h2Request(session, { ':method': 'POST', ':path': '/echo?upload' }, { chunks, trailers: { 'x-request-checksum': 'r1' } });
      const echo = JSON.parse(up.body.toString()) as { bodyLength: number; bodySha256: string; trailers: Record<string, string> };
      assert.equal(echo.bodyLength, 4 * 1024 * 1024);
      assert.equal(echo.bodySha256, createHash('sha256').update(Buffer.concat(chunks)).digest('hex'));
      assert.equal(echo.trailers['x-request-checksum'], 'r1');

      const tr = await h2Request(session, { ':path': '/trailers' });
      assert.equal(tr.body.toString(), 'part one, part two');
      assert.equal(tr.trailers['x-checksum'], 'abc123');

      const hints = await h2Request(session, { ':path': '/early-hints' });
      assert.deepEqual(hints.informational, [103]);
      assert.equal(hints.body.toString(), 'after hints');

      const big = await h2Request(session, { ':path': '/bytes?n=20000000' });
      assert.equal(big.body.length, 20_000_000);
    } finally {
      session.close();
    }
    // One upstream HTTP/2 session carried all of it.
    assert.equal(h2.sessions() - sessionsBefore, 1);
    const f = await flowFor(`${h2.origin}/trailers`);
    assert.deepEqual(f.response?.trailers, [['x-checksum', 'abc123']]);
    const upload = await flowFor(`${h2.origin}/echo?upload`);
    assert.equal(upload.request.body.size, 4 * 1024 * 1024);
  });

  // Go is required (CI installs golang-go); EGRESSKIT_TEST_SKIP_GO=1 skips this test on purpose.
  it('stock Go and Python clients (proxy and SSL_CERT_FILE from the environment): Go gets HTTP/2, Python HTTP/1.1, both the body', { skip: goTool.skip }, async () => {
    const env = { HTTPS_PROXY: proxy.url, https_proxy: proxy.url, SSL_CERT_FILE: join(caDir, 'ca.crt'), NO_PROXY: '', no_proxy: '' };
    const py = await run('python3', ['-c', 'import sys, urllib.request; r = urllib.request.urlopen(sys.argv[1]); print(r.version, r.status); print(r.read().decode())', `${h2.origin}/echo?python`], env);
    assert.equal(py.code, 0, py.stderr);
    assert.match(py.stdout, /^11 200\n/);
    assert.equal((JSON.parse(py.stdout.split('\n')[1]!) as { httpVersion: string }).httpVersion, '1.1');
    goTool.require();
    const dir = await mkdtemp(join(tmpdir(), 'egk-go-'));
    const goEnv = { ...env, GO111MODULE: 'off', GOCACHE: join(dir, 'cache'), GOPATH: join(dir, 'path'), GOTOOLCHAIN: 'local', PROXY_URL: proxy.url, TARGET_URL: `${h2.origin}/echo?go` };
    const go = await run('go', ['run', join(FIXTURES, 'go-proxy-get', 'main.go')], goEnv, 90_000);
    assert.equal(go.code, 0, go.stderr);
    assert.match(go.stdout, /^HTTP\/2\.0 200\n/);
    assert.equal((JSON.parse(go.stdout.split('\n')[1]!) as { httpVersion: string }).httpVersion, '2.0');
  });

  it('HTTP/1.1 inside interception: chunked upload with Expect: 100-continue, response trailers, keep-alive', async () => {
    const socket = await tunnelTls(proxyPort, h2.port, ca, ['http/1.1']);
    assert.equal(socket.alpnProtocol, 'http/1.1');
    let connections = 0;
    // Every request of this agent goes over the one intercepted tunnel, kept alive between them.
    const agent = new (class extends HttpsAgent {
      override createConnection() {
        connections++;
        return socket;
      }
    })({ keepAlive: true, maxSockets: 1 });
    const once = (path: string, body?: Buffer) =>
      new Promise<{ status: number; body: string; trailers: NodeJS.Dict<string>; continued: boolean }>((resolve, reject) => {
        let continued = false;
        const req = httpsRequest(`${h2.origin}${path}`, {
          method: body ? 'POST' : 'GET',
          agent,
          headers: body ? { expect: '100-continue', 'transfer-encoding': 'chunked', te: 'trailers' } : { te: 'trailers' },
        });
        req.on('continue', () => {
          continued = true;
          req.write(body!.subarray(0, 1000));
          req.end(body!.subarray(1000));
        });
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, trailers: res.trailers, continued }));
        });
        req.on('error', reject);
        if (!body) req.end();
      });
    const upload = Buffer.alloc(300_000, 'c');
    const up = await once('/echo?h1-upload', upload);
    assert.equal(up.continued, true);
    const echo = JSON.parse(up.body) as { httpVersion: string; bodyLength: number; bodySha256: string };
    assert.equal(echo.httpVersion, '1.1', 'the destination is offered what the client offered: HTTP/1.1 end to end');
    assert.equal(echo.bodyLength, 300_000);
    const tr = await once('/trailers');
    assert.equal(tr.body, 'part one, part two');
    assert.equal(tr.trailers['x-checksum'], 'abc123');
    assert.equal(connections, 1);
    agent.destroy();
  });

  it('HTTP/2: a client that resets a stream mid-download cancels it upstream; the flow says client_gone; the session goes on', async () => {
    const socket = await tunnelTls(proxyPort, h2.port, ca, ['h2']);
    const session = http2.connect(h2.origin, { createConnection: () => socket });
    try {
      await new Promise<void>((resolve, reject) => {
        const req = session.request({ ':path': '/bytes?n=500000000' });
        let got = 0;
        req.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 1_000_000) req.close(http2.constants.NGHTTP2_CANCEL);
        });
        req.on('close', () => resolve());
        req.on('error', reject);
      });
      const after = await h2Request(session, { ':path': '/echo?after-reset' });
      assert.equal(after.headers[':status'], 200);
    } finally {
      session.close();
    }
    const f = await flowFor(`${h2.origin}/bytes?n=500000000`, (x) => x.state === 'error');
    assert.equal((f as unknown as { error: { code: string } }).error.code, 'client_gone');
    assert.ok(f.response!.body.size < 100_000_000, `only what was sent before the reset passed: ${f.response!.body.size}`);
  });

  it('HTTP/2: after the destination sends GOAWAY, the next stream goes over a new upstream session', async () => {
    const before = h2.sessions();
    const socket = await tunnelTls(proxyPort, h2.port, ca, ['h2']);
    const session = http2.connect(h2.origin, { createConnection: () => socket });
    try {
      assert.equal((await h2Request(session, { ':path': '/goaway' })).body.toString(), 'bye');
      // At once: the GOAWAY may still be on its way; a refused stream is sent again.
      const next = await Promise.all([1, 2, 3].map((i) => h2Request(session, { ':path': `/echo?after-goaway=${i}` })));
      assert.deepEqual(next.map((r) => r.headers[':status']), [200, 200, 200]);
    } finally {
      session.close();
    }
    assert.equal(h2.sessions() - before, 2);
  });

  it('HTTP/2: a destination that closes a stream without answering (RST_STREAM NO_ERROR) gets the client a 502, not a wait', async () => {
    const socket = await tunnelTls(proxyPort, h2.port, ca, ['h2']);
    const session = http2.connect(h2.origin, { createConnection: () => socket });
    try {
      const r = await h2Request(session, { ':path': '/close-unanswered' });
      assert.equal(r.headers[':status'], 502);
      assert.match(String(r.headers['proxy-status']), /error=http_response_incomplete/);
      assert.match(r.body.toString(), /closed the stream before answering/);
    } finally {
      session.close();
    }
  });

  it('the client is offered what the destination chose: an HTTP/1.1-only destination gives curl --http2 HTTP/1.1', async () => {
    const r = await curl(['-s', '-o', '/dev/null', '--http2', '--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, '-w', '%{http_version}', `${h1only.origin}/echo`]);
    assert.equal(r.stdout, '1.1');
    const f = await flowFor(`${h1only.origin}/echo`);
    assert.equal(f.tls?.upstreamAlpn, 'http/1.1');
    assert.equal(f.tls?.clientAlpn, 'http/1.1');
  });

  it('WebSocket through interception: frames relayed (permessage-deflate), messages and the close captured on the flow', async () => {
    const socket = await tunnelTls(proxyPort, h2.port, ca, ['http/1.1']);
    const ws = new WebSocket(`wss://localhost:${h2.port}/ws-echo`, { createConnection: () => socket, perMessageDeflate: true });
    const received: Array<string | Buffer> = [];
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    assert.match(String(ws.extensions), /permessage-deflate/);
    const next = () => new Promise<void>((resolve) => ws.once('message', (d, isBinary) => (received.push(isBinary ? (d as Buffer) : d.toString()), resolve())));
    ws.send('hello <b>ws</b>');
    await next();
    ws.send(Buffer.from([0, 1, 2, 255]));
    await next();
    ws.send('x'.repeat(100_000));
    await next();
    ws.send('close-me');
    assert.deepEqual(await closed, { code: 4001, reason: 'asked to close' });
    assert.deepEqual(received.slice(0, 2), ['hello <b>ws</b>', Buffer.from([0, 1, 2, 255])]);
    assert.equal((received[2] as string).length, 100_000);

    const f = await flowFor(`${h2.origin}/ws-echo`, (x) => x.state !== 'open' && (x.websocket?.closeCode ?? 0) > 0);
    assert.equal(f.status, 101);
    const m = f.websocket!.messages;
    const texts = m.filter((x) => x.opcode === 1).map((x) => [x.direction, x.data.utf8?.slice(0, 20)]);
    assert.deepEqual(texts.slice(0, 2), [
      ['send', 'hello <b>ws</b>'],
      ['receive', 'hello <b>ws</b>'],
    ]);
    const binary = m.filter((x) => x.opcode === 2);
    assert.deepEqual(binary.map((x) => [x.direction, Buffer.from(x.data.base64, 'base64').toString('hex')]), [
      ['send', '000102ff'],
      ['receive', '000102ff'],
    ]);
    assert.equal(m.filter((x) => x.opcode === 1 && x.data.size === 100_000).length, 2);
    assert.equal(f.websocket!.closeCode, 4001);
    assert.equal(f.websocket!.closeReason, 'asked to close');
  });

  it('a refused WebSocket upgrade reaches the client as the destination sent it, and is a flow', async () => {
    const socket = await tunnelTls(proxyPort, h2.port, ca, ['http/1.1']);
    const ws = new WebSocket(`wss://localhost:${h2.port}/ws-deny`, { createConnection: () => socket });
    const status = await new Promise<number>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => reject(new Error('opened')));
      ws.once('error', () => undefined);
    });
    ws.terminate();
    assert.equal(status, 403);
    const f = await flowFor(`${h2.origin}/ws-deny`);
    assert.equal(f.status, 403);
    assert.equal(f.response?.body.size, 14);
  });

  it('a plain ws:// Upgrade sent to the proxy in absolute form is captured too', async () => {
    const socket = await openSocket(proxyPort);
    const url = `${plainWs.origin}/ws-echo`;
    socket.write(
      `GET ${url} HTTP/1.1\r\nHost: 127.0.0.1:${plainWs.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    const answer = await readUntil(socket, '\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 101 /);
    socket.write(clientFrame(1, Buffer.from('plain hello')));
    const echoed = await readUntil(socket, 'plain hello');
    assert.ok(echoed.includes('plain hello'));
    socket.write(clientFrame(8, Buffer.from([0x03, 0xe8])));
    await new Promise((r) => socket.once('close', r));
    const f = await flowFor(url, (x) => x.state !== 'open' && x.websocket?.closeCode === 1000);
    assert.equal(f.status, 101);
    assert.deepEqual(
      f.websocket!.messages.filter((m) => m.opcode === 1).map((m) => [m.direction, m.data.utf8]),
      [
        ['send', 'plain hello'],
        ['receive', 'plain hello'],
      ],
    );
  });

  it('the HAR of this run (HTTP/2, trailers, WebSockets, a refused upgrade) passes the HAR 1.2 schema', async () => {
    const har = (await (await fetch(`${ui}/api/flows.har`)).json()) as { log: { entries: Array<{ request: { url: string; httpVersion: string }; _resourceType?: string; _webSocketMessages?: unknown[] }> } };
    assert.deepEqual(harErrors(har), []);
    const entries = har.log.entries;
    assert.ok(entries.some((e) => e.request.url.endsWith('/echo?upload') && /2/.test(e.request.httpVersion)));
    const ws = entries.find((e) => e._resourceType === 'websocket' && e.request.url.includes(`${h2.port}/ws-echo`));
    assert.ok(ws && (ws._webSocketMessages?.length ?? 0) >= 6);
  });

  it('--http1, or a rule with alpn: http1, holds a host to HTTP/1.1 on both sides even when both could speak h2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-h1-ca-'));
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'policy:\n  rules:\n    - {id: legacy-api, action: allow, hosts: [localhost], alpn: http1}\n');
    for (const extra of [['--http1', 'localhost'], ['--config', config]]) {
      const p = await startCli([
        'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', dir,
        '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(h2.port), ...extra,
      ]);
      try {
        const r = await curl(['-s', '--http2', '--cacert', join(dir, 'ca.crt'), '-x', p.url, '-w', '\n%{http_version}', `${h2.origin}/echo`]);
        const [json, version] = r.stdout.split('\n');
        assert.equal(version, '1.1', extra.join(' '));
        assert.equal((JSON.parse(json!) as { httpVersion: string }).httpVersion, '1.1');
      } finally {
        await p.stop();
      }
    }
  });
});
