import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { freePort, openSocket, rawExchange, readUntil, statusOf } from '../helpers/raw.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';


async function get(url: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
}

/** One Prometheus histogram's series with these labels: count, sum, and each bucket's cumulative count. */
function histogram(text: string, name: string, labels: Record<string, string>): { count: number; sum: number; buckets: Record<string, number> } {
  const out = { count: 0, sum: 0, buckets: {} as Record<string, number> };
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || !m[1]!.startsWith(name)) continue;
    const l = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (!Object.entries(labels).every(([k, v]) => l[k] === v)) continue;
    const value = Number(m[3]);
    if (m[1] === `${name}_count`) out.count = value;
    else if (m[1] === `${name}_sum`) out.sum = value;
    else if (m[1] === `${name}_bucket` && l.le !== undefined) out.buckets[l.le] = value;
  }
  return out;
}

describe('forward: admin endpoints and graceful shutdown', () => {
  let http: Upstream;
  before(async () => {
    http = await startHttpUpstream();
  });
  after(async () => http?.close());

  it('serves /healthz, /readyz and /metrics without host names as labels', async () => {
    const proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', `${http.port}`]);
    try {
      const admin = `http://127.0.0.1:${proxy.adminPort}`;
      assert.equal((await get(`${admin}/healthz`)).status, 200);
      assert.equal((await get(`${admin}/readyz`)).status, 200);
      assert.equal((await curl(['-x', proxy.url, `${http.origin}/echo`])).status, 200);
      await rawExchange(proxy.port, `CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n`);
      const metrics = (await get(`${admin}/metrics`)).text;
      assert.match(metrics, /egresskit_requests_total\{kind="http",decision="allow",status="200",mode="forward"\} 1/);
      assert.match(metrics, /egresskit_requests_total\{kind="connect",decision="deny",status="403",mode="forward"\} 1/);
      assert.match(metrics, /egresskit_bytes_total\{direction="down",mode="forward"\} \d+/);
      assert.match(metrics, /egresskit_active_tunnels\{mode="forward"\} 0/);
      assert.match(metrics, /egresskit_errors_total\{code="port_denied",mode="forward"\} 1/);
      assert.match(metrics, /egresskit_process_resident_memory_bytes/);
      assert.doesNotMatch(metrics, /127\.0\.0\.1/, 'no addresses or host names in labels');
      assert.equal((await get(`${admin}/nope`)).status, 404);
    } finally {
      await proxy.stop();
    }
  });

  it('egresskit_duration_seconds moves: a tunnel held 300 ms is observed once, above the 0.1 s bucket', async () => {
    const proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', `${http.port}`]);
    try {
      const admin = `http://127.0.0.1:${proxy.adminPort}/metrics`;
      const connect = (text: string) => histogram(text, 'egresskit_duration_seconds', { kind: 'connect' });
      assert.deepEqual(connect((await get(admin)).text), { count: 0, sum: 0, buckets: {} }, 'nothing observed before the first tunnel');
      const s = await openSocket(proxy.port);
      s.write(`CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\n\r\n`);
      assert.equal(statusOf(await readUntil(s, '\r\n\r\n')), 200);
      await new Promise((r) => setTimeout(r, 300));
      s.end();
      await proxy.waitForLog((l) => l.event === 'connect' && l.status === 200);
      const after = connect((await get(admin)).text);
      assert.equal(after.count, 1);
      assert.ok(after.sum >= 0.3, `sum ${after.sum} s for a tunnel held 300 ms`);
      assert.equal(after.buckets['0.1'], 0, 'not in the 0.1 s bucket');
      assert.equal(after.buckets['+Inf'], 1);
    } finally {
      await proxy.stop();
    }
  });

  it('SIGTERM: readiness fails, new connections are refused, a live tunnel finishes, then exit 0', async () => {
    const proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', `${http.port}`, '--drain', '20s']);
    const s = await openSocket(proxy.port);
    s.write(`CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\n\r\n`);
    await readUntil(s, '\r\n\r\n');
    const exited = proxy.stop('SIGTERM');
    await proxy.waitForLog((l) => l.event === 'draining');
    assert.equal((await get(`http://127.0.0.1:${proxy.adminPort}/readyz`)).status, 503);
    const refused = await rawExchange(proxy.port, 'CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n', 1000).catch((e: Error) => e.message);
    assert.ok(refused === '' || /ECONNREFUSED/.test(refused), `new connections are not accepted: ${refused}`);
    // The tunnel still carries a full request and response while draining.
    s.write(`GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    const answer = await readUntil(s, '"bodySha256"');
    assert.match(answer, /^HTTP\/1\.1 200/);
    s.destroy();
    const { code } = await exited;
    assert.equal(code, 0);
    const closed = await proxy.waitForLog((l) => l.event === 'closed');
    assert.equal(closed.tunnels_cut, 0);
  });

  it('SIGTERM with a tunnel that outlives the drain period: cut, then exit 0', async () => {
    const proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${http.port}`, '--drain', '300ms']);
    const s = await openSocket(proxy.port);
    s.write(`CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\n\r\n`);
    await readUntil(s, '\r\n\r\n');
    const { code } = await proxy.stop('SIGTERM');
    assert.equal(code, 0);
    assert.equal((await proxy.waitForLog((l) => l.event === 'closed')).tunnels_cut, 1);
    s.destroy();
  });

  it('a second SIGTERM during the drain exits at once (143), long before the drain period ends', async () => {
    // A destination that holds every connection open and never closes one on its own.
    const held = new Set<Socket>();
    const hold = createServer((c) => held.add(c));
    await new Promise<void>((r) => hold.listen(0, '127.0.0.1', r));
    const holdPort = (hold.address() as AddressInfo).port;
    const proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${holdPort}`, '--drain', '60s']);
    const s = await openSocket(proxy.port);
    s.write(`CONNECT 127.0.0.1:${holdPort} HTTP/1.1\r\n\r\n`);
    assert.equal(statusOf(await readUntil(s, '\r\n\r\n')), 200);
    try {
      proxy.child.kill('SIGTERM');
      await proxy.waitForLog((l) => l.event === 'draining');
      // The held tunnel keeps the drain waiting for its 60 s; only the second signal ends it.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(proxy.child.exitCode, null, 'still draining after the first SIGTERM');
      const started = Date.now();
      const { code } = await proxy.stop('SIGTERM');
      const took = Date.now() - started;
      assert.equal(code, 143, proxy.stderr());
      // A correctness bound, not a performance target: "at once" against a 60 s drain.
      assert.ok(took < 15_000, `exited ${took} ms after the second SIGTERM`);
    } finally {
      s.destroy();
      for (const c of held) c.destroy();
      hold.close();
    }
  });

  it('refuses its own admin port as a loop (CONNECT and plain HTTP), though policy allows that port', async () => {
    const adminPort = await freePort();
    const proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', `127.0.0.1:${adminPort}`, '--allow-private', '--connect-ports', `${adminPort},${http.port}`]);
    try {
      // Control: loopback on an allowed port goes through, so only the loop guard can refuse the admin port.
      assert.equal(statusOf(await rawExchange(proxy.port, `GET http://127.0.0.1:${http.port}/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)), 200);
      for (const host of ['127.0.0.1', 'localhost']) {
        const tunnel = await rawExchange(proxy.port, `CONNECT ${host}:${adminPort} HTTP/1.1\r\nHost: ${host}:${adminPort}\r\n\r\n`);
        assert.equal(statusOf(tunnel), 403, tunnel);
        assert.match(tunnel, /error=proxy_loop_detected/);
        const get = await rawExchange(proxy.port, `GET http://${host}:${adminPort}/metrics HTTP/1.1\r\nHost: ${host}:${adminPort}\r\nConnection: close\r\n\r\n`);
        assert.equal(statusOf(get), 403, get);
        assert.match(get, /error=proxy_loop_detected/);
        assert.doesNotMatch(get, /egresskit_requests_total/, 'the metrics page was not served through the proxy');
      }
      const line = await proxy.waitForLog((l) => l.error === 'loop_denied' && l.target === `127.0.0.1:${adminPort}`);
      assert.equal(line.status, 403);
    } finally {
      await proxy.stop();
    }
  });

  it('refuses to proxy to its own listener even with --allow-private', async () => {
    const port = await freePort();
    const proxy = await startCli(['forward', '--listen', `127.0.0.1:${port}`, '--admin', 'off', '--allow-private', '--connect-ports', `${port}`]);
    try {
      const res = await rawExchange(proxy.port, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`);
      assert.equal(statusOf(res), 403);
      assert.match(res, /error=proxy_loop_detected/);
      assert.match(res, /one of egresskit's own listeners/);
    } finally {
      await proxy.stop();
    }
  });
});

describe('forward: parent proxy chaining', () => {
  let http: Upstream;
  let parent: CliProxy;
  let child: CliProxy;
  before(async () => {
    http = await startHttpUpstream();
    const dir = await mkdtemp(join(tmpdir(), 'egk-parent-'));
    const users = join(dir, 'htpasswd');
    await writeFile(users, `corp:${bcrypt.hashSync('p@ss word', 4)}\n`);
    parent = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${http.port}`, '--users', users]);
    child = await startCli([
      'forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${http.port}`,
      '--upstream-proxy', `http://corp:${encodeURIComponent('p@ss word')}@127.0.0.1:${parent.port}`,
      '--upstream-bypass', `localhost:${http.port}`,
    ]);
  });
  after(async () => {
    await child?.stop();
    await parent?.stop();
    await http?.close();
  });

  it('CONNECT and plain HTTP go through the parent with its credentials', async () => {
    const tunnel = await curl(['-p', '-x', child.url, `${http.origin}/echo`]);
    assert.equal(tunnel.status, 200, tunnel.stderr);
    const plain = await curl(['-x', child.url, `${http.origin}/echo`]);
    assert.equal(plain.status, 200);
    assert.equal(JSON.parse(plain.body).headers.via, '1.1 egresskit, 1.1 egresskit');
    const viaParent = await parent.waitForLog((l) => l.event === 'connect' && l.identity === 'corp');
    assert.equal(viaParent.status, 200);
    const childLine = await child.waitForLog((l) => l.event === 'connect');
    assert.equal(childLine.via, 'parent');
    assert.equal(childLine.resolved, `http://127.0.0.1:${parent.port}`);
    assert.doesNotMatch(JSON.stringify(child.logs), /p@ss/);
  });

  it('bypass entries (NO_PROXY syntax) go direct', async () => {
    const r = await curl(['-x', child.url, `http://localhost:${http.port}/echo`]);
    assert.equal(r.status, 200);
    const line = await child.waitForLog((l) => l.event === 'http' && l.target === `localhost:${http.port}`);
    assert.equal(line.via, 'direct');
  });

  it('a parent that rejects egresskit\'s credentials becomes a 502 that says so', async () => {
    const wrong = await startCli([
      'forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', `${http.port}`,
      '--upstream-proxy', `http://corp:wrong@127.0.0.1:${parent.port}`,
    ]);
    try {
      const res = await rawExchange(wrong.port, `CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\n\r\n`);
      assert.equal(statusOf(res), 502);
      assert.match(res, /parent proxy rejected egresskit's credentials/);
      assert.match(res, /error=proxy_configuration_error/);
      const plain = await curl(['-x', wrong.url, `${http.origin}/echo`]);
      assert.equal(plain.status, 502, 'the parent\'s 407 is not passed on as if egresskit wanted credentials');
    } finally {
      await wrong.stop();
    }
  });
});

