/**
 * The parser behaviour isHttp1Request (src/quirks/node-quirks.ts) guards against: llhttp hands
 * on request lines that are not HTTP/1.x. Red on the Node version whose parser refuses them
 * itself: the entry checks are then dead code and can go.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { isHttp1Request } from '../../../src/quirks/node-quirks.js';

interface Seen {
  event: 'request' | 'connect' | 'upgrade' | 'clientError';
  method?: string | undefined;
  url?: string | undefined;
  major?: number;
  headers?: string[];
  http1?: boolean;
  code?: string | undefined;
}

describe('quirk: llhttp lets request lines without HTTP/1.x through', () => {
  const server = createServer({ requireHostHeader: false });
  let port = 0;
  let last: ((s: Seen) => void) | undefined;
  const note = (event: Seen['event']) => (req: IncomingMessage, out: { destroy(): void }) => {
    last?.({ event, method: req.method, url: req.url, major: req.httpVersionMajor, headers: req.rawHeaders, http1: isHttp1Request(req) });
    out.destroy();
  };
  server.on('request', note('request'));
  server.on('connect', note('connect'));
  server.on('upgrade', note('upgrade'));
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    last?.({ event: 'clientError', code: err.code });
    socket.destroy();
  });
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  function parse(bytes: string): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the parser neither took nor refused ${JSON.stringify(bytes)}`)), 2000);
      last = (s) => {
        clearTimeout(timer);
        last = undefined;
        resolve(s);
      };
      const c = connect(port, '127.0.0.1', () => c.write(bytes));
      c.on('error', () => undefined);
    });
  }

  test('"GET /" with no version is a request of HTTP/0.9', async () => {
    assert.deepEqual(await parse('GET /\r\n\r\n'), { event: 'request', method: 'GET', url: '/', major: 0, headers: [], http1: false });
  });

  test('"CONNECT host:443" with no version is a CONNECT of HTTP/0.9', async () => {
    assert.deepEqual(await parse('CONNECT example.com:443\r\n\r\n'), { event: 'connect', method: 'CONNECT', url: 'example.com:443', major: 0, headers: [], http1: false });
  });

  test('a bare LF inside a CONNECT target ends the line there; the rest becomes a header field', async () => {
    const seen = await parse('CONNECT exa\nmple.com:443 HTTP/1.1\r\n\r\n');
    assert.deepEqual(seen, { event: 'connect', method: 'CONNECT', url: 'exa', major: 0, headers: ['mple.com', '443 HTTP/1.1'], http1: false });
  });

  test('an Upgrade without a version is an upgrade of HTTP/0.9', async () => {
    const seen = await parse('GET http://example.com/\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    assert.equal(seen.event, 'upgrade');
    assert.equal(seen.major, 0);
    assert.equal(seen.http1, false);
  });

  test('"HTTP/2.0" in an HTTP/1 request line is accepted as version 2.0', async () => {
    const seen = await parse('GET http://example.com/ HTTP/2.0\r\n\r\n');
    assert.equal(seen.event, 'request');
    assert.equal(seen.major, 2);
    assert.equal(seen.http1, false);
  });

  test('a bare CR inside the target and other versions are refused by the parser itself', async () => {
    assert.equal((await parse('CONNECT exa\rmple.com:443 HTTP/1.1\r\n\r\n')).event, 'clientError');
    for (const v of ['1.2', '3.0', '9.9']) assert.equal((await parse(`GET http://example.com/ HTTP/${v}\r\n\r\n`)).event, 'clientError', v);
  });

  test('HTTP/1.0 and HTTP/1.1 are what isHttp1Request lets through', async () => {
    for (const v of ['1.0', '1.1']) {
      const seen = await parse(`GET http://example.com/ HTTP/${v}\r\nHost: example.com\r\n\r\n`);
      assert.equal(seen.major, 1);
      assert.equal(seen.http1, true, v);
    }
  });
});
