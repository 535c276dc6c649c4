import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { BIN } from '../helpers/paths.js';
import { curl } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { openSocket, rawExchange, readUntil, statusOf } from '../helpers/raw.js';
import { startHttpsUpstream, startHttpUpstream, type Upstream } from '../helpers/upstream.js';

async function bind(port = 0): Promise<Server | undefined> {
  const s = createServer();
  s.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', resolve);
    });
    return s;
  } catch {
    return undefined;
  }
}

const closeAll = (servers: Server[]) => Promise.all(servers.map((s) => new Promise((r) => s.close(r))));

interface DevPorts {
  forward: number;
  inspect: number;
  ui: number;
  mtls: number;
  /** The first of three consecutive free ports (forward's, inspect's and mtls's admin). */
  admin: number;
}

/** Ports free a moment ago, all different: held together until every one is known. */
async function freeDevPorts(): Promise<DevPorts> {
  const held: Server[] = [];
  const take = async () => {
    const s = (await bind())!;
    held.push(s);
    return (s.address() as AddressInfo).port;
  };
  const [forward, inspect, ui, mtls] = [await take(), await take(), await take(), await take()];
  let admin = 0;
  for (let i = 0; i < 50 && admin === 0; i++) {
    const base = await take();
    const next = [await bind(base + 1), await bind(base + 2)];
    for (const s of next) if (s) held.push(s);
    if (next.every(Boolean)) admin = base;
  }
  await closeAll(held);
  assert.ok(admin > 0, 'no three consecutive free ports for the admin endpoints');
  return { forward, inspect, ui, mtls, admin };
}

const portArgs = (p: DevPorts) => [
  '--forward-port', `${p.forward}`, '--inspect-port', `${p.inspect}`, '--ui-port', `${p.ui}`,
  '--mtls-port', `${p.mtls}`, '--admin-port', `${p.admin}`,
];

async function fingerprint(file: string): Promise<string> {
  return new X509Certificate(await readFile(file)).fingerprint256;
}

