import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { FlowStore } from '../../../src/flows/flow-store.js';
import type { Flow } from '../../../src/flows/flow.js';
import { toHar } from '../../../src/flows/har.js';
import { createUiServer } from '../../../src/ui/ui-server.js';
import { harErrors } from '../../unit/inspect/flows/har-validate.js';
import { body, makeFlow } from '../../unit/inspect/flows/make-flow.js';

const JSON_TEXT = '{"items":[1,2,3],"name":"egresskit"}';

describe('inspect UI: the app\'s detail and action routes', () => {
  const store = new FlowStore({ maxFlows: 100 });
  const server = createUiServer({ store, caCertPem: '', version: '0.0.0-test', caCertFile: '/tmp/egk/ca.crt', maxImportBytes: 64 * 1024 });
  let base: string;
  const enc = (encoding: string, bytes: Buffer, headers: Array<[string, string]> = [['content-type', 'application/json; charset=utf-8']]) =>
    makeFlow({ responseHeaders: [...headers, ['content-encoding', encoding]], responseBody: body(bytes) });
  const flows: Record<string, Flow> = {
    gzip: enc('gzip', gzipSync(JSON_TEXT)),
    br: enc('br', brotliCompressSync(JSON_TEXT)),
    deflate: enc('deflate', deflateSync(JSON_TEXT)),
    rawDeflate: enc('deflate', deflateRawSync(JSON_TEXT)),
    twice: enc('gzip, br', brotliCompressSync(gzipSync(JSON_TEXT))),
    // 64 MiB of zeros, 64 KiB compressed: past the 16 MiB decoding ceiling.
    bomb: enc('gzip', gzipSync(Buffer.alloc(64 * 1024 * 1024))),
    unknown: enc('compress', Buffer.from('xx')),
    html: makeFlow({ responseHeaders: [['content-type', 'text/html\u00e9']], responseBody: body('<script>alert(1)</script>') }),
    post: makeFlow({ method: 'POST', requestHeaders: [['Host', 'api.example.com'], ['Content-Type', 'application/json'], ['X-Quote', "it's; $(rm -rf /) `x`"]], requestBody: body('{"a":"it\'s"}') }),
    binary: makeFlow({ method: 'PUT', requestBody: body(Buffer.from([0, 1, 2, 255])) }),
  };

  before(async () => {
    for (const f of Object.values(flows)) store.add(f);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('?decoded=1 decodes gzip, br, deflate (zlib or raw) and stacked codings; octet-stream with the declared type aside', async () => {
    for (const name of ['gzip', 'br', 'deflate', 'rawDeflate', 'twice']) {
      const res = await fetch(`${base}/api/flows/${flows[name]!.id}/response/body?decoded=1`);
      assert.equal(res.status, 200, name);
      assert.equal(await res.text(), JSON_TEXT, name);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      assert.equal(res.headers.get('x-egresskit-content-type'), 'application/json; charset=utf-8');
      assert.match(res.headers.get('content-security-policy') ?? '', /sandbox/);
    }
    const raw = await fetch(`${base}/api/flows/${flows.gzip!.id}/response/body`);
    assert.deepEqual(Buffer.from(await raw.arrayBuffer()), flows.gzip!.response!.body.captured, 'without ?decoded the bytes as sent');
  });

  test('a decompression bomb stops at the ceiling with 422, and says where the raw body is', async () => {
    const res = await fetch(`${base}/api/flows/${flows.bomb!.id}/response/body?decoded=1`);
    assert.equal(res.status, 422);
    assert.match(((await res.json()) as { error: string }).error, /larger than 16777216 bytes.*response\/body/);
  });

  test('zstd is decoded where Node.js can (22.15+), else refused with the reason; unknown codings are refused', async () => {
    const zstdCompress = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;
    const f = enc('zstd', zstdCompress ? zstdCompress(Buffer.from(JSON_TEXT)) : Buffer.from('28b52ffd', 'hex'));
    store.add(f);
    const res = await fetch(`${base}/api/flows/${f.id}/response/body?decoded=1`);
    if (zstdCompress) assert.equal(await res.text(), JSON_TEXT);
    else assert.match(((await res.json()) as { error: string }).error, /content-encoding zstd is not decoded by egresskit on Node 2/);
    const unknown = await fetch(`${base}/api/flows/${flows.unknown!.id}/response/body?decoded=1`);
    assert.equal(unknown.status, 422);
    assert.match(await unknown.text(), /content-encoding compress is not decoded/);
  });

  test('decoding is bounded: at most 4 bodies at once, the rest are told to retry', async () => {
    const big = enc('gzip', gzipSync(Buffer.alloc(15 * 1024 * 1024, 'a')));
    store.add(big);
    const answers = await Promise.all(Array.from({ length: 16 }, () => fetch(`${base}/api/flows/${big.id}/response/body?decoded=1`).then(async (r) => (await r.arrayBuffer(), r.status))));
    assert.ok(answers.includes(503), `some were refused: ${answers.join(',')}`);
    assert.ok(answers.filter((s) => s === 200).length >= 1);
  });

  test('a hostile content-type cannot break the header it is copied into, and the body is never served as HTML', async () => {
    const res = await fetch(`${base}/api/flows/${flows.html!.id}/response/body?decoded=1`);
    assert.equal(res.headers.get('x-egresskit-content-type'), 'text/html');
    assert.equal(res.headers.get('content-type'), 'application/octet-stream');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment/);
    await res.text();
  });

  test('copy as curl: --proxy, --cacert, the method, headers and body, every argument shell-quoted', async () => {
    const res = await fetch(`${base}/api/flows/${flows.post!.id}/curl`);
    const command = await res.text();
    assert.match(command, /^curl --proxy 'http:\/\/127\.0\.0\.1:8080' --cacert '\/tmp\/egk\/ca\.crt' -X 'POST' /);
    assert.doesNotMatch(command, /'Host: /i, 'curl sets Host from the URL');
    // The shell hands curl exactly the captured values: printf stands in for curl.
    const { run } = await import('../../helpers/exec.js');
    const out = await run('sh', ['-c', `printf '%s\\n' ${command.trim().replace(/^curl /, '')}`]);
    const args = out.stdout.split('\n');
    assert.ok(args.includes("X-Quote: it's; $(rm -rf /) `x`"), out.stdout);
    assert.ok(args.includes('{"a":"it\'s"}'));
    assert.equal(args.at(-2), 'https://api.example.com/v1/items?a=1&b=two');
  });

  test('copy as curl: a binary body is read from a file the comment names', async () => {
    const command = await (await fetch(`${base}/api/flows/${flows.binary!.id}/curl`)).text();
    assert.match(command, /^# the request body is binary: download it .* as [\w-]+-request\.bin\n/);
    assert.match(command, /--data-binary '@[\w-]+-request\.bin'/);
  });

  test('one flow as a HAR entry, valid in a HAR 1.2 log', async () => {
    const entry = (await (await fetch(`${base}/api/flows/${flows.post!.id}/har`)).json()) as object;
    assert.deepEqual(harErrors({ log: { version: '1.2', creator: { name: 'x', version: '1' }, entries: [entry] } }), []);
  });

  test('DELETE one flow: 204, then it is gone (404), and the store emits delete', async () => {
    const f = makeFlow();
    store.add(f);
    const events: Array<{ type: string; flow?: Flow }> = [];
    const on = (e: { type: string; flow?: Flow }) => events.push(e);
    store.on('flow', on);
    assert.equal((await fetch(`${base}/api/flows/${f.id}`, { method: 'DELETE' })).status, 204);
    store.off('flow', on);
    assert.equal((await fetch(`${base}/api/flows/${f.id}`)).status, 404);
    assert.deepEqual(events.map((e) => [e.type, e.flow?.id]), [['delete', f.id]]);
    assert.equal((await fetch(`${base}/api/flows/${f.id}`, { method: 'DELETE' })).status, 404);
  });

  test('api/meta: version, mode, proxy, fingerprint, base path, token', async () => {
    const meta = (await (await fetch(`${base}/api/meta`)).json()) as Record<string, unknown>;
    assert.deepEqual(meta, { version: '0.0.0-test', mode: 'inspect', proxy: 'http://127.0.0.1:8080', caFingerprint: null, basePath: '/', tokenRequired: false });
  });

  test('HAR import: our own export comes back as imported flows with the same bodies', async () => {
    const src = [makeFlow({ host: 'round.example', responseBody: body(JSON_TEXT) })];
    const res = await fetch(`${base}/api/har`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(toHar(src)) });
    assert.deepEqual(await res.json(), { imported: 1, kept: 1 });
    const back = store.list({ host: 'round.example' });
    assert.equal(back.length, 1);
    assert.equal(back[0]!.imported, true);
    assert.equal(back[0]!.response!.body.captured.toString(), JSON_TEXT);
    assert.equal(back[0]!.request.url, 'https://api.example.com/v1/items?a=1&b=two'.replace('api.example.com', 'round.example'));
  });

  test('HAR import refuses what is not a HAR, saying where, and what is too large (413)', async () => {
    const post = (b: string) => fetch(`${base}/api/har`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: b });
    const notJson = await post('{');
    assert.equal(notJson.status, 400);
    assert.match(await notJson.text(), /not JSON/);
    const noUrl = await post(JSON.stringify({ log: { entries: [{ startedDateTime: 'x', request: { method: 'GET' } }] } }));
    assert.equal(noUrl.status, 400);
    assert.match(await noUrl.text(), /log\.entries\[0\]\.request\.url/);
    const form = await fetch(`${base}/api/har`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(toHar([makeFlow()])) });
    assert.equal(form.status, 415, 'a cross-site form cannot plant flows');
    await form.text();
    const big = await post(JSON.stringify({ log: { entries: [], pad: 'x'.repeat(70 * 1024) } }));
    assert.equal(big.status, 413);
    assert.match(await big.text(), /limit is 65536 bytes/);
  });

  test('resend needs content-type: application/json (a cross-site form cannot send it)', async () => {
    const res = await fetch(`${base}/api/flows/${flows.post!.id}/resend`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(res.status, 415);
    await res.text();
    const json = await fetch(`${base}/api/flows/${flows.post!.id}/resend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(json.status, 409, 'this UI has no proxy to resend through');
    assert.match(await json.text(), /not listening/);
  });
});
