import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FlowStore, REDACTED } from '../../../../src/flows/flow-store.js';
import type { Flow } from '../../../../src/flows/flow.js';
import { toHar, type HarEntry } from '../../../../src/flows/har.js';
import { harErrors } from './har-validate.js';
import { body, makeFlow, makeWebSocketFlow } from './make-flow.js';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
const JSON_TEXT = JSON.stringify({ items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `item ${i}` })) });

/** One flow of every shape the engine produces, keyed by what it exercises. */
function variedFlows(): Record<string, Flow> {
  const open = makeFlow({ host: 'slow.example', status: null });
  open.state = 'open';
  delete open.timings.responseStartMs;
  delete open.timings.endMs;
  return {
    get: makeFlow(),
    postJson: makeFlow({ method: 'POST', requestHeaders: [['Content-Type', 'application/json']], requestBody: body('{"k":"v","n":1}') }),
    binaryBodies: makeFlow({
      method: 'PUT',
      requestHeaders: [['Content-Type', 'application/octet-stream']],
      requestBody: body(PNG),
      responseHeaders: [['Content-Type', 'image/png']],
      responseBody: body(PNG),
    }),
    truncated: makeFlow({ method: 'POST', requestBody: body('x'.repeat(100), 10), responseBody: body('y'.repeat(100), 20) }),
    gzip: makeFlow({
      responseHeaders: [['Content-Type', 'application/json'], ['Content-Encoding', 'gzip']],
      responseBody: body(gzipSync(JSON_TEXT)),
    }),
    plainHttp: makeFlow({ scheme: 'http', host: 'plain.example', url: 'http://plain.example/index.html?q=a+b', responseHeaders: [['Content-Type', 'text/html']], responseBody: body('<h1>hi</h1>') }),
    error: makeFlow({ host: 'expired.example', status: null, error: { code: 'upstream_tls', message: 'certificate has expired' } }),
    open,
    http2: makeFlow({
      host: 'h2.example',
      httpVersion: 'HTTP/2',
      // No pseudo-headers: the engine keeps :method/:path/:authority out of the header list.
      requestHeaders: [['user-agent', 'curl/8'], ['accept', '*/*']],
      responseHeaders: [['content-type', 'application/json'], ['x-served-by', 'h2']],
    }),
    trailers: makeFlow({ host: 'grpc.example', responseTrailers: [['grpc-status', '0'], ['grpc-message', '']] }),
    hostileTarget: makeFlow({ host: 'odd.example', url: '/a b/"quoted"/<tag>?x=<y>' }),
    ipv6: makeFlow({ host: '2001:db8::1', port: 8443, url: '/v6' }),
    websocket: makeWebSocketFlow(),
  };
}

function entryFor(entries: HarEntry[], f: Flow): HarEntry {
  const e = entries.find((x) => x._egresskit.id === f.id);
  assert.ok(e, `no entry for ${f.id}`);
  return e;
}