/** Waits until the banner (stderr) is complete: it is written once all three listen. */
async function banner(proxy: CliProxy): Promise<string> {
  for (let i = 0; i < 200; i++) {
    if (proxy.stderr().includes('Ctrl-C stops all three')) return proxy.stderr();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no banner; stderr: ${proxy.stderr()}`);
}

/** The printed `curl ...` line whose proxy is `url`, as an argument list (temp paths have no spaces). */
function printedCurl(text: string, url: string): string[] {
  const line = text.split('\n').find((l) => l.trim().startsWith('curl ') && l.includes(` ${url} `));
  assert.ok(line, `no curl line for ${url} in:\n${text}`);
  return line.trim().split(/\s+/).slice(1);
}

/** Runs the CLI; one still running after `ms` is killed and fails the test (it left a listener open). */
async function runToExit(args: string[], ms: number): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  assert.equal(signal, null, `egresskit dev did not exit within ${ms} ms: something was left running\n${stderr}`);
  return { code, stderr };
}

async function startDev(dir: string, ports: DevPorts, extra: string[]): Promise<CliProxy> {
  const proxy = await startCli(['dev', '--dir', dir, ...portArgs(ports), ...extra]);
  for (const mode of ['forward', 'inspect', 'mtls']) await proxy.waitForLog((l) => l.event === 'listening' && l.mode === mode);
  return proxy;
}

describe('egresskit dev: forward, inspect and mtls in one process', () => {
  let pki: TestPki;
  let https: Upstream;
  let http: Upstream;
  let dir: string;
  let ports: DevPorts;
  let proxy: CliProxy | undefined;
  let text: string;
  const fingerprints: Record<string, string> = {};

  before(async () => {
    pki = await makeTestPki('egk-dev');
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    http = await startHttpUpstream();
    dir = join(await mkdtemp(join(tmpdir(), 'egk-dev-')), 'certs');
    ports = await freeDevPorts();
    // The stack's own ports are allowed destination ports too: only the self-loop guard stands between them and a client.
    const own = [ports.forward, ports.inspect, ports.ui, ports.mtls, ports.admin, ports.admin + 1, ports.admin + 2];
    proxy = await startDev(dir, ports, ['--allow-private', '--connect-ports', [https.port, http.port, ...own].join(','), '--upstream-ca', pki.caFile]);
    text = await banner(proxy);
  });
  after(async () => {
    await proxy?.stop('SIGKILL');
    await Promise.all([https?.close(), http?.close()]);
  });

  it('prints the address of each mode, the UI and the certificate paths', () => {
    assert.match(text, /certificates created in/);
    assert.ok(text.includes(`http://127.0.0.1:${ports.forward}`));
    assert.ok(text.includes(`https://127.0.0.1:${ports.mtls}`));
    assert.ok(text.includes(`UI http://127.0.0.1:${ports.ui}/`));
    assert.ok(text.includes(`egresskit doctor https://example.com --proxy http://127.0.0.1:${ports.forward}`));
    assert.ok(text.includes(`export NODE_EXTRA_CA_CERTS=${join(dir, 'inspect', 'ca.crt')}`));
    assert.ok(text.includes(`export https_proxy=http://127.0.0.1:${ports.inspect}`));
    assert.ok(text.includes(join(dir, 'mtls', 'client.key')));
    assert.match(text, /are allowed: --allow-private is on/);
  });

  it('the printed forward command works, against an HTTPS upstream the client verifies', async () => {
    const args = printedCurl(text, `http://127.0.0.1:${ports.forward}`).map((a) => (a === 'https://example.com' ? `${https.origin}/echo` : a));
    const r = await curl([...args, '--cacert', pki.caFile]);
    assert.equal(r.status, 200, r.stderr);
    const line = await proxy!.waitForLog((l) => l.event === 'connect' && l.target === `localhost:${https.port}`);
    assert.equal(line.mode, 'forward');
  });

  it('the printed inspect command works: the inspect CA from the folder, the upstream CA passed through', async () => {
    const args = printedCurl(text, `http://127.0.0.1:${ports.inspect}`).map((a) => (a === 'https://example.com' ? `${https.origin}/echo?via=inspect` : a));
    assert.ok(args.includes(join(dir, 'inspect', 'ca.crt')));
    const r = await curl(args);
    assert.equal(r.status, 200, r.stderr);
    const line = await proxy!.waitForLog((l) => l.event === 'http' && l.url === `${https.origin}/echo`);
    assert.equal(line.mode, 'inspect');
    const res = await fetch(`http://127.0.0.1:${ports.ui}/api/flows`);
    const { flows } = (await res.json()) as { flows: Array<{ url: string }> };
    assert.ok(flows.some((f) => f.url === `${https.origin}/echo?via=inspect`));
  });

  it('the printed mtls command works with the client certificate from the folder; without it the proxy refuses', async () => {
    const args = printedCurl(text, `https://127.0.0.1:${ports.mtls}`).map((a) => (a === 'https://example.com' ? `${https.origin}/echo` : a));
    const r = await curl([...args, '--cacert', pki.caFile]);
    assert.equal(r.status, 200, r.stderr);
    const line = await proxy!.waitForLog((l) => l.event === 'connect' && l.identity === 'egresskit client');
    assert.equal(line.mode, 'mtls');
    const noCert = await curl(['--proxy', `https://127.0.0.1:${ports.mtls}`, '--proxy-cacert', join(dir, 'mtls', 'ca.crt'), '--cacert', pki.caFile, `${https.origin}/echo`]);
    assert.notEqual(noCert.code, 0);
  });

  it('each mode has its admin endpoint on --admin-port, +1, +2', async () => {
    for (const [i, mode] of ['forward', 'inspect', 'mtls'].entries()) {
      const listening = await proxy!.waitForLog((l) => l.event === 'listening' && l.mode === mode);
      assert.equal(listening.admin, `127.0.0.1:${ports.admin + i}`);
      const res = await fetch(`http://127.0.0.1:${ports.admin + i}/readyz`);
      assert.equal(res.status, 200);
    }
  });

  it('with --allow-private, forward refuses every port of the stack as a loop: the other modes, their admin endpoints, the UI', async () => {
    const others = { inspect: ports.inspect, 'inspect admin': ports.admin + 1, ui: ports.ui, mtls: ports.mtls, 'mtls admin': ports.admin + 2 };
    for (const [what, port] of Object.entries(others)) {
      const connect = await rawExchange(ports.forward, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      assert.equal(statusOf(connect), 403, `CONNECT to ${what}: ${connect}`);
      assert.match(connect, /error=proxy_loop_detected/, what);
    }
    // Plain HTTP too: /explain trusts loopback callers, and the UI serves flows.
    for (const [what, path] of [['inspect admin', `${ports.admin + 1}/explain?url=https://example.com/`], ['ui', `${ports.ui}/api/flows`]]) {
      const get = await rawExchange(ports.forward, `GET http://127.0.0.1:${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.equal(statusOf(get), 403, `GET to ${what}: ${get}`);
      assert.match(get, /error=proxy_loop_detected/, what);
    }
    // And the other way round: inspect refuses forward's admin port.
    const back = await rawExchange(ports.inspect, `CONNECT 127.0.0.1:${ports.admin} HTTP/1.1\r\nHost: 127.0.0.1:${ports.admin}\r\n\r\n`);
    assert.equal(statusOf(back), 403, back);
    assert.match(back, /error=proxy_loop_detected/);
  });

  it('keys are 0600 and the folder 0700', async () => {
    for (const f of ['mtls/ca.key', 'mtls/server.key', 'mtls/server.pem', 'mtls/client.key', 'mtls/client.pem', 'inspect/ca.key']) {
      assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, f);
    }
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });

  it('SIGINT stops all three and exits 0', async () => {
    fingerprints.inspect = await fingerprint(join(dir, 'inspect', 'ca.crt'));
    fingerprints.mtls = await fingerprint(join(dir, 'mtls', 'ca.crt'));
    const { code } = await proxy!.stop('SIGINT');
    assert.equal(code, 0, proxy!.stderr());
    for (const mode of ['forward', 'inspect', 'mtls']) assert.ok(proxy!.logs.some((l) => l.event === 'closed' && l.mode === mode), mode);
    proxy = undefined;
  });

  it('a second start reuses the folder; without --allow-private a local destination is refused', async () => {
    proxy = await startDev(dir, ports, ['--connect-ports', `${https.port},${http.port}`]);
    const second = await banner(proxy);
    assert.match(second, /certificates reused in/);
    assert.match(second, /are refused, as in production\. To reach local services: npm start -- --allow-private/);
    assert.equal(await fingerprint(join(dir, 'inspect', 'ca.crt')), fingerprints.inspect);
    assert.equal(await fingerprint(join(dir, 'mtls', 'ca.crt')), fingerprints.mtls);
    const r = await curl(['-x', `http://127.0.0.1:${ports.forward}`, `${http.origin}/echo`]);
    assert.equal(r.status, 403, r.body);
    assert.match(r.body, /--allow-private/);
    const { code } = await proxy.stop('SIGTERM');
    assert.equal(code, 0, proxy.stderr());
    proxy = undefined;
  });

  it('a second signal during the drain exits at once', async () => {
    proxy = await startDev(dir, ports, ['--allow-private', '--connect-ports', `${http.port}`, '--drain', '60s']);
    const tunnel = await openSocket(ports.forward);
    tunnel.write(`CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\nHost: 127.0.0.1:${http.port}\r\n\r\n`);
    assert.equal(statusOf(await readUntil(tunnel, '\r\n\r\n')), 200);
    proxy.child.kill('SIGINT');
    await proxy.waitForLog((l) => l.event === 'draining' && l.mode === 'forward');
    const started = Date.now();
    const { code } = await proxy.stop('SIGINT');
    assert.equal(code, 130);
    assert.ok(Date.now() - started < 5000);
    tunnel.destroy();
    proxy = undefined;
  });
});

describe('egresskit dev: a port in use', () => {
  for (const [flag, key] of [['--mtls-port', 'mtls'], ['--admin-port', 'admin']] as const) {
    it(`names ${flag} in one line, exits 2 and leaves nothing listening`, async () => {
      const dir = join(await mkdtemp(join(tmpdir(), 'egk-dev-taken-')), 'certs');
      const ports = await freeDevPorts();
      // mtls starts last and forward's admin port is the first: both proxies before it were up.
      const busy = key === 'admin' ? ports.admin + 2 : ports[key];
      const blocker = (await bind(busy))!;
      try {
        const r = await runToExit(['dev', '--dir', dir, ...portArgs(ports)], 20_000);
        assert.equal(r.code, 2, r.stderr);
        const lines = r.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.ok(lines[0]!.includes(`127.0.0.1:${busy}`), r.stderr);
        assert.ok(lines[0]!.includes(flag), r.stderr);
        for (const port of [ports.forward, ports.inspect, ports.ui, ports.admin, ports.admin + 1]) {
          const s = await bind(port);
          assert.ok(s, `port ${port} is still taken`);
          await closeAll([s]);
        }
      } finally {
        await closeAll([blocker]);
      }
    });
  }
});

describe('egresskit dev: a half-written certificate folder', () => {
  it('is refused with exit 2 and what to do, and is not completed with certificates from another CA', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'egk-dev-partial-')), 'certs');
    await mkdir(join(dir, 'mtls'), { recursive: true });
    await writeFile(join(dir, 'mtls', 'ca.crt'), 'left over\n');
    const r = await runToExit(['dev', '--dir', dir, ...portArgs(await freeDevPorts())], 20_000);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /holds only part of the development certificates \(1 of 8 files\); delete /);
    assert.deepEqual(await readdir(join(dir, 'mtls')), ['ca.crt']);
  });
});
