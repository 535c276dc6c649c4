import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { createServer as createHttps, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { createCA, issueCert } from '../../src/certs/index.js';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { spawn } from 'node:child_process';
import { crlRevoking } from '../helpers/pki-extra.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';

interface Visit {
  status: number;
  /** Whether the TLS session named in the options was resumed. */
  reused: boolean;
  /** The session to resume next time (TLS 1.3 tickets arrive after the handshake). */
  session: Buffer | undefined;
}

/** Reads an HTTP/1.1 head off a socket. */
function readHead(s: Socket | TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n\r\n')) {
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.once('close', () => resolve(got));
  });
}

/** A TLS handshake that waits for a session ticket too (or gives up on it after a while). */
function handshake(options: ConnectionOptions): Promise<{ socket: TLSSocket; session: Promise<Buffer | undefined> }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(options);
    const session = new Promise<Buffer | undefined>((r) => {
      socket.once('session', r);
      setTimeout(() => r(undefined), 2000).unref();
    });
    socket.once('secureConnect', () => resolve({ socket, session }));
    socket.once('error', reject);
  });
}

async function metric(adminPort: number, line: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : 0;
}

/** openssl with `input` on stdin; resolves with its stdout once it exits (killed after 10 s). */
function openssl(args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('latin1').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill(), 10_000);
    child.once('error', reject);
    child.once('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.stdin.end(input);
  });
}

async function makeMtlsCerts(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'egk-resume-'));
  const made = await runCli(['certs', 'mtls', '--out', join(dir, 'certs')]);
  assert.equal(made.code, 0, made.stderr);
  return join(dir, 'certs');
}