describe('CLI: configuration errors', () => {
  it('an invalid config file exits 2 and names every bad field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-cfg-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, ['policy:', '  conectPorts: [443]', '  rules:', '    - action: allow', '      hosts: ["exa mple.com"]', 'timeouts:', '  idle: soon'].join('\n'));
    const r = await runCli(['forward', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid configuration in .*bad\.yaml/);
    assert.match(r.stderr, /policy: unknown field "conectPorts"/);
    assert.match(r.stderr, /timeouts\.idle: "soon" is not a duration/);
  });

  it('a bad rule pattern names its path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-cfg-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'policy:\n  rules:\n    - action: allow\n      hosts: ["ok.example.com", "10.0.0.0/33"]\n');
    const r = await runCli(['forward', '-c', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /policy\.rules\[0\]\.hosts\[1\]: "10\.0\.0\.0\/33" has a bad prefix length/);
  });

  it('YAML syntax errors give the line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-cfg-'));
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'policy:\n  rules: [\n');
    const r = await runCli(['forward', '-c', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml:\d+:\d+: not valid YAML/);
  });

  it('bad flags exit 2 with the fix', async () => {
    const ports = await runCli(['forward', '--connect-ports', '443,http']);
    assert.equal(ports.code, 2);
    assert.match(ports.stderr, /--connect-ports "443,http": expected comma-separated ports/);
    const listen = await runCli(['forward', '--listen', 'nowhere']);
    assert.equal(listen.code, 2);
    assert.match(listen.stderr, /listen: expected HOST:PORT/);
    const missing = await runCli(['forward', '--users', '/nonexistent/htpasswd', '--listen', '127.0.0.1:0', '--admin', 'off']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read htpasswd file \/nonexistent\/htpasswd/);
  });

  it('a busy port exits 2 and says which', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const r = await runCli(['forward', '--listen', `127.0.0.1:${port}`, '--admin', 'off']);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE\\)`));
    } finally {
      blocker.close();
    }
  });

  it('config schema prints a JSON Schema, and config check fills in defaults', async () => {
    const schema = await runCli(['config', 'schema']);
    assert.equal(schema.code, 0);
    const parsed = JSON.parse(schema.stdout);
    assert.ok(parsed.properties.policy);
    const dir = await mkdtemp(join(tmpdir(), 'egk-cfg-'));
    const file = join(dir, 'ok.yaml');
    await writeFile(file, 'mode: mtls\ntls: {dir: /etc/egresskit/tls}\n');
    const check = await runCli(['config', 'check', file]);
    assert.equal(check.code, 0, check.stderr);
    const cfg = JSON.parse(check.stdout);
    assert.equal(cfg.listen, '0.0.0.0:8443');
    assert.deepEqual(cfg.policy.connectPorts, [443, 80]);
    const secret = join(dir, 'parent.yaml');
    await writeFile(secret, 'upstreamProxy: {url: "http://corp:hunter2@squid.corp:3128"}\n');
    const shown = await runCli(['config', 'check', secret]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.doesNotMatch(shown.stdout, /hunter2/);
    assert.match(shown.stdout, /http:\/\/corp:REDACTED@squid\.corp:3128/);
  });
});

describe('library: startProxy', () => {
  it('a failed start (port in use) leaves no subscribers behind and throws the errno', async () => {
    const { startProxy, recordChannel } = await import('../../src/index.js');
    const first = await startProxy({ listen: '127.0.0.1:0', admin: 'off' });
    const before = recordChannel.hasSubscribers;
    await assert.rejects(startProxy({ listen: `127.0.0.1:${first.address.port}`, admin: 'off' }), /EADDRINUSE/);
    assert.equal(recordChannel.hasSubscribers, before);
    await first.close(0);
    assert.equal(first.ready(), false);
  });
});

describe('CLI: basics', () => {
  it('--version prints the package version; --help lists the commands', async () => {
    const v = await runCli(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^\d+\.\d+\.\d+/);
    const h = await runCli(['--help']);
    assert.equal(h.code, 0);
    for (const cmd of ['forward', 'mtls', 'certs', 'config', 'k8s']) assert.match(h.stdout, new RegExp(`\\b${cmd}\\b`));
    const bad = await runCli(['forwrd']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown command 'forwrd'/);
  });
});
