import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { forwardRawResponseHeaders, forwardRequestHeaders, forwardResponseHeaders, rawFieldPairs, VIA } from '../../../src/pipeline/headers.js';

/** [name, value, ...] -> [[name, value], ...] for readable assertions. */
function pairs(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}

describe('forwardRequestHeaders', () => {
  const cases: Array<{
    name: string;
    raw: string[];
    connection?: string | string[];
    host?: string;
    keep?: string[];
    expected: Array<[string, string]>;
  }> = [
    {
      name: 'Host is replaced by the target authority and Via is added',
      raw: ['Host', 'client-said.example', 'Accept', '*/*'],
      host: 'example.com:8080',
      expected: [
        ['host', 'example.com:8080'],
        ['Accept', '*/*'],
        ['via', VIA],
      ],
    },
    {
      name: 'a missing Host is supplied',
      raw: ['Accept', '*/*'],
      expected: [
        ['host', 'example.com'],
        ['Accept', '*/*'],
        ['via', '1.1 egresskit'],
      ],
    },
    {
      name: 'every hop-by-hop field is removed, whatever its case',
      raw: [
        'Connection', 'keep-alive',
        'Proxy-Connection', 'keep-alive',
        'Keep-Alive', 'timeout=5',
        'TE', 'trailers',
        'Trailer', 'X-Checksum',
        'Transfer-Encoding', 'chunked',
        'UPGRADE', 'h2c',
        'Proxy-Authorization', 'Basic YWxpY2U6czNjcmV0',
        'proxy-authenticate', 'Basic',
        'Expect', '100-continue',
        'User-Agent', 'curl/8',
      ],
      connection: 'keep-alive',
      expected: [
        ['host', 'example.com'],
        ['User-Agent', 'curl/8'],
        ['via', VIA],
      ],
    },
    {
      name: 'fields named in Connection are removed',
      raw: ['Connection', 'close, X-Secret-Hop', 'X-Secret-Hop', '1', 'x-secret-hop', '2', 'X-Other', 'kept'],
      connection: 'close, X-Secret-Hop',
      expected: [
        ['host', 'example.com'],
        ['X-Other', 'kept'],
        ['via', VIA],
      ],
    },
    {
      name: 'several Connection header values',
      raw: ['Connection', 'close', 'Connection', 'X-A', 'X-A', '1', 'X-B', '2'],
      connection: ['close', ' X-A '],
      expected: [
        ['host', 'example.com'],
        ['X-B', '2'],
        ['via', VIA],
      ],
    },
    {
      name: 'order and duplicates of end-to-end fields are kept',
      raw: ['Cookie', 'a=1', 'Accept', 'text/html', 'Cookie', 'b=2'],
      expected: [
        ['host', 'example.com'],
        ['Cookie', 'a=1'],
        ['Accept', 'text/html'],
        ['Cookie', 'b=2'],
        ['via', VIA],
      ],
    },
    {
      name: 'Via is appended to an existing Via',
      raw: ['Via', '1.0 fred', 'Accept', '*/*'],
      expected: [
        ['host', 'example.com'],
        ['Accept', '*/*'],
        ['via', '1.0 fred, 1.1 egresskit'],
      ],
    },
    {
      name: 'several Via fields are joined in order, then ours',
      raw: ['Via', '1.0 fred', 'via', '1.1 nowhere.example (Apache/1.1)'],
      expected: [
        ['host', 'example.com'],
        ['via', '1.0 fred, 1.1 nowhere.example (Apache/1.1), 1.1 egresskit'],
      ],
    },
    {
      name: 'the keep set lets an Upgrade through',
      raw: ['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ==', 'Proxy-Authorization', 'Basic x'],
      connection: 'Upgrade',
      keep: ['connection', 'upgrade'],
      expected: [
        ['host', 'example.com'],
        ['Connection', 'Upgrade'],
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
        ['via', VIA],
      ],
    },
    {
      name: 'the keep set does not keep other fields Connection names',
      raw: ['Connection', 'Upgrade, X-Hop', 'Upgrade', 'websocket', 'X-Hop', '1'],
      connection: 'Upgrade, X-Hop',
      keep: ['connection', 'upgrade'],
      expected: [
        ['host', 'example.com'],
        ['Connection', 'Upgrade, X-Hop'],
        ['Upgrade', 'websocket'],
        ['via', VIA],
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const out = forwardRequestHeaders(c.raw, c.connection, c.host ?? 'example.com', c.keep ? new Set(c.keep) : undefined);
      assert.deepEqual(pairs(out), c.expected);
    });
  }

  test('does not mutate the raw headers', () => {
    const raw = ['Host', 'a', 'Connection', 'close'];
    forwardRequestHeaders(raw, 'close', 'b');
    assert.deepEqual(raw, ['Host', 'a', 'Connection', 'close']);
  });
});

