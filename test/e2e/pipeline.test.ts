import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { createNetns, destroyNetns, execIn, inNetns, spawnIn } from '../helpers/netns.js';
import { needNetns } from '../helpers/prerequisites.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { openSocket, readUntil } from '../helpers/raw.js';
import { startHttpsUpstream, startHttpUpstream, type Upstream } from '../helpers/upstream.js';

// Behaviours that used to differ between the ways into the pipeline, now written once.

describe('pipeline: every way in behaves the same', () => {
  let http: Upstream;
  let proxy: CliProxy;
  let dir: string;
  before(async () => {
    http = await startHttpUpstream();
    dir = await mkdtemp(join(tmpdir(), 'egk-pipeline-'));
    const config = join(dir, 'config.yaml');
    // A user's rule named like a built-in guard must be reported as what it is: a policy denial.
    await writeFile(config, ['policy:', '  rules:', '    - id: self', '      action: deny', '      hosts: ["blocked.example"]', ''].join('\n'));
    proxy = await startCli(['forward', '--config', config, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', `80,443,${http.port}`]);
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a user rule with id "self" that denies is a policy denial (403 http_request_denied), not a proxy loop', async () => {
    for (const args of [['http://blocked.example/'], ['-p', 'https://blocked.example/']]) {
      const r = await curl(['-i', '-x', proxy.url, ...args]);
      assert.match(r.stdout, /Proxy-Status: egresskit; error=http_request_denied/i);
      assert.doesNotMatch(r.stdout, /proxy_loop_detected/);
    }
    const line = await proxy.waitForLog((l) => l.rule === 'self' && l.event === 'http');
    assert.equal(line.error, 'policy_denied');
    assert.equal(line.status, 403);
  });

  it('every record has phase timings: connect and time to first byte for a tunnel and a forwarded request', async () => {
    const r = await curl(['-sS', '-x', proxy.url, `${http.origin}/echo`]);
    assert.equal(r.code, 0, r.stderr);
    const line = await proxy.waitForLog((l) => l.event === 'http' && l.status === 200);
    for (const f of ['dns_ms', 'connect_ms', 'tls_ms', 'ttfb_ms']) assert.ok(f in line, `${f} is a field of every line`);
    assert.equal(line.dns_ms, null, 'an IP literal is not resolved');
    assert.equal(typeof line.ttfb_ms, 'number');
    const t = await curl(['-sS', '-p', '-x', proxy.url, `${http.origin}/echo`]);
    assert.equal(t.code, 0, t.stderr);
    const tunnel = await proxy.waitForLog((l) => l.event === 'connect' && l.status === 200);
    assert.equal(typeof tunnel.connect_ms, 'number');
    assert.equal(typeof tunnel.ttfb_ms, 'number');
    const metrics = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
    assert.match(metrics, /egresskit_phase_seconds_count\{mode="forward",phase="connect"\} [1-9]/);
    assert.match(metrics, /egresskit_phase_seconds_count\{mode="forward",phase="ttfb"\} [1-9]/);
  });
});

describe('pipeline: inside interception', () => {
  let pki: TestPki;
  let https: Upstream;
  let caDir: string;
  let proxy: CliProxy;
  before(async () => {
    pki = await makeTestPki('egk-pipeline-inspect');
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    caDir = await mkdtemp(join(tmpdir(), 'egk-pipeline-ca-'));
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', caDir,
      '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(https.port),
    ]);
  });
  after(async () => {
    await proxy?.stop();
    await https?.close();
    await rm(caDir, { recursive: true, force: true });
  });

  it('an HTTP/1.1 request the parser refuses inside a tunnel: 400 with Proxy-Status, and a record', async () => {
    const socket = await openSocket(proxy.port);
    socket.write(`CONNECT localhost:${https.port} HTTP/1.1\r\nHost: localhost:${https.port}\r\n\r\n`);
    assert.match(await readUntil(socket, '\r\n\r\n'), /^HTTP\/1\.1 200/);
    const ca = await readFile(join(caDir, 'ca.crt'), 'utf8');
    const t = tlsConnect({ socket, servername: 'localhost', ca });
    await new Promise<void>((resolve, reject) => t.once('secureConnect', resolve).once('error', reject));
    // Two framings at once (RFC 9112 section 6.3): a smuggling attempt.
    t.write('POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    const response = await readUntil(t, '\r\n\r\n');
    t.destroy();
    assert.match(response, /^HTTP\/1\.1 400/);
    assert.match(response, /Proxy-Status: egresskit; error=http_request_error/i);
    const line = await proxy.waitForLog((l) => l.event === 'client_error' && l.target === `localhost:${https.port}`);
    assert.equal(line.error, 'bad_framing');
    assert.equal(line.status, 400);
  });

  it('the tunnel record has the upstream TLS handshake time', async () => {
    const r = await curl(['-sS', '--cacert', join(caDir, 'ca.crt'), '-x', proxy.url, `https://localhost:${https.port}/echo`]);
    assert.equal(r.code, 0, r.stderr);
    const tunnel = await proxy.waitForLog((l) => l.event === 'connect' && typeof l.tls_ms === 'number');
    assert.ok((tunnel.tls_ms as number) >= 0);
    const exchange = await proxy.waitForLog((l) => l.event === 'http' && l.status === 200);
    assert.equal(typeof exchange.ttfb_ms, 'number');
  });
});

const NS = 'egk-pipe-fallback';

describe('pipeline: dial falls back to the next allowed address', async () => {
  const netns = await needNetns(`${NS}-probe`);
  let proxy: CliProxy | undefined;
  let upstream: ReturnType<typeof spawnIn> | undefined;
  const etc = `/etc/netns/${NS}`;
  before(async () => {
    if (netns.skip) return;
    netns.require();
    await destroyNetns(NS);
    // `ip netns exec` mounts /etc/netns/NAME/hosts over /etc/hosts: a name with two addresses, in this namespace only.
    await mkdir(etc, { recursive: true });
    await writeFile(join(etc, 'hosts'), '127.0.0.1 localhost\n127.0.0.2 dual.test\n127.0.0.3 dual.test\n');
    await createNetns(NS);
  });
  after(async () => {
    await proxy?.stop();
    upstream?.kill();
    if (!netns.skip) await destroyNetns(NS);
    await rm(etc, { recursive: true, force: true });
  });

  it('plain HTTP and CONNECT both reach the second address when the first refuses', { skip: netns.skip }, async () => {
    // The resolver's order decides which address is first; the upstream listens on the other one only.
    const order = await execIn(NS, process.execPath, ['-e', "require('dns').lookup('dual.test',{all:true,verbatim:true},(e,a)=>console.log(a.map(x=>x.address).join(' ')))"]);
    const [first, second] = order.stdout.trim().split(' ');
    assert.ok(first && second, `dual.test must resolve to two addresses: ${order.stdout} ${order.stderr}`);
    upstream = spawnIn(NS, process.execPath, ['-e', `require('http').createServer((q,s)=>s.end('second')).listen(8080,'${second}',()=>console.log('up'))`]);
    await new Promise<void>((resolve) => upstream!.stdout!.once('data', () => resolve()));
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', '8080'], {}, inNetns(NS));
    for (const args of [['http://dual.test:8080/'], ['-p', 'http://dual.test:8080/']]) {
      const r = await execIn(NS, 'curl', ['-sS', '-m', '10', '-x', proxy.url, ...args]);
      assert.equal(r.stdout, 'second', r.stderr);
    }
    for (const event of ['http', 'connect']) {
      const line = await proxy.waitForLog((l) => l.event === event && l.status === 200);
      assert.equal(line.resolved, `${second}:8080`, `${event}: the address that answered is the one recorded`);
      assert.equal(typeof line.dns_ms, 'number');
    }
  });
});
