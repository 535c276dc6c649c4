import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { rawExchange, statusOf } from '../helpers/raw.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';

// Every malformed input gets a clear answer (or a close), is never forwarded, and the proxy
// keeps serving the next client.
describe('forward: bad input on raw sockets', () => {
  let http: Upstream;
  let proxy: CliProxy;
  let target: string;
  before(async () => {
    http = await startHttpUpstream();
    target = `127.0.0.1:${http.port}`;
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${http.port},443`]);
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
  });

  const cases: Array<{ name: string; send: () => string; status: number; body?: RegExp }> = [
    { name: 'Content-Length with Transfer-Encoding', send: () => `POST http://${target}/echo HTTP/1.1\r\nHost: ${target}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, status: 400, body: /ambiguous message framing/ },
    { name: 'two different Content-Lengths', send: () => `POST http://${target}/echo HTTP/1.1\r\nHost: ${target}\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, status: 400 },
    { name: 'Transfer-Encoding: chunked, identity', send: () => `POST http://${target}/echo HTTP/1.1\r\nHost: ${target}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`, status: 400 },
    { name: 'Transfer-Encoding: xchunked', send: () => `POST http://${target}/echo HTTP/1.1\r\nHost: ${target}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`, status: 400 },
    { name: 'space before the colon in Transfer-Encoding', send: () => `POST http://${target}/echo HTTP/1.1\r\nHost: ${target}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`, status: 400 },
    { name: 'bad chunk size', send: () => `POST http://${target}/echo HTTP/1.1\r\nHost: ${target}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`, status: 400 },
    { name: 'oversized header section', send: () => `GET http://${target}/echo HTTP/1.1\r\nHost: ${target}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, status: 431 },
    { name: 'not HTTP at all', send: () => '\x16\x03\x01\x00\xa5garbage\r\n\r\n', status: 400 },
    { name: 'CONNECT without a port', send: () => 'CONNECT example.com HTTP/1.1\r\n\r\n', status: 400, body: /the port is required/ },
    { name: 'CONNECT with a port out of range', send: () => 'CONNECT example.com:70000 HTTP/1.1\r\n\r\n', status: 400 },
    { name: 'CONNECT with userinfo', send: () => 'CONNECT user@example.com:443 HTTP/1.1\r\n\r\n', status: 400 },
    { name: 'CONNECT to an invalid host name', send: () => 'CONNECT exa$mple.com:443 HTTP/1.1\r\n\r\n', status: 400 },
    { name: 'origin-form request (not a proxy request)', send: () => 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, body: /this is an egress proxy, not a web server/ },
    { name: 'credentials in the absolute URI', send: () => `GET http://u:p@${target}/ HTTP/1.1\r\nHost: x\r\n\r\n`, status: 400 },
    { name: 'unsupported scheme', send: () => 'GET ftp://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n', status: 400 },
    { name: 'https:// absolute URI (needs CONNECT)', send: () => 'GET https://example.com/ HTTP/1.1\r\nHost: x\r\n\r\n', status: 400, body: /must be sent through a CONNECT tunnel/ },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.status}, with Proxy-Status, and the proxy still serves`, async () => {
      const res = await rawExchange(proxy.port, c.send());
      assert.equal(statusOf(res), c.status, res);
      assert.match(res, /\r\nProxy-Status: egresskit; error=/i);
      if (c.body) assert.match(res, c.body);
      const next = await curl(['-x', proxy.url, `http://${target}/echo`]);
      assert.equal(next.status, 200);
    });
  }

  it('nothing refused above was forwarded upstream', async () => {
    const forwarded = proxy.logs.filter((l) => l.event === 'http' && l.method === 'POST' && l.status === 200);
    assert.equal(forwarded.length, 0, JSON.stringify(forwarded));
  });

  it('a client that resets mid-CONNECT does not take the proxy down', async () => {
    for (let i = 0; i < 20; i++) {
      await rawExchange(proxy.port, `CONNECT ${target} HTTP/1.1\r\n`, 20);
    }
    assert.equal((await curl(['-x', proxy.url, `http://${target}/echo`])).status, 200);
  });
});
