import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startProxy, type ConfigInput, type ProxyHandle, type ProxyRecord } from '../../../src/index.js';
import { connectTunnel, startEchoHost } from '../../helpers/fronting.js';
import { startHttpUpstream, type Upstream } from '../../helpers/upstream.js';

type Refused = Error & { response: string };

/** A CONNECT that must be refused: the whole raw answer. */
async function refusedConnect(port: number, authority: string, localAddress?: string): Promise<string> {
  const err = (await connectTunnel(port, authority, localAddress ? { localAddress } : {}).then(
    (s) => (s.destroy(), assert.fail('the tunnel was opened')),
    (e: unknown) => e,
  )) as Refused;
  return err.response;
}

function plainGet(proxyPort: number, url: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, path: url, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.once('error', reject);
    req.end();
  });
}

async function metricsText(proxy: ProxyHandle): Promise<string> {
  return (await fetch(`http://127.0.0.1:${proxy.admin!.port}/metrics`)).text();
}

describe('per-identity budgets', () => {
  let echo: Awaited<ReturnType<typeof startEchoHost>>;
  let http: Upstream;
  const proxies: ProxyHandle[] = [];
  const start = async (budgets: ConfigInput['budgets']) => {
    const p = await startProxy({
      listen: '127.0.0.1:0',
      admin: '127.0.0.1:0',
      policy: { allowPrivate: true, connectPorts: [echo.port, http.port] },
      sni: { check: 'off' },
      budgets,
    });
    proxies.push(p);
    return p;
  };
  before(async () => {
    echo = await startEchoHost();
    http = await startHttpUpstream();
  });
  after(async () => {
    for (const p of proxies) await p.close(0);
    await echo?.close();
    await http?.close();
  });

  it('open tunnels: one client over its budget gets 429 with Proxy-Status, before any DNS lookup; another client does not', async () => {
    const proxy = await start({ maxTunnels: 2 });
    const held = [await connectTunnel(proxy.address.port, `localhost:${echo.port}`), await connectTunnel(proxy.address.port, `localhost:${echo.port}`)];
    const answer = await refusedConnect(proxy.address.port, `localhost:${echo.port}`);
    assert.match(answer, /^HTTP\/1.1 429 /);
    assert.match(answer, /\r\nProxy-Status: egresskit; error=connection_limit_reached; details="2 tunnels are open for address:127.0.0.1/);
    assert.match(answer, /\r\nRetry-After: 1\r\n/);
    // A name that cannot resolve is refused by the budget, not looked up.
    assert.match(await refusedConnect(proxy.address.port, 'no-such-host.invalid:443'), /^HTTP\/1.1 429 /);
    // Another client address has its own budget.
    const other = await connectTunnel(proxy.address.port, `localhost:${echo.port}`, { localAddress: '127.0.0.2' });
    other.destroy();
    // A closed tunnel gives its slot back.
    held[0]!.destroy();
    await waitFor(() => proxy.records().filter((r) => r.kind === 'connect' && r.status === 200).length >= 2);
    const again = await connectTunnel(proxy.address.port, `localhost:${echo.port}`);
    again.destroy();
    held[1]!.destroy();
    const refused = proxy.records().filter((r) => r.error === 'too_many_tunnels');
    assert.equal(refused.length, 2);
    for (const r of refused) {
      assert.equal(r.status, 429);
      assert.equal(r.phases.dnsMs, undefined);
      assert.equal(r.resolved, undefined);
    }
    assert.match(await metricsText(proxy), /egresskit_budget_exceeded_total\{budget="concurrent",mode="forward"\} 2/);
  });

  it('rate: a token bucket per identity, which plain-HTTP requests spend too', async () => {
    const proxy = await start({ rate: 0.1, burst: 3 });
    const t = await connectTunnel(proxy.address.port, `localhost:${echo.port}`);
    t.destroy();
    assert.equal((await plainGet(proxy.address.port, `${http.origin}/echo`)).status, 200);
    assert.equal((await plainGet(proxy.address.port, `${http.origin}/echo`)).status, 200);
    const refused = await plainGet(proxy.address.port, `${http.origin}/echo`);
    assert.equal(refused.status, 429);
    assert.match(String(refused.headers['proxy-status']), /connection_limit_reached; details="more than 0.1 per second \(bursts of 3\)/);
    assert.match(await refusedConnect(proxy.address.port, `localhost:${echo.port}`), /^HTTP\/1.1 429 /);
    // Another identity has a full bucket of its own.
    const other = await connectTunnel(proxy.address.port, `localhost:${echo.port}`, { localAddress: '127.0.0.3' });
    other.destroy();
    await waitFor(() => proxy.records().filter((r) => r.error === 'rate_limited').length === 2);
    assert.match(await metricsText(proxy), /egresskit_budget_exceeded_total\{budget="rate",mode="forward"\} 2/);
  });

  it('maximum tunnel age: both sides are ended at the age, and the record says why', async () => {
    const proxy = await start({ maxTunnelAge: '300ms' });
    const records = proxy.recordStream({ replay: false });
    const started = performance.now();
    const t = await connectTunnel(proxy.address.port, `localhost:${echo.port}`);
    t.resume();
    await Promise.race([
      new Promise((resolve) => t.once('end', resolve)),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the tunnel was not closed at its maximum age')), 5000)),
    ]);
    const age = performance.now() - started;
    assert.ok(age >= 280, `closed after ${age} ms`);
    t.end();
    const r = (await records.next()).value as ProxyRecord;
    assert.equal(r.error, 'tunnel_max_age');
    assert.equal(r.status, 200);
    assert.match(await metricsText(proxy), /egresskit_budget_exceeded_total\{budget="age",mode="forward"\} 1/);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
