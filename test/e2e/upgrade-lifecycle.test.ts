import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttp, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { openSocket, rawExchange, readUntil, statusOf } from '../helpers/raw.js';

/** What the destination does with an Upgrade, by path; `got` resolves when a request arrived. */
type Behaviour = (req: IncomingMessage, socket: Socket) => void;

function waiter<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const IDLE_MS = 1500;

describe('captured Upgrades: the exchange ends, and is recorded, whatever leaves first', { timeout: 60_000 }, () => {
  let pki: TestPki;
  let plain: Server;
  let secure: Server;
  let proxy: CliProxy;
  let ca: string;
  const behaviours = new Map<string, Behaviour>();
  const held = new Set<Socket>();
  const port = (s: Server) => (s.address() as AddressInfo).port;

  before(async () => {
    pki = await makeTestPki('egk-upgrade');
    const onUpgrade = (req: IncomingMessage, socket: Socket) => {
      socket.on('error', () => undefined);
      held.add(socket);
      const b = behaviours.get(req.url ?? '');
      if (b) b(req, socket);
      else socket.destroy();
    };
    plain = createHttp((_req, res) => res.end('plain ok'));
    plain.on('upgrade', onUpgrade);
    secure = createHttps({ cert: pki.serverCert, key: pki.serverKey }, (_req, res) => res.end('ok'));
    secure.on('upgrade', onUpgrade);
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
    const dir = await mkdtemp(join(tmpdir(), 'egk-upgrade-ca-'));
    const config = join(dir, 'config.yaml');
    await writeFile(config, `timeouts:\n  idle: ${IDLE_MS}ms\n`);
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--ui', 'off', '--ca-dir', dir, '--config', config,
      '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', `${port(plain)},${port(secure)}`,
    ]);
    ca = await readFile(join(dir, 'ca.crt'), 'utf8');
  });
  after(async () => {
    await proxy?.stop();
    for (const s of held) s.destroy();
    for (const s of [plain, secure]) {
      s?.closeAllConnections();
      await new Promise((r) => s?.close(r));
    }
  });

  function upgradeRequest(target: string, host: string): string {
    return `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
  }

  async function activeTunnels(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`)).text();
    return Number(/egresskit_active_tunnels\{mode="inspect"\} (\d+)/.exec(text)?.[1] ?? NaN);
  }

  async function tunnelsBackToZero(): Promise<void> {
    const deadline = Date.now() + 5000;
    let n = await activeTunnels();
    while (n !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      n = await activeTunnels();
    }
    assert.equal(n, 0, 'egresskit_active_tunnels returns to 0');
  }

  async function stillServes(): Promise<void> {
    const answer = await rawExchange(proxy.port, `GET http://127.0.0.1:${port(plain)}/ HTTP/1.1\r\nHost: 127.0.0.1:${port(plain)}\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(answer), 200);
    assert.ok(answer.includes('plain ok'));
  }

  /** The destination answers 101 only once the test says so, then keeps the connection open. */
  function late(path: string): { got: Promise<Socket>; answer: () => void } {
    const got = waiter<Socket>();
    const go = waiter();
    behaviours.set(path, (_req, socket) => {
      got.resolve(socket);
      void go.promise.then(() => {
        if (!socket.destroyed) socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      });
    });
    return { got: got.promise, answer: () => go.resolve() };
  }

  it('a client inside interception that leaves before the 101: client_gone is recorded, no tunnel is left', { timeout: 12_000 }, async () => {
    const d = late('/late-tls');
    const raw = await openSocket(proxy.port);
    raw.write(`CONNECT localhost:${port(secure)} HTTP/1.1\r\nHost: localhost:${port(secure)}\r\n\r\n`);
    assert.match(await readUntil(raw, '\r\n\r\n'), /^HTTP\/1\.1 200/);
    const tls = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: raw, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] }, () => resolve(s));
      s.once('error', reject);
    });
    tls.write(upgradeRequest('/late-tls', `localhost:${port(secure)}`));
    const upstream = await d.got;
    tls.end();
    await new Promise((r) => (raw.destroyed ? r(undefined) : raw.once('close', r)));
    await new Promise((r) => setTimeout(r, 100));
    d.answer();
    const line = await proxy.waitForLog((l) => l.event === 'upgrade' && String(l.url).endsWith('/late-tls'), 5000);
    assert.equal(line.error, 'client_gone');
    await tunnelsBackToZero();
    await new Promise((r) => (upstream.destroyed ? r(undefined) : upstream.once('close', r)));
  });

  it('a plain ws:// client that resets before the 101: the proxy stays up, records it, and no tunnel is left', { timeout: 12_000 }, async () => {
    const d = late('/late-plain');
    const s = await openSocket(proxy.port);
    s.on('error', () => undefined);
    s.write(upgradeRequest(`http://127.0.0.1:${port(plain)}/late-plain`, `127.0.0.1:${port(plain)}`));
    await d.got;
    s.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 100));
    d.answer();
    const line = await proxy.waitForLog((l) => l.event === 'upgrade' && String(l.url).endsWith('/late-plain'), 5000);
    assert.ok(line.error === 'client_reset' || line.error === 'client_gone', String(line.error));
    await tunnelsBackToZero();
    await stillServes();
  });

  it('a destination that takes the Upgrade and never answers: 504 upstream_timeout after timeouts.idle', { timeout: 12_000 }, async () => {
    const got = waiter();
    behaviours.set('/silent', () => got.resolve());
    const s = await openSocket(proxy.port);
    const started = Date.now();
    s.write(upgradeRequest(`http://127.0.0.1:${port(plain)}/silent`, `127.0.0.1:${port(plain)}`));
    const answer = await readUntil(s, '\r\n\r\n', IDLE_MS + 3000);
    s.destroy();
    assert.equal(statusOf(answer), 504, answer);
    assert.ok(Date.now() - started >= IDLE_MS - 100, 'not before the idle timeout');
    const line = await proxy.waitForLog((l) => l.event === 'upgrade' && String(l.url).endsWith('/silent'), 5000);
    assert.equal(line.error, 'upstream_timeout');
    await tunnelsBackToZero();
  });

  it('a refusal whose destination then resets: the client gets exactly one response', { timeout: 12_000 }, async () => {
    behaviours.set('/refuse-reset', (_req, socket) => {
      socket.write('HTTP/1.1 403 Forbidden\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\nnot for yo');
      setTimeout(() => socket.resetAndDestroy(), 100);
    });
    const answer = await rawExchange(proxy.port, upgradeRequest(`http://127.0.0.1:${port(plain)}/refuse-reset`, `127.0.0.1:${port(plain)}`));
    assert.equal(statusOf(answer), 403, answer);
    assert.equal(answer.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, `one response: ${answer}`);
    assert.ok(answer.includes('not for yo'));
    const line = await proxy.waitForLog((l) => l.event === 'upgrade' && String(l.url).endsWith('/refuse-reset'), 5000);
    assert.equal(line.status, 403);
    assert.ok(line.error, 'the cut is recorded');
    await stillServes();
  });

  it('a plain ws:// client that resets while the destination has not answered yet: the proxy stays up', { timeout: 12_000 }, async () => {
    const got = waiter();
    behaviours.set('/never', () => got.resolve());
    const s = await openSocket(proxy.port);
    s.on('error', () => undefined);
    s.write(upgradeRequest(`http://127.0.0.1:${port(plain)}/never`, `127.0.0.1:${port(plain)}`));
    await got.promise;
    await new Promise((r) => setTimeout(r, 50));
    s.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(proxy.child.exitCode, null, `the proxy is alive: ${proxy.stderr()}`);
    await stillServes();
    const line = await proxy.waitForLog((l) => l.event === 'upgrade' && String(l.url).endsWith('/never'), 5000);
    assert.ok(line.error === 'client_reset' || line.error === 'client_gone', String(line.error));
    await tunnelsBackToZero();
  });
});
