import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FlowStore } from '../../../src/flows/flow-store.js';
import type { Flow } from '../../../src/flows/flow.js';
import { createUiServer, type UiServerOptions } from '../../../src/ui/ui-server.js';
import { harErrors } from '../../unit/inspect/flows/har-validate.js';
import { body, makeFlow } from '../../unit/inspect/flows/make-flow.js';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe]);
const XSS_HOST = '<script>alert(1)</script>.evil';

interface Started {
  server: Server;
  port: number;
  base: string;
}

async function start(opts: Partial<UiServerOptions> & { store: FlowStore }): Promise<Started> {
  const server = createUiServer({ caCertPem: CA_PEM, version: '0.0.0-test', ...opts });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, port, base: `http://127.0.0.1:${port}` };
}

async function stop(s: Started): Promise<void> {
  const closed = once(s.server, 'close');
  s.server.close();
  s.server.closeAllConnections();
  await closed;
}

/** node:http rather than fetch, to send any Host and Origin. */
function raw(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('inspect UI server', () => {
  const store = new FlowStore();
  let ui: Started;
  const flows: Record<string, Flow> = {
    https: makeFlow({ method: 'POST', requestBody: body('{"secretkey":"secretvalue"}'), requestHeaders: [['Content-Type', 'application/json']] }),
    plain: makeFlow({ scheme: 'http', host: 'plain.example', url: 'http://plain.example/index.html', responseHeaders: [['Content-Type', 'text/html']], responseBody: body('<h1>hi</h1>') }),
    binary: makeFlow({ host: 'img.example', url: '/logo.png', responseHeaders: [['Content-Type', 'image/png']], responseBody: body(PNG) }),
    truncated: makeFlow({ method: 'PUT', host: 'upload.example', requestBody: body(Buffer.alloc(100, 0x61), 16) }),
    error: makeFlow({ host: 'expired.example', status: null, error: { code: 'upstream_tls', message: 'certificate has expired' } }),
    xss: makeFlow({ host: XSS_HOST, url: '/"><img src=x onerror=alert(2)>', requestHeaders: [['X-Evil', '<b>bold</b>']] }),
  };

  before(async () => {
    for (const f of Object.values(flows)) store.add(f);
    ui = await start({ store });
  });
  after(() => stop(ui));

  test('GET / and GET /ca serve the built app: strict CSP, no inline code, index never cached', async () => {
    for (const path of ['/', '/ca']) {
      const res = await fetch(`${ui.base}${path}`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /style-src 'self'(;|$)/);
      assert.match(csp, /connect-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      const html = await res.text();
      // Every script and stylesheet is a relative file of the build: nothing inline, nothing from elsewhere.
      const tags = html.match(/<(script|link)\b[^>]*>/g) ?? [];
      assert.ok(tags.some((t) => t.startsWith('<script')));
      for (const t of tags) assert.match(t, /(src|href)="(\.\/assets\/[^"]+|data:,)"/);
      assert.doesNotMatch(html, /<script[^>]*>[^<]+<\/script>|<style|style=/);
    }
  });

  test('hashed assets are cached for a year; an unknown asset is 404', async () => {
    const html = await (await fetch(`${ui.base}/`)).text();
    const js = /src="\.\/assets\/([^"]+\.js)"/.exec(html)?.[1];
    assert.ok(js);
    const res = await fetch(`${ui.base}/assets/${js}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(res.headers.get('cache-control') ?? '', /max-age=31536000.*immutable/);
    await res.text();
    const missing = await fetch(`${ui.base}/assets/nope-123.js`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /reload/);
  });

  test('without a built app, the pages say how to build it and the API keeps working', async () => {
    const bare = await start({ store, uiDir: '/nonexistent/egresskit-ui' });
    try {
      const res = await fetch(`${bare.base}/`);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /the UI was not built: run npm run build/);
      assert.equal((await fetch(`${bare.base}/api/flows`)).status, 200);
    } finally {
      await stop(bare);
    }
  });

  test('HEAD / answers without a body', async () => {
    const res = await raw(ui.port, '/', {}, 'HEAD');
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
  });

  test('GET /ca.crt downloads the CA', async () => {
    const res = await fetch(`${ui.base}/ca.crt`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-x509-ca-cert');
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename=".+\.crt"$/);
    assert.equal(await res.text(), CA_PEM);
  });

  test('GET /api/flows: summaries without bodies, newest first', async () => {
    const res = await fetch(`${ui.base}/api/flows`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const { flows: list, total } = (await res.json()) as { flows: Array<Record<string, unknown>>; total: number };
    assert.equal(total, 6);
    assert.deepEqual(list.map((s) => s.id), Object.values(flows).map((f) => f.id).reverse());
    const text = JSON.stringify(list);
    assert.ok(!text.includes('secretvalue'), 'no bodies in summaries');
    assert.ok(!text.includes('base64'));
    const https = list.find((s) => s.id === flows.https!.id);
    assert.deepEqual(
      { method: https?.method, status: https?.status, url: https?.url, requestSize: https?.requestSize, intercepted: https?.intercepted },
      { method: 'POST', status: 200, url: 'https://api.example.com/v1/items?a=1&b=two', requestSize: 27, intercepted: true },
    );
    const err = list.find((s) => s.id === flows.error!.id);
    assert.equal(err?.status, null);
    assert.deepEqual(err?.error, flows.error!.error);
  });

  test('GET /api/flows filters', async () => {
    const ids = async (qs: string): Promise<string[]> => {
      const res = await fetch(`${ui.base}/api/flows?${qs}`);
      assert.equal(res.status, 200, qs);
      return ((await res.json()) as { flows: Array<{ id: string }> }).flows.map((f) => f.id);
    };
    assert.deepEqual(await ids('host=plain'), [flows.plain!.id]);
    assert.deepEqual(await ids('method=put'), [flows.truncated!.id]);
    assert.deepEqual(await ids('status=error'), [flows.error!.id]);
    assert.deepEqual(await ids('status=200&host=img'), [flows.binary!.id]);
    assert.deepEqual(await ids('search=logo.png'), [flows.binary!.id]);
    assert.deepEqual(await ids('limit=2'), [flows.xss!.id, flows.error!.id]);
    assert.deepEqual(await ids(`sinceId=${flows.error!.id}`), [flows.xss!.id]);
    const bad = await fetch(`${ui.base}/api/flows?limit=lots`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /limit must be/);
  });

  test('GET /api/flows/:id gives the whole flow, bodies as base64 and UTF-8', async () => {
    type BodyJ = { size: number; truncated: boolean; base64: string; utf8: string | null };
    type Detail = { id: string; request: { headers: string[][]; body: BodyJ }; response: { body: BodyJ } | null; tls: { sni: string } | null; error: unknown };
    const get = async (f: Flow): Promise<Detail> => {
      const res = await fetch(`${ui.base}/api/flows/${f.id}`);
      assert.equal(res.status, 200);
      return (await res.json()) as Detail;
    };
    const https = await get(flows.https!);
    assert.equal(https.request.body.utf8, '{"secretkey":"secretvalue"}');
    assert.equal(Buffer.from(https.request.body.base64, 'base64').toString(), '{"secretkey":"secretvalue"}');
    assert.equal(https.tls?.sni, 'api.example.com');
    const bin = await get(flows.binary!);
    assert.equal(bin.response?.body.utf8, null);
    assert.deepEqual(Buffer.from(bin.response?.body.base64 ?? '', 'base64'), PNG);
    const tr = await get(flows.truncated!);
    assert.deepEqual([tr.request.body.size, tr.request.body.truncated, tr.request.body.utf8], [100, true, 'a'.repeat(16)]);
    const err = await get(flows.error!);
    assert.equal(err.response, null);
    assert.deepEqual(err.error, flows.error!.error);
    const missing = await fetch(`${ui.base}/api/flows/nosuchflow`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /no flow nosuchflow/);
  });

  test('raw bodies: the captured bytes, never with the captured content type', async () => {
    const png = await fetch(`${ui.base}/api/flows/${flows.binary!.id}/response/body`);
    assert.equal(png.status, 200);
    assert.equal(png.headers.get('content-type'), 'application/octet-stream');
    assert.match(png.headers.get('content-disposition') ?? '', /^attachment/);
    assert.deepEqual(Buffer.from(await png.arrayBuffer()), PNG);
    const html = await fetch(`${ui.base}/api/flows/${flows.plain!.id}/response/body`);
    assert.equal(html.headers.get('content-type'), 'application/octet-stream');
    assert.match(html.headers.get('content-security-policy') ?? '', /sandbox/);
    assert.equal(await html.text(), '<h1>hi</h1>');
    const req = await fetch(`${ui.base}/api/flows/${flows.truncated!.id}/request/body`);
    assert.equal(req.headers.get('x-egresskit-truncated'), 'true');
    assert.equal(req.headers.get('x-egresskit-body-size'), '100');
    assert.equal((await req.arrayBuffer()).byteLength, 16);
    const none = await fetch(`${ui.base}/api/flows/${flows.error!.id}/response/body`);
    assert.equal(none.status, 404);
    assert.match(await none.text(), /no response \(upstream_tls\)/);
  });

  test('GET /api/flows.har validates against the HAR 1.2 schema, with every flow, plain HTTP included', async () => {
    const res = await fetch(`${ui.base}/api/flows.har`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="egresskit-.*\.har"$/);
    type Entry = {
      _egresskit: { id: string; requestTarget?: string };
      request: { url: string; postData?: { text: string } };
      response: { content: { text?: string; encoding?: string } };
    };
    const har = (await res.json()) as { log: { creator: { version: string }; entries: Entry[] } };
    assert.deepEqual(harErrors(har), []);
    assert.equal(har.log.creator.version, '0.0.0-test');
    assert.equal(har.log.entries.length, 6);
    // Oldest first, as HAR viewers expect.
    assert.deepEqual(har.log.entries.map((e) => e._egresskit.id), Object.values(flows).map((f) => f.id));
    const plain = har.log.entries.find((e) => e._egresskit.id === flows.plain!.id);
    assert.equal(plain?.request.url, 'http://plain.example/index.html');
    assert.equal(plain?.response.content.text, '<h1>hi</h1>');
    const bin = har.log.entries.find((e) => e._egresskit.id === flows.binary!.id);
    assert.equal(bin?.response.content.encoding, 'base64');
    const post = har.log.entries.find((e) => e._egresskit.id === flows.https!.id);
    assert.equal(post?.request.postData?.text, '{"secretkey":"secretvalue"}');
    // The hostile host and path are percent-encoded into a URI; the target as received is kept.
    const xss = har.log.entries.find((e) => e._egresskit.id === flows.xss!.id);
    assert.doesNotMatch(xss?.request.url ?? '<', /[<>"]/);
    assert.equal(xss?._egresskit.requestTarget, '/"><img src=x onerror=alert(2)>');
  });

  test('GET /api/events streams an add within 1 s, and cleans up on close', async () => {
    const listenersBefore = store.listenerCount('flow');
    const ac = new AbortController();
    const res = await fetch(`${ui.base}/api/events`, { signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.ok(res.body);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    // Wait for the preamble so the listener is attached before adding.
    while (!buffered.includes('\n\n')) buffered += decoder.decode((await reader.read()).value, { stream: true });
    const fresh = makeFlow({ host: 'live.example' });
    const deadline = setTimeout(() => ac.abort(), 1000);
    const t0 = performance.now();
    store.add(fresh);
    let message: { type: string; flow: { id: string; host: string } } | undefined;
    while (!message) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'stream ended before the event');
      buffered += decoder.decode(value, { stream: true });
      for (const block of buffered.split('\n\n')) {
        const data = /^event: flow\ndata: (.*)$/m.exec(block);
        if (data?.[1]) message = JSON.parse(data[1]) as typeof message;
      }
    }
    clearTimeout(deadline);
    assert.ok(performance.now() - t0 < 1000);
    assert.deepEqual([message.type, message.flow.id, message.flow.host], ['add', fresh.id, 'live.example']);
    ac.abort();
    await reader.cancel().catch(() => undefined);
    for (let i = 0; i < 50 && store.listenerCount('flow') !== listenersBefore; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(store.listenerCount('flow'), listenersBefore);
    assert.equal(store.listenerCount('evict'), 0);
  });

  test('unknown paths are 404, wrong methods 405 with Allow', async () => {
    const nf = await fetch(`${ui.base}/nope`);
    assert.equal(nf.status, 404);
    await nf.text();
    const post = await fetch(`${ui.base}/api/flows`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD, DELETE');
    await post.text();
    const put = await fetch(`${ui.base}/api/flows/${flows.https!.id}`, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, HEAD, DELETE');
    await put.text();
  });

  test('DNS-rebinding guard: only IP literals and localhost in Host without a token', async () => {
    for (const host of [`127.0.0.1:${ui.port}`, `localhost:${ui.port}`, `[::1]:${ui.port}`, 'localhost']) {
      assert.equal((await raw(ui.port, '/api/flows', { host })).status, 200, host);
    }
    for (const host of [`evil.example:${ui.port}`, 'evil.example', 'localhost.evil.example', '127.0.0.1.nip.io']) {
      const res = await raw(ui.port, '/api/flows', { host });
      assert.equal(res.status, 403, host);
      assert.match(res.body, /DNS-rebinding/);
    }
  });

  test('cross-origin requests are refused', async () => {
    const res = await raw(ui.port, '/api/flows', { origin: 'http://evil.example' }, 'DELETE');
    assert.equal(res.status, 403);
    assert.equal(store.size, 7, 'nothing was cleared');
    const same = await raw(ui.port, '/api/flows', { origin: `http://127.0.0.1:${ui.port}` });
    assert.equal(same.status, 200);
  });
});

