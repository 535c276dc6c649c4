import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { fetch, ProxyAgent, request } from 'undici';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl, run } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { openSocket, readUntil } from '../helpers/raw.js';
import { startHalfCloseServer, startHttpsUpstream, startHttpUpstream, type Upstream } from '../helpers/upstream.js';

// Real clients through the real CLI: curl (env and -x), Python's urllib, undici's ProxyAgent.
describe('forward: real clients', () => {
  let pki: TestPki;
  let http: Upstream;
  let https: Upstream;
  let half: Upstream;
  let proxy: CliProxy;

  before(async () => {
    pki = await makeTestPki();
    http = await startHttpUpstream();
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    half = await startHalfCloseServer();
    proxy = await startCli([
      'forward',
      '--listen', '127.0.0.1:0',
      '--admin', '127.0.0.1:0',
      '--allow-private',
      '--connect-ports', `${http.port},${https.port},${half.port}`,
    ]);
  });
  after(async () => {
    await proxy?.stop();
    await Promise.all([http?.close(), https?.close(), half?.close()]);
  });

  it('curl with https_proxy in the environment tunnels HTTPS (CONNECT) and verifies the upstream', async () => {
    const r = await curl(['--cacert', pki.caFile, `${https.origin}/echo`], { https_proxy: proxy.url });
    assert.equal(r.status, 200, r.stderr);
    assert.equal(JSON.parse(r.body).method, 'GET');
    const line = await proxy.waitForLog((l) => l.event === 'connect' && l.target === `localhost:${https.port}`);
    assert.equal(line.decision, 'allow');
    assert.equal(line.status, 200);
    assert.equal(line.resolved, `127.0.0.1:${https.port}`);
    assert.ok((line.bytes_down as number) > 0 && (line.bytes_up as number) > 0);
  });

  it('curl without the upstream CA fails on the certificate, not on the proxy', async () => {
    const r = await curl([`${https.origin}/echo`], { https_proxy: proxy.url });
    assert.equal(r.code, 60, `curl exit code (60 = peer certificate not verified): ${r.stderr}`);
  });

  it('curl -x forwards plain HTTP with absolute URIs, keep-alive and hop-by-hop headers stripped', async () => {
    const r = await run('curl', [
      '-sS', '-x', proxy.url,
      '-H', 'Connection: keep-alive, X-Secret-Hop', '-H', 'X-Secret-Hop: 1', '-H', 'Keep-Alive: timeout=5',
      `${http.origin}/echo?a=1`, `${http.origin}/echo?a=2`,
      '-w', '\n%{num_connects}\n',
    ]);
    assert.equal(r.code, 0, r.stderr);
    // -w runs after each transfer: body, connects, body, connects.
    const [first, , second, connects] = r.stdout.trim().split('\n');
    const a = JSON.parse(first!);
    assert.equal(a.path, '/echo?a=1');
    assert.equal(JSON.parse(second!).path, '/echo?a=2');
    assert.equal(connects, '0', 'the second request reused the client connection');
    assert.equal(a.headers['x-secret-hop'], undefined);
    assert.equal(a.headers['keep-alive'], undefined);
    assert.equal(a.headers['proxy-connection'], undefined);
    assert.equal(a.headers.host, `127.0.0.1:${http.port}`);
    assert.equal(a.headers.via, '1.1 egresskit');
  });

  it('response hop-by-hop fields are dropped and Via added', async () => {
    const r = await run('curl', ['-sS', '-D', '-', '-o', '/dev/null', '-x', proxy.url, `${http.origin}/echo`]);
    assert.match(r.stdout, /^x-upstream: egresskit-test/im);
    assert.doesNotMatch(r.stdout, /^x-drop-me:/im);
    assert.match(r.stdout, /^via: 1\.1 egresskit/im);
  });

  it('streams request bodies both with Content-Length and chunked', async () => {
    const file = `${pki.dir}/body.bin`;
    await run('dd', ['if=/dev/urandom', `of=${file}`, 'bs=1M', 'count=3']);
    const expected = (await run('sha256sum', [file])).stdout.split(' ')[0];
    const sized = await curl(['-x', proxy.url, '--data-binary', `@${file}`, `${http.origin}/echo`]);
    assert.equal(JSON.parse(sized.body).bodySha256, expected);
    const chunked = await curl(['-x', proxy.url, '-H', 'Transfer-Encoding: chunked', '--data-binary', `@${file}`, `${http.origin}/echo`]);
    const echoed = JSON.parse(chunked.body);
    assert.equal(echoed.bodySha256, expected);
    assert.equal(echoed.bodyLength, 3 * 1024 * 1024);
    const line = await proxy.waitForLog((l) => l.event === 'http' && l.method === 'POST' && l.bytes_up === 3 * 1024 * 1024);
    assert.equal(line.status, 200);
  });

  it('Python urllib honours https_proxy and gets through', async () => {
    const script = [
      'import ssl, sys, urllib.request',
      `ctx = ssl.create_default_context(cafile=${JSON.stringify(pki.caFile)})`,
      `print(urllib.request.urlopen(${JSON.stringify(`${https.origin}/echo`)}, context=ctx).status)`,
    ].join('\n');
    const r = await run('python3', ['-c', script], { https_proxy: proxy.url });
    assert.equal(r.stdout.trim(), '200', r.stderr);
  });

  it('undici ProxyAgent: fetch over HTTPS with the test CA, and request() over plain HTTP', async () => {
    const ca = await readFile(pki.caFile, 'utf8');
    const agent = new ProxyAgent({ uri: proxy.url, requestTls: { ca } });
    try {
      const res = await fetch(`${https.origin}/echo`, { dispatcher: agent, method: 'POST', body: 'hello' });
      assert.equal(res.status, 200);
      assert.equal((await res.json() as { bodyLength: number }).bodyLength, 5);
      const plain = await request(`${http.origin}/bytes?n=100000`, { dispatcher: agent });
      assert.equal(plain.statusCode, 200);
      assert.equal((await plain.body.arrayBuffer()).byteLength, 100000);
    } finally {
      await agent.close();
    }
  });

  it('a tunnel keeps half-close: the client FIN reaches the destination and its answer still comes back', async () => {
    const s = await openSocket(proxy.port);
    s.write(`CONNECT 127.0.0.1:${half.port} HTTP/1.1\r\nHost: 127.0.0.1:${half.port}\r\n\r\n`);
    await readUntil(s, '\r\n\r\n');
    s.end('twelve bytes');
    const answer = await readUntil(s, 'FIN\n');
    assert.match(answer, /got 12 bytes after your FIN/);
    s.destroy();
    const line = await proxy.waitForLog((l) => l.event === 'connect' && l.target === `127.0.0.1:${half.port}`);
    assert.equal(line.bytes_up, 12);
    assert.equal(line.bytes_down, 'got 12 bytes after your FIN\n'.length);
  });

  it('a large download streams through a tunnel intact', async () => {
    const r = await run('curl', ['-sS', '-p', '-x', proxy.url, `${http.origin}/bytes?n=${64 * 1024 * 1024}`, '-o', '/dev/null', '-w', '%{size_download}']);
    assert.equal(r.stdout, String(64 * 1024 * 1024), r.stderr);
  });

  it('WebSocket-style Upgrade over plain HTTP is relayed both ways', async () => {
    const s = await openSocket(proxy.port);
    s.write(
      `GET http://127.0.0.1:${http.port}/ws HTTP/1.1\r\nHost: 127.0.0.1:${http.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    const head = await readUntil(s, '\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 101/);
    s.write('ping-frame');
    await readUntil(s, 'ping-frame');
    s.destroy();
    const line = await proxy.waitForLog((l) => l.event === 'upgrade');
    assert.equal(line.status, 101);
  });
});
