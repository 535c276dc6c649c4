import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl, run } from '../helpers/exec.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';

/** One absolute-URI request through the proxy with node:http, keeping what curl hides. */
function viaProxy(proxyPort: number, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; rawHeaders: string[]; body: string; trailers: Record<string, string | undefined>; error?: string }>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxyPort, method: init.method ?? 'GET', path: url, headers: { host: new URL(url).host, ...init.headers } });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, trailers: res.trailers }));
      res.on('error', (err) => resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, trailers: {}, error: err.message }));
    });
    req.on('error', (err) => resolve({ status: 0, headers: {}, rawHeaders: [], body: '', trailers: {}, error: err.message }));
    req.end(init.body);
  });
}

describe('forward: HTTP semantics through absolute-URI forwarding', () => {
  let http: Upstream;
  let proxy: CliProxy;
  before(async () => {
    http = await startHttpUpstream();
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${http.port}`]);
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
  });

  it('HEAD keeps Content-Length and sends no body', async () => {
    const r = await viaProxy(proxy.port, `${http.origin}/bytes?n=1234`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], '1234');
    assert.equal(r.body, '');
  });

  for (const code of [204, 304, 404, 503]) {
    it(`status ${code} passes through unchanged`, async () => {
      const r = await viaProxy(proxy.port, `${http.origin}/status/${code}`);
      assert.equal(r.status, code);
      assert.equal(r.headers['x-status'], String(code));
      assert.equal(r.body, '');
    });
  }

  it('trailers of a chunked response reach the client', async () => {
    const r = await viaProxy(proxy.port, `${http.origin}/trailers`, { headers: { te: 'trailers' } });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'part one, part two');
    assert.equal(r.trailers['x-checksum'], 'abc123');
  });

  it('repeated Set-Cookie fields stay separate', async () => {
    const r = await viaProxy(proxy.port, `${http.origin}/cookies`);
    assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
  });

  it('Expect: 100-continue works for uploads (curl sends it for large bodies)', async () => {
    const r = await curl(['-x', proxy.url, '-H', 'Expect: 100-continue', '--data-binary', 'x'.repeat(1024), `${http.origin}/echo`]);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).bodyLength, 1024);
    assert.equal(JSON.parse(r.body).headers.expect, undefined, 'Expect is hop-by-hop here: the proxy answered it');
  });

  it('an upstream that dies mid-body cuts the client off (no silent truncation) and logs it', async () => {
    const r = await run('curl', ['-sS', '-x', proxy.url, `${http.origin}/truncate`, '-o', '/dev/null']);
    assert.equal(r.code, 18, `curl reports a partial transfer: ${r.stderr}`);
    const line = await proxy.waitForLog((l) => l.url === `${http.origin}/truncate`);
    assert.equal(line.status, 200);
    assert.ok(line.error, 'the record names the failure');
  });
});
