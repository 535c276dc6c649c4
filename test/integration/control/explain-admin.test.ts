import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { explainSetup, type ExplainReport } from '../../../src/control/explain.js';
import { explainAccess, explainHandler } from '../../../src/control/explain-http.js';
import { startProxy, type ProxyHandle } from '../../../src/index.js';

interface Reply {
  status: number;
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

const report = (r: Reply) => JSON.parse(r.body) as ExplainReport;

describe('GET /explain on the admin port', () => {
  let proxy: ProxyHandle;
  let admin: number;
  before(async () => {
    proxy = await startProxy({
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      policy: {
        allowPrivate: true,
        rules: [
          { id: 'api', action: 'allow', hosts: ['api.example.com', 'localhost', '127.0.0.0/8'] },
          { id: 'payments', action: 'allow', hosts: ['api.stripe.com'], identities: ['spiffe://cluster.local/ns/payments/sa/api'] },
        ],
      },
    });
    admin = proxy.admin!.port;
  });
  after(async () => {
    await proxy?.close(0);
  });

  it('answers a loopback client with the same report as the CLI', async () => {
    const r = await get(admin, '/explain?target=api.example.com:443&target=www.example.com');
    assert.equal(r.status, 200, r.body);
    const x = report(r);
    assert.equal(x.allowed, false);
    assert.deepEqual(
      x.results.map((e) => [e.target, e.decidedAt, e.refused, e.decision.ruleId]),
      [
        ['api.example.com:443', 'unresolved', false, 'api'],
        ['www.example.com:443', 'host', true, 'default'],
      ],
    );
  });

  it('as an identity or a user', async () => {
    const asPayments = report(await get(admin, '/explain?target=api.stripe.com&identity=spiffe://cluster.local/ns/payments/sa/api'));
    assert.equal(asPayments.allowed, true);
    assert.equal(report(await get(admin, '/explain?target=api.stripe.com&user=alice')).allowed, false);
  });

  it('resolve=1 decides against the running proxy\'s bound ports (the self-loop guard)', async () => {
    // Report mode lets the dynamic port past connectPorts; the loop guard is enforced in any mode.
    const dry = await startProxy({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', policy: { allowPrivate: true, enforcement: 'report' } });
    try {
      const at = dry.admin!.port;
      const loop = report(await get(at, `/explain?target=localhost:${dry.address.port}&resolve=1`));
      assert.equal(loop.results[0]!.decidedAt, 'addresses');
      assert.equal(loop.results[0]!.decision.ruleId, 'self', JSON.stringify(loop.results[0]));
      assert.equal(loop.allowed, false);
      const adminLoop = report(await get(at, `/explain?target=127.0.0.1:${at}`));
      assert.equal(adminLoop.results[0]!.decision.ruleId, 'self');
      const other = [dry.address.port - 1, dry.address.port + 1].find((p) => p !== at && p > 0 && p < 65536)!;
      const elsewhere = report(await get(at, `/explain?target=127.0.0.1:${other}`));
      assert.notEqual(elsewhere.results[0]!.decision.ruleId, 'self');
    } finally {
      await dry.close(0);
    }
  });

  it('bad input is a 400 with the reason', async () => {
    const none = await get(admin, '/explain');
    assert.equal(none.status, 400);
    assert.match(none.body, /name at least one target/);
    const bad = await get(admin, '/explain?target=exa%20mple.com');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /bad target/);
    const both = await get(admin, '/explain?target=x.example&identity=a&user=b');
    assert.equal(both.status, 400);
  });

  it('a loopback client naming a host that is not an IP (DNS rebinding) is refused with 403', async () => {
    const r = await get(admin, '/explain?target=api.example.com', { host: `evil.example:${admin}` });
    assert.equal(r.status, 403);
    assert.match(r.body, /DNS-rebinding guard/);
  });
});

describe('who may ask /explain', () => {
  const loopback = { remoteAddress: '127.0.0.1', host: '127.0.0.1:9090', authorization: undefined };
  const remote = { remoteAddress: '10.1.2.3', host: '10.0.0.5:9090', authorization: undefined };

  it('loopback clients (IPv4, IPv6, IPv4-mapped) without a token', () => {
    assert.deepEqual(explainAccess(loopback, undefined), { ok: true });
    assert.deepEqual(explainAccess({ ...loopback, remoteAddress: '::1', host: '[::1]:9090' }, undefined), { ok: true });
    assert.deepEqual(explainAccess({ ...loopback, remoteAddress: '::ffff:127.0.0.1', host: 'localhost:9090' }, undefined), { ok: true });
  });

  it('a non-loopback client without a token is refused, with how to get in', () => {
    const noToken = explainAccess(remote, undefined);
    assert.equal(noToken.ok, false);
    assert.ok(!noToken.ok && noToken.status === 403);
    assert.match(!noToken.ok ? noToken.message : '', /loopback clients only .*kubectl port-forward.*no UI token.*10\.1\.2\.3 is not loopback/);
    const withTokenConfigured = explainAccess(remote, 'sekrit');
    assert.ok(!withTokenConfigured.ok);
    assert.match(withTokenConfigured.message, /Authorization: Bearer <token> with the inspect UI token/);
    // A bearer is not enough when the proxy has no token to compare it with.
    assert.equal(explainAccess({ ...remote, authorization: 'Bearer anything' }, undefined).ok, false);
    // An address that only looks local is not loopback.
    assert.equal(explainAccess({ ...remote, remoteAddress: '0.0.0.0' }, undefined).ok, false);
    assert.equal(explainAccess({ ...remote, remoteAddress: undefined }, undefined).ok, false);
  });

  it('the UI token lets a non-loopback client in; a wrong one does not', () => {
    assert.deepEqual(explainAccess({ ...remote, authorization: 'Bearer sekrit' }, 'sekrit'), { ok: true });
    const wrong = explainAccess({ ...remote, authorization: 'Bearer nope' }, 'sekrit');
    assert.ok(!wrong.ok);
    assert.match(wrong.message, /does not match/);
  });

  describe('the handler enforces it (a token configured, client on loopback)', () => {
    let server: Server;
    let port: number;
    before(async () => {
      const config = parseConfig({ listen: '127.0.0.1:0', admin: 'off', policy: { rules: [{ action: 'allow', hosts: ['api.example.com'] }] } });
      server = createServer(explainHandler(explainSetup(config, () => []), 'sekrit'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('a wrong bearer is refused, the right one answered', async () => {
      const wrong = await get(port, '/explain?target=api.example.com', { authorization: 'Bearer nope' });
      assert.equal(wrong.status, 403);
      assert.match(wrong.body, /does not match/);
      const right = await get(port, '/explain?target=api.example.com', { authorization: 'Bearer sekrit' });
      assert.equal(right.status, 200);
      assert.equal(report(right).allowed, true);
    });
  });
});
