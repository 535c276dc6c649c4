import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toHar } from '../../../../src/flows/har.js';
import { flowsFromHar } from '../../../../src/flows/har-import.js';
import { flowsFromHarOffThread } from '../../../../src/flows/har-import-off-thread.js';
import { body, makeFlow } from './make-flow.js';

const entry = (over: Record<string, unknown> = {}) => ({
  startedDateTime: '2026-01-01T00:00:00.000Z',
  time: 20,
  request: { method: 'GET', url: 'https://api.example.com/x', httpVersion: 'h2', headers: [{ name: ':authority', value: 'api.example.com' }, { name: 'accept', value: '*/*' }] },
  response: { status: 200, statusText: '', httpVersion: 'h2', headers: [{ name: 'content-encoding', value: 'br' }, { name: 'content-type', value: 'text/plain' }], content: { size: 5, text: 'hello' } },
  timings: { dns: 1, connect: 2, ssl: -1, send: 1, wait: 15, receive: 4 },
  ...over,
});

const only = (har: unknown) => {
  const r = flowsFromHar(JSON.stringify(har));
  if ('error' in r) throw new Error(r.error);
  return r.flows;
};

describe('HAR import', () => {
  test('a browser\'s entry: imported, h2, pseudo-headers and the content-encoding of decoded text dropped, phases kept', () => {
    const [f] = only({ log: { entries: [entry()] } });
    assert.equal(f!.imported, true);
    assert.equal(f!.request.httpVersion, 'HTTP/2');
    assert.deepEqual(f!.request.headers, [['accept', '*/*']]);
    assert.deepEqual(f!.response!.headers, [['content-type', 'text/plain']]);
    assert.equal(f!.response!.body.captured.toString(), 'hello');
    assert.deepEqual(f!.phases, { dnsMs: 1, connectMs: 2 });
    assert.equal(f!.timings.endMs, 20);
    assert.equal(f!.host, 'api.example.com');
  });

  test('egresskit\'s own export round-trips: bodies (binary too), WebSocket messages, tunnels, errors', () => {
    const ws = makeFlow({ status: 101, websocket: { messages: [{ direction: 'send', opcode: 2, at: 1767323045678, data: body(Buffer.from([0, 255])) }], droppedMessages: 0 } });
    const bin = makeFlow({ responseHeaders: [['content-type', 'image/png']], responseBody: body(Buffer.from([0x89, 0x50, 0, 1])) });
    const tunnel = makeFlow({ method: 'CONNECT', url: 'blocked.example:8443', host: 'blocked.example', port: 8443, status: 403, error: { code: 'policy_denied', message: 'refused' } });
    tunnel.kind = 'tunnel';
    const har = toHar([ws, bin, tunnel]);
    // HAR wants an absolute URL; a bare host:port would parse as the scheme "blocked.example:".
    assert.equal(har.log.entries[2]!.request.url, 'https://blocked.example:8443/');
    const back = only(har);
    assert.deepEqual(back[0]!.websocket!.messages[0]!.data.captured, Buffer.from([0, 255]));
    assert.deepEqual(back[1]!.response!.body.captured, Buffer.from([0x89, 0x50, 0, 1]));
    assert.equal(back[2]!.kind, 'tunnel');
    assert.equal(back[2]!.port, 8443);
    assert.deepEqual(back[2]!.error, { code: 'policy_denied', message: 'refused' });
    assert.equal(back[2]!.request.url, 'blocked.example:8443');
  });

  test('a CONNECT written as a bare authority (older exports, other tools) is a tunnel too, its default port kept', () => {
    const [bare, absolute] = only({
      log: { entries: [entry({ request: { method: 'CONNECT', url: 'old.example:443', httpVersion: 'HTTP/1.1', headers: [] } }), entry({ request: { method: 'CONNECT', url: 'https://new.example:443/', httpVersion: 'HTTP/1.1', headers: [] } })] },
    });
    assert.deepEqual([bare!.kind, bare!.host, bare!.port, bare!.request.url], ['tunnel', 'old.example', 443, 'old.example:443']);
    assert.deepEqual([absolute!.kind, absolute!.host, absolute!.port, absolute!.request.url], ['tunnel', 'new.example', 443, 'new.example:443']);
  });

  test('what is wrong is said with its place', () => {
    assert.deepEqual(flowsFromHar('[]'), { error: 'not a HAR file: the document: Invalid input: expected object, received array' });
    const r = flowsFromHar(JSON.stringify({ log: { entries: [entry(), entry({ request: { method: 'GET', url: 'ftp://x/' } })] } }));
    assert.match('error' in r ? r.error : '', /^log\.entries\[1\]: request\.url "ftp:" is not http, https, ws or wss$/);
  });

  test('off the event loop: the worker\'s flows come back with Buffers', async () => {
    const r = await flowsFromHarOffThread(Buffer.from(JSON.stringify(toHar([makeFlow({ responseBody: body('x') })]))));
    assert.ok('flows' in r);
    assert.ok(Buffer.isBuffer(r.flows[0]!.response!.body.captured));
    assert.ok(Buffer.isBuffer(r.flows[0]!.request.body.captured));
  });
});
