import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { startHttpsUpstream, startHttpUpstream, type Upstream } from '../helpers/upstream.js';

async function makeCerts(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'egk-wmtls-'));
  const made = await runCli(['certs', 'mtls', '--out', join(dir, 'certs')]);
  assert.equal(made.code, 0, made.stderr);
  return join(dir, 'certs');
}

/** The proxy's certificate as a fresh handshake sees it. */
async function fingerprint(port: number, certs: string): Promise<string> {
  const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, cert, key }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}

/** A handshake with the client certificate of `certs`, offering `session`: is it resumed, and what session to offer next. */
async function handshake(port: number, certs: string, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
  const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
  return new Promise((resolve, reject) => {
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca, cert, key, session, maxVersion: 'TLSv1.2' }, () => {
      const result = { reused: s.isSessionReused(), session: s.getSession() };
      // Closed politely, so the proxy reads the client's last handshake message before the end.
      s.once('close', () => resolve(result));
      s.end();
    });
    s.once('error', reject);
  });
}

const workersOf = (p: CliProxy, event: string) => new Set(p.logs.filter((l) => l.event === event).map((l) => l.worker));

describe('--workers 2 with TLS: mtls certificates re-read by every worker; inspect has one CA, one flow store and UI', () => {
  let pki: TestPki;
  let http: Upstream;
  let https: Upstream;
  const proxies: CliProxy[] = [];
  before(async () => {
    pki = await makeTestPki('egk-wtls');
    http = await startHttpUpstream();
    https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.stop('SIGKILL')));
    await http?.close();
    await https?.close();
  });

  it('mtls: SIGHUP makes every worker present the replaced certificate', async () => {
    const [first, second] = await Promise.all([makeCerts(), makeCerts()]);
    const dir = await mkdtemp(join(tmpdir(), 'egk-wmtls-live-'));
    for (const f of ['server.crt', 'server.key', 'ca.crt']) await copyFile(join(first, f), join(dir, f));
    const config = join(dir, 'egresskit.yaml');
    // Only SIGHUP re-reads the files in this test: the timer would do it too, in its own time.
    await writeFile(config, `tls:\n  cert: ${join(dir, 'server.crt')}\n  key: ${join(dir, 'server.key')}\n  clientCa: ${join(dir, 'ca.crt')}\n  reloadInterval: 1h\n`);
    const proxy = await startCli(['mtls', '-c', config, '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', String(http.port), '--workers', '2']);
    proxies.push(proxy);
    const old = await fingerprint(proxy.port, first);
    for (let i = 0; i < 20 && workersOf(proxy, 'http').size < 2; i++) {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const r = await curl(['--proxy', `https://localhost:${proxy.port}`, '--proxy-cacert', join(first, 'ca.crt'), '--proxy-cert', join(first, 'client.pem'), `${http.origin}/echo`]);
          assert.equal(r.status, 200, r.stderr);
        }),
      );
      await sleep(100);
    }
    assert.deepEqual(workersOf(proxy, 'http'), new Set([1, 2]));
    for (const f of ['server.crt', 'server.key', 'ca.crt']) {
      await copyFile(join(second, f), join(dir, `${f}.new`));
      await rename(join(dir, `${f}.new`), join(dir, f));
    }
    proxy.child.kill('SIGHUP');
    await proxy.waitForLog(() => workersOf(proxy, 'reloaded').size === 2);
    assert.deepEqual(workersOf(proxy, 'reloaded'), new Set([1, 2]));
    // Enough fresh handshakes that both workers answer some: none presents the old certificate.
    const seen = new Set(await Promise.all(Array.from({ length: 12 }, () => fingerprint(proxy.port, second))));
    assert.equal(seen.size, 1);
    assert.notEqual([...seen][0], old);
  });

  it('inspect: one CA for every worker, and the UI\'s flow store sees the flows of both', async () => {
    const caDir = await mkdtemp(join(tmpdir(), 'egk-wins-ca-'));
    const proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', '127.0.0.1:0', '--ca-dir', caDir, '--upstream-ca', pki.caFile,
      '--allow', 'localhost', '--allow-private', '--connect-ports', String(https.port), '--capture-bytes', '1000', '--workers', '2',
    ]);
    proxies.push(proxy);
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    const ui = `http://127.0.0.1:${/:(\d+)$/.exec(String(listening.ui))![1]}`;
    let n = 0;
    for (let round = 0; round < 20 && workersOf(proxy, 'http').size < 2; round++) {
      await Promise.all(
        Array.from({ length: 6 }, async () => {
          const i = ++n;
          const r = await curl(['-x', proxy.url, '--cacert', join(caDir, 'ca.crt'), '--data-binary', 'x'.repeat(5000), `https://localhost:${https.port}/echo?i=${i}`]);
          assert.equal(r.status, 200, r.stderr);
        }),
      );
      await sleep(100);
    }
    assert.deepEqual(workersOf(proxy, 'http'), new Set([1, 2]), 'intercepted exchanges were served by both workers');
    type Summary = { id: string; url: string; status: number | null; host: string };
    let flows: Summary[] = [];
    for (let i = 0; i < 50; i++) {
      flows = ((await (await fetch(`${ui}/api/flows`)).json()) as { flows: Summary[] }).flows;
      if (flows.filter((f) => f.status === 200).length >= n) break;
      await sleep(100);
    }
    const urls = flows.filter((f) => f.status === 200).map((f) => f.url);
    for (let i = 1; i <= n; i++) assert.equal(urls.filter((u) => u.endsWith(`/echo?i=${i}`)).length, 1, `one flow for request ${i}: ${urls.join(' ')}`);
    assert.equal(flows.length, n, 'no extra flow for a tunnel whose exchange was captured');
    // Bodies crossed bounded: the capture cap holds, the size is the real one.
    const one = (await (await fetch(`${ui}/api/flows/${flows[0]!.id}`)).json()) as { request: { body: { size: number; truncated: boolean } } };
    assert.equal(one.request.body.size, 5000);
    assert.equal(one.request.body.truncated, true);
  });

  it('mtls: a session from one worker resumes on every worker (one ticket secret), and the primary counts every handshake', async () => {
    const certs = await makeCerts();
    const proxy = await startCli([
      'mtls', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--workers', '2',
      '--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt'),
    ]);
    proxies.push(proxy);
    const listening = await proxy.waitForLog((l) => l.event === 'listening');
    const admin = `http://${String(listening.admin)}`;
    // TLS 1.2: the session is ready when the handshake is (a TLS 1.3 ticket arrives after it).
    const first = await handshake(proxy.port, certs);
    assert.equal(first.reused, false);
    // 24 new connections: the kernel spreads them over both workers; each resumes whichever served it.
    const resumed = await Promise.all(Array.from({ length: 24 }, () => handshake(proxy.port, certs, first.session)));
    assert.deepEqual(resumed.map((r) => r.reused), resumed.map(() => true), 'every connection resumed the first one\'s session');
    let metrics = '';
    for (let i = 0; i < 40; i++) {
      metrics = await (await fetch(`${admin}/metrics`)).text();
      if (/egresskit_tls_handshakes_total\{side="listener",resumed="true"[^}]*\} 24\b/.test(metrics)) break;
      await sleep(50);
    }
    assert.match(metrics, /egresskit_tls_handshakes_total\{side="listener",resumed="true"[^}]*\} 24\b/, 'the workers\' handshakes are counted on the primary');
  });
});