describe('mtls: TLS sessions resume, carry the client identity, and end with a reload', () => {
  let http: Upstream;
  let certs: string;
  let volume: string;
  let proxy: CliProxy;
  let client: { ca: Buffer; cert: Buffer; key: Buffer };

  /** kubelet's Secret layout, swapped by a rename (as test/e2e/mtls.test.ts does). */
  async function project(stamp: string, crl: string): Promise<void> {
    const dir = join(volume, `..${stamp}`);
    await mkdir(dir);
    await writeFile(join(dir, 'tls.crt'), await readFile(join(certs, 'server.crt')));
    await writeFile(join(dir, 'tls.key'), await readFile(join(certs, 'server.key')));
    await writeFile(join(dir, 'ca.crt'), await readFile(join(certs, 'ca.crt')));
    await writeFile(join(dir, 'ca.crl'), crl);
    await symlink(`..${stamp}`, join(volume, '..data_tmp'));
    await rename(join(volume, '..data_tmp'), join(volume, '..data'));
  }

  /** One CONNECT tunnel through the mtls listener, one request inside it. */
  async function visit(session?: Buffer): Promise<Visit> {
    const { socket, session: next } = await handshake({ host: '127.0.0.1', port: proxy.port, servername: 'localhost', ...client, session });
    const reused = socket.isSessionReused();
    socket.write(`CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\nHost: 127.0.0.1:${http.port}\r\n\r\n`);
    const head = await readHead(socket);
    socket.write('GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const answer = await readHead(socket);
    const got = await next;
    socket.destroy();
    assert.match(head, /^HTTP\/1\.1 200/);
    return { status: Number(answer.split(' ')[1]), reused, session: got };
  }

  before(async () => {
    http = await startHttpUpstream();
    certs = await makeMtlsCerts();
    volume = await mkdtemp(join(tmpdir(), 'egk-resume-secret-'));
    await project('v1', await crlRevoking(certs, []));
    for (const f of ['tls.crt', 'tls.key', 'ca.crt', 'ca.crl']) await symlink(join('..data', f), join(volume, f));
    const config = join(volume, '..', `${volume.split('/').pop()}.yaml`);
    await writeFile(config, `tls:\n  dir: ${volume}\n  crl: ${join(volume, 'ca.crl')}\n  reloadInterval: 200ms\n`);
    proxy = await startCli(['mtls', '-c', config, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--allow-private', '--connect-ports', `${http.port}`]);
    const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
    client = { ca: ca!, cert: cert!, key: key! };
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
  });

  it('a Node client resumes; the resumed tunnel is still identified by its client certificate; the metric counts both kinds', async () => {
    const first = await visit();
    assert.equal(first.reused, false);
    assert.ok(first.session, 'the listener issues a session ticket');
    const second = await visit(first.session);
    assert.equal(second.reused, true, 'the second handshake resumes');
    assert.equal(second.status, 200);
    await proxy.waitForLog(() => proxy.logs.filter((l) => l.event === 'connect' && l.status === 200).length >= 2);
    for (const l of proxy.logs.filter((x) => x.event === 'connect' && x.status === 200).slice(-2)) {
      assert.equal(l.identity, 'egresskit client', 'a resumed session carries the client certificate');
      assert.equal(l.identity_kind, 'certificate');
    }
    assert.ok((await metric(proxy.adminPort!, /^egresskit_tls_handshakes_total\{.*side="listener".*resumed="true"/)) >= 1);
    assert.ok((await metric(proxy.adminPort!, /^egresskit_tls_handshakes_total\{.*side="listener".*resumed="false"/)) >= 1);
  });

  it('openssl s_client -sess_out / -sess_in: "Reused"', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egk-sess-'));
    const sess = join(dir, 'sess.pem');
    const args = ['s_client', '-connect', `127.0.0.1:${proxy.port}`, '-servername', 'localhost', '-CAfile', join(certs, 'ca.crt'), '-cert', join(certs, 'client.crt'), '-key', join(certs, 'client.key')];
    // -ign_eof keeps the connection until the destination closes it (Connection: close), well
    // after the session ticket arrived.
    const request = `CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
    const one = await openssl([...args, '-sess_out', sess, '-ign_eof'], request);
    assert.match(one, /\bNew, TLS/, one);
    const two = await openssl([...args, '-sess_in', sess, '-ign_eof'], request);
    assert.match(two, /\bReused, TLS/, two);
    assert.match(two, /HTTP\/1\.1 200/);
  });

  it('after a reload that revokes the client (CRL), its earlier session no longer resumes: the handshake is a full one, and refused', async () => {
    const before = await visit();
    const resumed = await visit(before.session);
    assert.equal(resumed.reused, true);
    await project('v2', await crlRevoking(certs, [client.cert.toString()]));
    await proxy.waitForLog((l) => l.event === 'reloaded', 5000);
    const { socket } = await handshake({ host: '127.0.0.1', port: proxy.port, servername: 'localhost', ...client, session: resumed.session ?? before.session }).catch((err: Error) => ({ socket: undefined, err }));
    if (socket) {
      // TLS 1.3: the client sees its handshake done before the server has checked its certificate.
      assert.equal(socket.isSessionReused(), false, 'the session from before the reload was not resumed');
      socket.write(`CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const head = await readHead(socket).catch(() => '');
      socket.destroy();
      assert.doesNotMatch(head, /^HTTP\/1\.1 200/);
    }
    await proxy.waitForLog((l) => l.event === 'tls_error' && /CERT_REVOKED/.test(String(l.error_detail)), 5000);
  });
});

describe('inspect: client-facing sessions resume per host, upstream sessions are reused only where they were verified', () => {
  let caDir: string;
  let interceptCa: Buffer;
  let upstream: HttpsServer;
  let upstreamPort: number;
  const handshakes = { full: 0, resumed: 0 };
  let proxy: CliProxy;

  /** One CONNECT to `host`, TLS to the minted leaf inside it, one request. */
  async function visit(host: string, session?: Buffer): Promise<Visit & { head: string }> {
    const raw = netConnect(proxy.port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    raw.write(`CONNECT ${host}:${upstreamPort} HTTP/1.1\r\nHost: ${host}:${upstreamPort}\r\n\r\n`);
    const head = await readHead(raw);
    assert.match(head, /^HTTP\/1\.1 200/);
    const servername = host === '127.0.0.1' ? undefined : host;
    const { socket, session: next } = await handshake({ socket: raw, host, ...(servername ? { servername } : {}), ca: interceptCa, session });
    const reused = socket.isSessionReused();
    socket.write(`GET / HTTP/1.1\r\nHost: ${host}:${upstreamPort}\r\nConnection: close\r\n\r\n`);
    const answer = await readHead(socket);
    const got = await next;
    socket.destroy();
    return { status: Number(answer.split(' ')[1]), reused, session: got, head: answer };
  }

  before(async () => {
    const ca = await createCA({ cn: 'egk-resume upstream CA' });
    // Valid for the name only: the same server reached by its address must fail verification.
    const leaf = await issueCert({ ca, kind: 'server', cn: 'localhost', sans: ['localhost'] });
    const dir = await mkdtemp(join(tmpdir(), 'egk-resume-up-'));
    await writeFile(join(dir, 'ca.crt'), ca.certPem);
    upstream = createHttps({ cert: leaf.certPem, key: leaf.keyPem }, (_req, res) => res.end('ok'));
    upstream.on('secureConnection', (s: TLSSocket) => (s.isSessionReused() ? handshakes.resumed++ : handshakes.full++));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamPort = (upstream.address() as AddressInfo).port;
    caDir = await mkdtemp(join(tmpdir(), 'egk-resume-ca-'));
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--ui', 'off', '--ca-dir', caDir,
      '--upstream-ca', join(dir, 'ca.crt'), '--allow-private', '--connect-ports', String(upstreamPort),
    ]);
    interceptCa = await readFile(join(caDir, 'ca.crt'));
  });
  after(async () => {
    await proxy?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('the second tunnel to a host resumes towards the client (its leaf from the cache) and towards the destination', async () => {
    const first = await visit('localhost');
    assert.equal(first.status, 200, first.head);
    assert.equal(first.reused, false);
    assert.ok(first.session);
    const fullBefore = handshakes.full;
    const second = await visit('localhost', first.session);
    assert.equal(second.status, 200);
    assert.equal(second.reused, true, 'the client resumes its session with the minted leaf');
    assert.ok(handshakes.resumed >= 1, `the destination saw a resumed handshake (${JSON.stringify(handshakes)})`);
    assert.equal(handshakes.full, fullBefore, 'no new full handshake with the destination');
    const admin = proxy.adminPort!;
    assert.ok((await metric(admin, /^egresskit_tls_handshakes_total\{.*side="intercept".*resumed="true"/)) >= 1);
    assert.ok((await metric(admin, /^egresskit_tls_handshakes_total\{.*side="upstream".*resumed="true"/)) >= 1);
    assert.ok((await metric(admin, /^egresskit_tls_handshakes_total\{.*side="upstream".*resumed="false"/)) >= 1);
    assert.ok((await metric(admin, /^egresskit_leaf_cache_total\{.*result="miss"/)) >= 1);
    assert.ok((await metric(admin, /^egresskit_leaf_cache_total\{.*result="hit"/)) >= 1);
  });

  it('a session the destination issued for its name is not offered when the same server is reached by address: verification still fails', async () => {
    await visit('localhost');
    const resumedBefore = handshakes.resumed;
    const byAddress = await visit('127.0.0.1');
    assert.equal(byAddress.status, 502, byAddress.head);
    assert.equal(handshakes.resumed, resumedBefore, 'no resumed handshake reached the destination');
    const line = await proxy.waitForLog((l) => l.error === 'upstream_tls' && String(l.target).startsWith('127.0.0.1:'));
    assert.match(String(line.error_detail), /ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it('a client ticket for one intercepted host does not resume another', async () => {
    const a = await visit('localhost');
    const b = await visit('127.0.0.1', a.session);
    assert.equal(b.reused, false);
  });
});