describe('HAR export against the har-schema JSON schema', () => {
  const flows = variedFlows();
  const har = toHar(Object.values(flows));
  const { entries } = har.log;

  test('every kind of flow validates', () => {
    assert.deepEqual(harErrors(har), []);
    // And survives a JSON round trip (what the UI serves and tools read).
    assert.deepEqual(harErrors(JSON.parse(JSON.stringify(har))), []);
    assert.equal(entries.length, Object.keys(flows).length);
  });

  test('fields tools rely on: postData, content, timings, startedDateTime', () => {
    for (const e of entries) {
      assert.equal(new Date(e.startedDateTime).toISOString(), e.startedDateTime);
      for (const k of ['send', 'wait', 'receive'] as const) assert.ok(e.timings[k] >= 0, `${k} of ${e.request.url}`);
      assert.ok(Number.isInteger(e.response.content.size));
      assert.equal(typeof e.response.content.mimeType, 'string');
    }
    const post = entryFor(entries, flows.postJson!);
    assert.deepEqual(post.request.postData, { mimeType: 'application/json', text: '{"k":"v","n":1}' });
    const bin = entryFor(entries, flows.binaryBodies!);
    assert.deepEqual([bin.response.content.mimeType, bin.response.content.encoding, bin.response.content.size], ['image/png', 'base64', PNG.length]);
    assert.deepEqual(Buffer.from(bin.response.content.text ?? '', 'base64'), PNG);
    assert.deepEqual([bin.request.postData?.mimeType, bin.request.postData?._encoding], ['application/octet-stream', 'base64']);
    assert.deepEqual(Buffer.from(bin.request.postData?.text ?? '', 'base64'), PNG);
    assert.equal(Object.hasOwn(bin.request.postData ?? {}, 'encoding'), false, 'HAR 1.2 postData has no encoding field');
    const get = entryFor(entries, flows.get!);
    assert.deepEqual(get.response.content, { size: 11, mimeType: 'application/json', text: '{"ok":true}' });
    assert.equal(get.request.postData, undefined);
  });

  test('gzip: text is the decoded body, size the decoded length, bodySize what was sent', () => {
    const e = entryFor(entries, flows.gzip!);
    const wire = flows.gzip!.response!.body.size;
    assert.equal(e.response.content.text, JSON_TEXT);
    assert.equal(e.response.content.encoding, undefined);
    assert.equal(e.response.content.size, Buffer.byteLength(JSON_TEXT));
    assert.equal(e.response.bodySize, wire);
    assert.equal(e.response.content.compression, Buffer.byteLength(JSON_TEXT) - wire);
    assert.ok(e.response.content.size > e.response.bodySize);
  });

  test('truncated bodies say so, with the full sizes', () => {
    const e = entryFor(entries, flows.truncated!);
    assert.equal(e.request.bodySize, 100);
    assert.equal(e.request.postData?.text, 'x'.repeat(10));
    assert.match(e.request.postData?.comment ?? '', /truncated: 10 of 100 bytes/);
    assert.deepEqual([e.response.bodySize, e.response.content.size, e.response.content.text], [100, 100, 'y'.repeat(20)]);
    assert.deepEqual([e._egresskit.requestTruncated, e._egresskit.responseTruncated], [true, true]);
  });

  test('plain HTTP, errors and open flows', () => {
    const plain = entryFor(entries, flows.plainHttp!);
    assert.equal(plain.request.url, 'http://plain.example/index.html?q=a+b');
    assert.deepEqual(plain.request.queryString, [{ name: 'q', value: 'a b' }]);
    assert.equal(plain._egresskit.tls, null);
    const err = entryFor(entries, flows.error!);
    assert.deepEqual([err.response.status, err.response.bodySize, err.response.content.mimeType], [0, -1, 'x-unknown']);
    assert.deepEqual(err._egresskit.error, flows.error!.error);
    const open = entryFor(entries, flows.open!);
    assert.equal(open._egresskit.state, 'open');
    assert.equal(open.timings.receive, 0);
  });

  test('HTTP/2: the version as recorded, headers without pseudo-headers, trailers kept aside', () => {
    const h2 = entryFor(entries, flows.http2!);
    assert.deepEqual([h2.request.httpVersion, h2.response.httpVersion], ['HTTP/2', 'HTTP/2']);
    assert.ok(h2.request.headers.every((h) => !h.name.startsWith(':')));
    const tr = entryFor(entries, flows.trailers!);
    assert.deepEqual(tr._egresskit.trailers, [{ name: 'grpc-status', value: '0' }, { name: 'grpc-message', value: '' }]);
  });

  test('request targets a lenient parser let through become URIs; the raw target is kept aside', () => {
    const e = entryFor(entries, flows.hostileTarget!);
    assert.equal(e.request.url, 'https://odd.example/a%20b/%22quoted%22/%3Ctag%3E?x=%3Cy%3E');
    assert.equal(e._egresskit.requestTarget, '/a b/"quoted"/<tag>?x=<y>');
    assert.deepEqual(e.request.queryString, [{ name: 'x', value: '<y>' }]);
    assert.equal(entryFor(entries, flows.ipv6!).request.url, 'https://[2001:db8::1]:8443/v6');
    assert.equal(entryFor(entries, flows.get!)._egresskit.requestTarget, undefined);
  });

  test('redacted headers stay redacted in the export', () => {
    const store = new FlowStore({ redact: ['authorization', 'cookie', 'set-cookie'] });
    store.add(
      makeFlow({
        requestHeaders: [['Authorization', 'Bearer sekrit-token'], ['Cookie', 'sid=sekrit-cookie']],
        responseHeaders: [['Set-Cookie', 'sid=sekrit-new; HttpOnly'], ['Content-Type', 'text/plain']],
      }),
    );
    const redacted = toHar(store.list());
    assert.deepEqual(harErrors(redacted), []);
    const [e] = redacted.log.entries;
    assert.deepEqual(e?.request.headers.map((h) => h.value), [REDACTED, REDACTED]);
    assert.deepEqual(e?.response.headers[0], { name: 'Set-Cookie', value: REDACTED });
    assert.doesNotMatch(JSON.stringify(redacted), /sekrit/);
  });

  test('the validator rejects what the spec forbids', () => {
    const broken = JSON.parse(JSON.stringify(toHar([flows.get!]))) as { log: { entries: Array<Record<string, unknown> & { request: Record<string, unknown>; timings: Record<string, unknown> }> } };
    const [e] = broken.log.entries;
    assert.ok(e);
    e.startedDateTime = 'yesterday';
    e.time = -5;
    e.request.url = 'https://bad host/<x>';
    delete e.request.headers;
    e.timings.wait = -1;
    const errors = harErrors(broken);
    for (const want of [/startedDateTime.*date-time|startedDateTime.*pattern/, /\/time/, /request\/url.*uri/, /headers/, /timings\/wait is negative/]) {
      assert.ok(errors.some((m) => want.test(m)), `${want} in\n${errors.join('\n')}`);
    }
    assert.ok(harErrors({}).some((m) => /log/.test(m)));
  });
});
