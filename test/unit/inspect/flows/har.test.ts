import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toHar } from '../../../../src/flows/har.js';
import { body, makeFlow } from './make-flow.js';

describe('toHar', () => {
  test('log header and default creator', () => {
    const har = toHar([]);
    assert.equal(har.log.version, '1.2');
    assert.equal(har.log.creator.name, 'egresskit');
    assert.match(har.log.creator.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(har.log.entries, []);
  });

  test('intercepted JSON exchange', () => {
    const f = makeFlow({ method: 'POST', requestBody: body('{"k":"v"}'), requestHeaders: [['Content-Type', 'application/json']] });
    const [e] = toHar([f], { name: 'x', version: '9' }).log.entries;
    assert.ok(e);
    assert.equal(e.startedDateTime, f.startedAt);
    assert.equal(e.request.url, 'https://api.example.com/v1/items?a=1&b=two');
    assert.equal(e.request.httpVersion, 'HTTP/1.1');
    assert.deepEqual(e.request.queryString, [{ name: 'a', value: '1' }, { name: 'b', value: 'two' }]);
    assert.deepEqual(e.request.headers, [{ name: 'Content-Type', value: 'application/json' }]);
    assert.deepEqual(e.request.postData, { mimeType: 'application/json', text: '{"k":"v"}' });
    assert.equal(e.request.bodySize, 9);
    assert.equal(e.response.status, 200);
    assert.deepEqual(e.response.content, { size: 11, mimeType: 'application/json', text: '{"ok":true}' });
    assert.deepEqual({ send: e.timings.send, wait: e.timings.wait, receive: e.timings.receive }, { send: 1.5, wait: 8.5, receive: 2.25 });
    assert.equal(e.time, 12.25);
    assert.equal(e._egresskit.tls?.sni, 'api.example.com');
    assert.equal(e._egresskit.intercepted, true);
  });

  test('binary and truncated bodies', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff]);
    const truncated = { size: 1000, captured: Buffer.from('a'.repeat(10)), truncated: true };
    const f = makeFlow({ method: 'PUT', requestBody: truncated, responseBody: body(png), responseHeaders: [['Content-Type', 'image/png']] });
    const [e] = toHar([f]).log.entries;
    assert.ok(e);
    assert.equal(e.request.postData?.text, 'a'.repeat(10));
    assert.match(e.request.postData?.comment ?? '', /truncated: 10 of 1000/);
    assert.equal(e.request.bodySize, 1000);
    assert.equal(e.response.content.encoding, 'base64');
    assert.deepEqual(Buffer.from(e.response.content.text ?? '', 'base64'), png);
    assert.equal(e._egresskit.requestTruncated, true);
  });

  test('error flow without a response', () => {
    const f = makeFlow({ status: null, error: { code: 'upstream_tls', message: 'certificate has expired' } });
    const [e] = toHar([f]).log.entries;
    assert.ok(e);
    assert.equal(e.response.status, 0);
    assert.equal(e.request.postData, undefined);
    assert.deepEqual(e._egresskit.error, f.error);
    assert.ok(e.timings.wait >= 0 && e.timings.receive >= 0);
  });

  test('plain HTTP with a redirect and negative clock skew', () => {
    const f = makeFlow({ scheme: 'http', status: 302, responseHeaders: [['Location', 'http://x.example/next']] });
    f.timings = { startMs: 50, requestEndMs: 40, responseStartMs: 60, endMs: 70 };
    const [e] = toHar([f]).log.entries;
    assert.ok(e);
    assert.equal(e.request.url, 'http://api.example.com/plain?x=y');
    assert.equal(e.response.redirectURL, 'http://x.example/next');
    assert.equal(e.timings.send, 0);
    assert.equal(e._egresskit.intercepted, false);
    assert.equal(e._egresskit.tls, null);
  });
});