describe('inspect UI server with a token', () => {
  const store = new FlowStore();
  let ui: Started;
  before(async () => {
    store.add(makeFlow());
    ui = await start({ store, token: 's3cret-token' });
  });
  after(() => stop(ui));

  test('401 without the token or with a wrong one', async () => {
    for (const [path, headers] of [
      ['/', {}],
      ['/api/flows', {}],
      ['/ca.crt', {}],
      ['/api/flows', { authorization: 'Bearer wrong' }],
      ['/api/flows?token=s3cret-tokeN', {}],
      ['/api/flows', { authorization: 'Basic czNjcmV0LXRva2Vu' }],
    ] as Array<[string, Record<string, string>]>) {
      const res = await raw(ui.port, path, headers);
      assert.equal(res.status, 401, `${path} ${JSON.stringify(headers)}`);
      assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/);
      assert.ok(!res.body.includes('s3cret-token'));
    }
  });

  test('Bearer header or ?token= on the API lets requests in; a page visit trades ?token= for a cookie', async () => {
    assert.equal((await raw(ui.port, '/api/flows', { authorization: 'Bearer s3cret-token' })).status, 200);
    assert.equal((await raw(ui.port, '/api/flows?token=s3cret-token')).status, 200);
    const page = await raw(ui.port, '/?token=s3cret-token');
    assert.equal(page.status, 303);
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
  });

  test('the token does not open the UI to a Host that is not allowed (DNS rebinding does not need the token)', async () => {
    const res = await raw(ui.port, '/api/flows?token=s3cret-token', { host: 'inspect.corp.example' });
    assert.equal(res.status, 403);
    assert.match(res.body, /--ui-allowed-hosts inspect\.corp\.example/);
  });

  test('an empty token is refused at creation', () => {
    assert.throws(() => createUiServer({ store, caCertPem: CA_PEM, version: 'x', token: '' }), /token is empty/);
  });
});

