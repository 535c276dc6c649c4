import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FlowStore } from '../../../src/flows/flow-store.js';
import { createUiServer, type UiServerOptions } from '../../../src/ui/ui-server.js';
import { makeFlow } from '../../unit/inspect/flows/make-flow.js';

const TOKEN = 'tok-0123456789abcdef';

function raw(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function start(opts: Partial<UiServerOptions>): Promise<{ server: Server; port: number }> {
  const store = new FlowStore();
  store.add(makeFlow());
  const server = createUiServer({ store, caCertPem: 'pem', version: 't', ...opts });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

async function stop(server: Server): Promise<void> {
  const closed = once(server, 'close');
  server.close();
  server.closeAllConnections();
  await closed;
}

describe('UI access: token, cookie and redirect', () => {
  let ui: { server: Server; port: number };
  before(async () => {
    ui = await start({ token: TOKEN, tokenHint: 'in /data/ui-token' });
  });
  after(() => stop(ui.server));

  test('401 says how to get in, and where the token is, never the token', async () => {
    const res = await raw(ui.port, '/');
    assert.equal(res.status, 401);
    assert.match(res.body, /\?token=<token>/);
    assert.match(res.body, /Authorization: Bearer/);
    assert.match(res.body, /in \/data\/ui-token/);
    assert.ok(!res.body.includes(TOKEN));
  });

  test('?token= on a page: HttpOnly SameSite=Strict cookie and a 303 to the same address without the token', async () => {
    const res = await raw(ui.port, `/?filter=~c%204xx&token=${TOKEN}&flow=abc`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, './?filter=%7Ec+4xx&flow=abc');
    const cookie = res.headers['set-cookie']?.[0] ?? '';
    assert.match(cookie, /^egresskit_ui_token=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const jar = cookie.split(';')[0]!;
    assert.equal((await raw(ui.port, '/api/flows', { cookie: `other=1; ${jar}` })).status, 200, 'the cookie opens the API');
    assert.equal((await raw(ui.port, '/api/flows', { cookie: 'egresskit_ui_token=wrong' })).status, 401);
    const behindTls = await raw(ui.port, `/ca?token=${TOKEN}`, { 'x-forwarded-proto': 'https' });
    assert.equal(behindTls.headers.location, './ca');
    assert.match(behindTls.headers['set-cookie']?.[0] ?? '', /; Secure$/);
  });

  test('a wrong ?token= is 401, not a cookie', async () => {
    const res = await raw(ui.port, '/?token=nope');
    assert.equal(res.status, 401);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  test('a wrong Bearer is 401 even with a good cookie (the header is what a script meant)', async () => {
    const res = await raw(ui.port, '/api/flows', { authorization: 'Bearer nope', cookie: `egresskit_ui_token=${TOKEN}` });
    assert.equal(res.status, 401);
  });
});

describe('UI access: Host allowlist', () => {
  test('a name is refused with the flag that allows it; listed names are answered', async () => {
    const ui = await start({ allowedHosts: ['egress.example.com', '.corp.example'] });
    try {
      const refused = await raw(ui.port, '/api/flows', { host: `rebind.example:${ui.port}` });
      assert.equal(refused.status, 403);
      assert.match(refused.body, /refused Host "rebind\.example:\d+".*DNS-rebinding guard.*--ui-allowed-hosts rebind\.example$/m);
      assert.equal((await raw(ui.port, '/api/flows', { host: 'egress.example.com' })).status, 200);
      assert.equal((await raw(ui.port, '/api/flows', { host: 'ui.corp.example:8081' })).status, 200);
    } finally {
      await stop(ui.server);
    }
  });
});

describe('UI access: base path', () => {
  let ui: { server: Server; port: number };
  before(async () => {
    ui = await start({ basePath: '/tools/egress', token: TOKEN });
  });
  after(() => stop(ui.server));
  const auth = { authorization: `Bearer ${TOKEN}` };

  test('everything answers under the prefix', async () => {
    assert.equal((await raw(ui.port, '/tools/egress/api/flows', auth)).status, 200);
    assert.equal((await raw(ui.port, '/tools/egress/api/filter-help', auth)).status, 200);
    assert.equal((await raw(ui.port, '/tools/egress/ca.crt', auth)).body, 'pem');
  });

  test('the prefix without its slash redirects to it (query kept), before any token is asked', async () => {
    const res = await raw(ui.port, '/tools/egress?filter=x');
    assert.equal(res.status, 308);
    assert.equal(res.headers.location, './egress/?filter=x');
    assert.equal(new URL(res.headers.location!, 'http://h/tools/egress?filter=x').pathname, '/tools/egress/');
  });

  test('outside the prefix: 404 naming the prefix', async () => {
    for (const path of ['/', '/api/flows', '/tools/egressx/api/flows', '/tools/']) {
      const res = await raw(ui.port, path, auth);
      assert.equal(res.status, 404, path);
      assert.match(res.body, /served under \/tools\/egress\/ \(--ui-base-path\)/);
    }
  });

  test('the cookie is scoped to the prefix; the redirect stays relative', async () => {
    const res = await raw(ui.port, `/tools/egress/?token=${TOKEN}`);
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, './');
    assert.match(res.headers['set-cookie']?.[0] ?? '', /; Path=\/tools\/egress\/;/);
  });

  test('a bad base path is refused at creation', () => {
    assert.throws(() => createUiServer({ store: new FlowStore(), caCertPem: '', version: '', basePath: '/a/../b' }), /not a path prefix/);
  });
});