describe('forwardResponseHeaders', () => {
  const cases: Array<{ name: string; headers: Record<string, string | string[] | undefined>; expected: Record<string, string | string[]> }> = [
    { name: 'adds Via', headers: { 'content-type': 'text/plain' }, expected: { 'content-type': 'text/plain', via: VIA } },
    { name: 'empty', headers: {}, expected: { via: VIA } },
    {
      name: 'removes hop-by-hop fields and those named in Connection',
      headers: {
        'content-type': 'text/html',
        connection: 'keep-alive, x-upstream-hop',
        'x-upstream-hop': 'secret',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'proxy-authenticate': 'Basic realm="upstream"',
        'proxy-connection': 'keep-alive',
        trailer: 'x-checksum',
        upgrade: 'h2c',
        te: 'trailers',
        'content-length': '12',
      },
      expected: { 'content-type': 'text/html', 'content-length': '12', via: VIA },
    },
    {
      name: 'Connection tokens are case-insensitive',
      headers: { connection: 'X-Hop', 'x-hop': '1', 'x-keep': '2' },
      expected: { 'x-keep': '2', via: VIA },
    },
    {
      name: 'arrays are kept (Set-Cookie)',
      headers: { 'set-cookie': ['a=1', 'b=2'] },
      expected: { 'set-cookie': ['a=1', 'b=2'], via: VIA },
    },
    { name: 'undefined values are dropped', headers: { 'x-a': undefined, 'x-b': 'b' }, expected: { 'x-b': 'b', via: VIA } },
    { name: 'Via is appended to an existing Via', headers: { via: '1.1 upstream-cdn' }, expected: { via: '1.1 upstream-cdn, 1.1 egresskit' } },
    { name: 'several Via values', headers: { via: ['1.0 a', '1.1 b'] }, expected: { via: '1.0 a, 1.1 b, 1.1 egresskit' } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(forwardResponseHeaders(c.headers), c.expected);
    });
  }
});

/** undici's raw response head: [name, value, ...] as Buffers. */
const raw = (...fields: string[]) => fields.map((f) => Buffer.from(f, 'latin1'));

describe('forwardRawResponseHeaders (the relay path: undici raw head)', () => {
  test('removes every hop-by-hop field, whatever its case, and those named in Connection', () => {
    const head = forwardRawResponseHeaders(
      raw(
        'Content-Type', 'text/html',
        'Connection', 'keep-alive, X-Upstream-Hop',
        'x-upstream-hop', 'secret',
        'Keep-Alive', 'timeout=5',
        'Transfer-Encoding', 'chunked',
        'Proxy-Authenticate', 'Basic realm="upstream"',
        'Proxy-Connection', 'keep-alive',
        'Trailer', 'x-checksum',
        'Upgrade', 'h2c',
        'TE', 'trailers',
        'Expect', '100-continue',
        'Content-Length', '12',
      ),
    );
    assert.deepEqual(pairs(head.fields), [
      ['Content-Type', 'text/html'],
      ['Content-Length', '12'],
      ['via', VIA],
    ]);
    assert.equal(head.chunked, true);
    assert.equal(head.contentLength, '12');
  });
  test('several Connection fields each name fields to drop', () => {
    const head = forwardRawResponseHeaders(raw('Connection', 'x-a', 'connection', 'X-B', 'x-a', '1', 'X-B', '2', 'x-c', '3'));
    assert.deepEqual(pairs(head.fields), [['x-c', '3'], ['via', VIA]]);
  });
  test('repeated fields stay separate and in wire order (Set-Cookie)', () => {
    const head = forwardRawResponseHeaders(raw('Set-Cookie', 'a=1', 'X-Other', 'o', 'Set-Cookie', 'b=2'));
    assert.deepEqual(pairs(head.fields), [['Set-Cookie', 'a=1'], ['X-Other', 'o'], ['Set-Cookie', 'b=2'], ['via', VIA]]);
    assert.equal(head.chunked, false);
    assert.equal(head.contentLength, undefined);
  });
  test('Via values are joined and egresskit appended', () => {
    assert.deepEqual(pairs(forwardRawResponseHeaders(raw('Via', '1.0 a', 'via', '1.1 b')).fields), [['via', `1.0 a, 1.1 b, ${VIA}`]]);
    assert.deepEqual(pairs(forwardRawResponseHeaders([]).fields), [['via', VIA]]);
  });
  test('a repeated Content-Length is not a length (the relay then treats the body as unframed)', () => {
    assert.equal(forwardRawResponseHeaders(raw('Content-Length', '5', 'Content-Length', '5')).contentLength, '5, 5');
  });
  test('rawFieldPairs lowercases names as the flow records them', () => {
    assert.deepEqual(rawFieldPairs(raw('Content-Type', 'a', 'X-Y', 'b')), [['content-type', 'a'], ['x-y', 'b']]);
    assert.deepEqual(rawFieldPairs(null), []);
  });
});
