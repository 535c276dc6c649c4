import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { toHar, type HarEntry } from '../../../../src/flows/har.js';
import { harErrors } from './har-validate.js';
import { body, makeFlow } from './make-flow.js';

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(200);

function entry(encoding: string, wire: Buffer, cap?: number): HarEntry {
  const f = makeFlow({ responseHeaders: [['Content-Type', 'text/plain; charset=utf-8'], ['Content-Encoding', encoding]], responseBody: body(wire, cap) });
  const har = toHar([f]);
  assert.deepEqual(harErrors(har), []);
  const [e] = har.log.entries;
  assert.ok(e);
  return e;
}

describe('HAR content: Content-Encoding is decoded, as the spec asks of content.text', () => {
  for (const [name, wire] of [
    ['gzip', gzipSync(TEXT)],
    ['x-gzip', gzipSync(TEXT)],
    ['br', brotliCompressSync(TEXT)],
    ['deflate', deflateSync(TEXT)],
    ['deflate', deflateRawSync(TEXT)], // raw deflate, as some servers send it
    ['gzip, br', brotliCompressSync(gzipSync(TEXT))],
    ['identity', Buffer.from(TEXT)],
  ] as Array<[string, Buffer]>) {
    test(`${name} (${wire.length} bytes sent)`, () => {
      const e = entry(name, wire);
      assert.equal(e.response.content.text, TEXT);
      assert.equal(e.response.content.size, TEXT.length);
      assert.equal(e.response.bodySize, wire.length);
      assert.equal(e.response.content.compression, name === 'identity' ? undefined : TEXT.length - wire.length);
      assert.equal(e.response.content.comment, undefined);
    });
  }

  test('a truncated capture decodes to the prefix it holds', () => {
    const wire = gzipSync(Buffer.from(Array.from({ length: 20_000 }, (_, i) => String(i)).join(',')));
    const e = entry('gzip', wire, 2000);
    const text = e.response.content.text ?? '';
    assert.ok(text.length > 2000, `decoded ${text.length} characters`);
    assert.ok(text.startsWith('0,1,2,3,'));
    assert.equal(e.response.content.size, wire.length, 'the decoded size is unknown: the size sent is given');
    assert.equal(e.response.content.compression, undefined);
    assert.match(e.response.content.comment ?? '', /truncated: 2000 of \d+ bytes captured; text is the decoded prefix/);
  });

  test('binary content is base64 of the decoded bytes', () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 0, 0]);
    const e = entry('gzip', gzipSync(bytes));
    assert.equal(e.response.content.encoding, 'base64');
    assert.deepEqual(Buffer.from(e.response.content.text ?? '', 'base64'), bytes);
  });

  test('what cannot be decoded is exported as sent, and says why', () => {
    const unknown = entry('zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00]));
    assert.equal(unknown.response.content.encoding, 'base64');
    assert.match(unknown.response.content.comment ?? '', /not decoded \(content-encoding zstd is not decoded by egresskit\)/);
    assert.equal(unknown.response.content.size, 5);
    const corrupt = entry('gzip', Buffer.from('not gzip at all'));
    assert.equal(corrupt.response.content.text, 'not gzip at all');
    assert.match(corrupt.response.content.comment ?? '', /not decoded \(gzip: /);
  });

  test('a decompression bomb stops at the ceiling', () => {
    const bomb = gzipSync(Buffer.alloc(17 * 1024 * 1024));
    assert.ok(bomb.length < 100_000);
    const e = entry('gzip', bomb);
    assert.match(e.response.content.comment ?? '', /decoded content is larger than 16777216 bytes/);
    assert.equal(e.response.content.size, bomb.length);
    assert.equal(e.response.content.encoding, 'base64');
  });

  test('an empty encoded body (HEAD, 304) has no text', () => {
    const e = entry('gzip', Buffer.alloc(0));
    assert.deepEqual(e.response.content, { size: 0, mimeType: 'text/plain; charset=utf-8' });
  });

  test('a compressed request body is decoded into postData.text', () => {
    const wire = gzipSync('{"big":"payload"}');
    const f = makeFlow({ method: 'POST', requestHeaders: [['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']], requestBody: body(wire) });
    const [e] = toHar([f]).log.entries;
    assert.deepEqual(e?.request.postData, { mimeType: 'application/json', text: '{"big":"payload"}' });
    assert.equal(e?.request.bodySize, wire.length);
  });
});
