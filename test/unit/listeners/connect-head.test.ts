import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { scanConnectHead } from '../../../src/listeners/connect-head.js';

const LIMIT = 16 * 1024;
const scan = (s: string | Buffer, limit = LIMIT) => scanConnectHead(Buffer.isBuffer(s) ? s : Buffer.from(s, 'latin1'), limit);

describe('scanConnectHead: the CONNECT heads the plain listener reads itself', () => {
  test('a plain CONNECT head: target, Proxy-Authorization without surrounding whitespace, where the tunnel bytes start', () => {
    const head = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Authorization: \t Basic YTpi \t\r\nUser-Agent: curl/8\r\n\r\n';
    const r = scan(`${head}\x16\x03\x01`);
    assert.deepEqual(r, { kind: 'connect', head: { url: 'example.com:443', proxyAuthorization: 'Basic YTpi' }, end: head.length });
    assert.deepEqual(scan('CONNECT [::1]:8443 HTTP/1.0\r\n\r\n'), { kind: 'connect', head: { url: '[::1]:8443', proxyAuthorization: undefined }, end: 31 });
    // Any header name that is a token, any value of visible ASCII, space and tab, an empty value.
    assert.equal(scan("CONNECT a.b:1 HTTP/1.1\r\nX-A!#$%&'*+.^_`|~9: v\tw  x\r\nX-Empty:\r\n\r\n").kind, 'connect');
  });

  test('an incomplete head that is so far one: more bytes are needed', () => {
    for (const s of ['C', 'CONNECT', 'CONNECT example.com:443 HTTP/1.1\r', 'CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n']) {
      assert.deepEqual(scan(s), { kind: 'more' }, JSON.stringify(s));
    }
  });

  // Each of these goes to Node's HTTP server, which refuses it or reads it (its 400/431, request-line.ts).
  const other: Array<[string, string | Buffer]> = [
    ['not CONNECT', 'GET http://example.com/ HTTP/1.1\r\n\r\n'],
    ['lower-case method', 'connect example.com:443 HTTP/1.1\r\n\r\n'],
    ['a first byte that is not C', '\x16\x03\x01'],
    ['HTTP/1.2', 'CONNECT example.com:443 HTTP/1.2\r\n\r\n'],
    ['HTTP/2.0', 'CONNECT example.com:443 HTTP/2.0\r\n\r\n'],
    ['no version (HTTP/0.9 form)', 'CONNECT example.com:443\r\n\r\n'],
    ['two spaces', 'CONNECT  example.com:443 HTTP/1.1\r\n\r\n'],
    ['trailing space', 'CONNECT example.com:443 HTTP/1.1 \r\n\r\n'],
    ['a target with userinfo', 'CONNECT user@example.com:443 HTTP/1.1\r\n\r\n'],
    ['a target with a path', 'CONNECT example.com:443/x HTTP/1.1\r\n\r\n'],
    ['a tab in the request line', 'CONNECT\texample.com:443 HTTP/1.1\r\n\r\n'],
    ['a bare LF ending the request line', 'CONNECT example.com:443 HTTP/1.1\nHost: a\r\n\r\n'],
    ['a bare LF inside the target', 'CONNECT exam\nple.com:443 HTTP/1.1\r\n\r\n'],
    ['bare LFs only', 'CONNECT example.com:443 HTTP/1.1\n\n'],
    ['a bare CR', 'CONNECT example.com:443 HTTP/1.1\r\nX: a\rb\r\n\r\n'],
    ['a NUL byte', 'CONNECT example.com:443 HTTP/1.1\r\nX: a\0b\r\n\r\n'],
    ['a control byte', 'CONNECT example.com:443 HTTP/1.1\r\nX: a\x01b\r\n\r\n'],
    ['obs-text', Buffer.from('CONNECT example.com:443 HTTP/1.1\r\nX: caf\xe9\r\n\r\n', 'latin1')],
    ['UTF-8 in the target', Buffer.from('CONNECT bücher.example:443 HTTP/1.1\r\n\r\n', 'utf8')],
    ['obs-fold', 'CONNECT example.com:443 HTTP/1.1\r\nX: a\r\n b\r\n\r\n'],
    ['a header without a colon', 'CONNECT example.com:443 HTTP/1.1\r\nX a\r\n\r\n'],
    ['whitespace before the colon', 'CONNECT example.com:443 HTTP/1.1\r\nX : a\r\n\r\n'],
    ['an empty header name', 'CONNECT example.com:443 HTTP/1.1\r\n: a\r\n\r\n'],
    ['a header name that is not a token', 'CONNECT example.com:443 HTTP/1.1\r\nX(a): b\r\n\r\n'],
    ['Transfer-Encoding', 'CONNECT example.com:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['Content-Length', 'CONNECT example.com:443 HTTP/1.1\r\ncontent-length: 5\r\n\r\n'],
    ['two Proxy-Authorization headers', 'CONNECT example.com:443 HTTP/1.1\r\nProxy-Authorization: Basic YTpi\r\nproxy-authorization: Basic Yzpk\r\n\r\n'],
    ['too many header lines', `CONNECT example.com:443 HTTP/1.1\r\n${'X: a\r\n'.repeat(64)}\r\n`],
  ];
  for (const [why, bytes] of other) {
    test(`left to the HTTP server: ${why}`, () => assert.deepEqual(scan(bytes), { kind: 'other' }));
  }

  test('a head as long as the header limit, or bytes past it without an end, are left to the HTTP server (431 there)', () => {
    const head = `CONNECT example.com:443 HTTP/1.1\r\nX: ${'a'.repeat(100)}\r\n\r\n`;
    assert.equal(scan(head, head.length + 1).kind, 'connect');
    assert.equal(scan(head, head.length).kind, 'other');
    assert.equal(scan(`CONNECT example.com:443 HTTP/1.1\r\nX: ${'a'.repeat(200)}`, 100).kind, 'other');
  });
});