describe('inspect UI server limits and clearing', () => {
  test('event streams are capped; DELETE /api/flows clears and is streamed', async () => {
    const store = new FlowStore();
    store.add(makeFlow());
    const ui = await start({ store, maxEventClients: 2 });
    const controllers: AbortController[] = [];
    try {
      const open = async (): Promise<Response> => {
        const ac = new AbortController();
        controllers.push(ac);
        return fetch(`${ui.base}/api/events`, { signal: ac.signal });
      };
      const a = await open();
      const b = await open();
      assert.deepEqual([a.status, b.status], [200, 200]);
      const c = await open();
      assert.equal(c.status, 503);
      assert.equal(c.headers.get('retry-after'), '5');
      await c.text();

      assert.ok(a.body);
      const reader = a.body.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const del = await fetch(`${ui.base}/api/flows`, { method: 'DELETE' });
      assert.equal(del.status, 204);
      assert.equal(store.size, 0);
      while (!text.includes('"type":"clear"')) text += decoder.decode((await reader.read()).value, { stream: true });
      const list = (await (await fetch(`${ui.base}/api/flows`)).json()) as { flows: unknown[] };
      assert.deepEqual(list.flows, []);

      // A closed stream frees its slot.
      controllers[1]?.abort();
      let reopened = 503;
      for (let i = 0; i < 50 && reopened === 503; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const r = await open();
        reopened = r.status;
        if (r.status === 503) await r.text();
      }
      assert.equal(reopened, 200);
    } finally {
      for (const ac of controllers) ac.abort();
      await stop(ui);
    }
  });

  test('heartbeats keep the stream alive', async () => {
    const store = new FlowStore();
    const ui = await start({ store, heartbeatMs: 30 });
    const ac = new AbortController();
    try {
      const res = await fetch(`${ui.base}/api/events`, { signal: ac.signal });
      assert.ok(res.body);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let text = '';
      while (!text.includes(': heartbeat')) text += decoder.decode((await reader.read()).value, { stream: true });
    } finally {
      ac.abort();
      await stop(ui);
    }
  });
});
