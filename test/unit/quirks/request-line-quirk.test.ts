/**
 * The parser behaviour isHttp1Request and inFlightResponse (src/quirks/node-quirks.ts) rely on:
 * llhttp hands on request lines that are not HTTP/1.x, and refuses some framing only after it
 * emitted the request. Red on the Node version where that changes: the entry checks are then
 * dead code, or the clientError handler must find the owed response another way.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inFlightResponse, isHttp1Request } from '../../../src/quirks/node-quirks.js';

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

describe('quirk: a parse error after the request was handed on finds its response in flight', () => {
  /** What the server saw for `bytes`, in order, and what inFlightResponse said on the error. */
  async function sequence(bytes: string): Promise<{ events: string[]; owed: ServerResponse | undefined; res: ServerResponse | undefined }> {
    const server = createServer({ requireHostHeader: false });
    const events: string[] = [];
    let res: ServerResponse | undefined;
    let owed: ServerResponse | undefined;
    server.on('request', (req: IncomingMessage, r: ServerResponse) => {
      events.push(`request ${req.headers['transfer-encoding'] ?? ''}`);
      res = r;
      req.on('error', () => undefined);
    });
    const refused = new Promise<void>((resolve) =>
      server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
        events.push(`clientError ${err.code ?? ''}`);
        owed = inFlightResponse(socket);
        socket.destroy();
        resolve();
      }),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const c = connect((server.address() as AddressInfo).port, '127.0.0.1', () => c.write(bytes));
    c.on('error', () => undefined);
    await Promise.race([refused, new Promise((r) => setTimeout(r, 2000))]);
    c.destroy();
    server.close();
    return { events, owed, res };
  }

  test('a Transfer-Encoding that does not end in chunked is refused only after the request was emitted', async () => {
    const seen = await sequence('DELETE http://example.com/ HTTP/1.1\r\nTransfer-Encoding: x\r\n\r\n');
    // Red here means llhttp refuses the head before emitting it: the entry's check is then dead code.
    assert.deepEqual(seen.events, ['request x', 'clientError HPE_INVALID_TRANSFER_ENCODING']);
    assert.ok(seen.res, 'no response object');
    // Red here means Node no longer keeps the response on the socket (_httpMessage): inFlightResponse must change.
    assert.equal(seen.owed, seen.res);
  });

  test('junk after a complete request is refused while that request\'s response is owed', async () => {
    const seen = await sequence('GET http://example.com/ HTTP/1.1\r\n\r\n\x00junk\r\n\r\n');
    assert.deepEqual(seen.events, ['request ', 'clientError HPE_INVALID_METHOD']);
    assert.equal(seen.owed, seen.res);
    assert.equal(seen.owed?.req.complete, true);
  });

  test('with nothing in flight there is no response', async () => {
    const seen = await sequence('\x00junk\r\n\r\n');
    assert.deepEqual(seen.events, ['clientError HPE_INVALID_METHOD']);
    assert.equal(seen.owed, undefined);
  });
});
