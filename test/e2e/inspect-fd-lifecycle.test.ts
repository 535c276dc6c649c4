import assert from 'node:assert/strict';
import { readdir, readFile, mkdtemp } from 'node:fs/promises';
import { createServer as createHttps, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { openSocket, readUntil } from '../helpers/raw.js';

/** Open file descriptors of a process (Linux). */
async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

/** Polls until the fd count is at most `idle`; returns the last count seen. */
async function settleFds(pid: number, idle: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let n = await openFds(pid);
  while (n > idle && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    n = await openFds(pid);
  }
  return n;
}

/**
 * The destination: `/` answers ok, `/drop` closes the connection without an answer; an Upgrade
 * gets a 101 and an echo, and the destination itself ends the session when it reads "bye".
 */
async function startDestination(pki: TestPki): Promise<{ server: Server; port: number }> {
  const server = createHttps({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
    if (req.url === '/drop') return void req.socket.destroy();
    res.end('ok');
  });
  server.on('upgrade', (_req, socket: Socket) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-echo\r\nConnection: Upgrade\r\n\r\n');
    socket.on('data', (d: Buffer) => (d.includes('bye') ? socket.end() : socket.write(d)));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('inspect: every socket of an intercepted tunnel is closed, whatever carried it', () => {
  let pki: TestPki;
  let dest: { server: Server; port: number };
  let proxy: CliProxy;
  let ca: string;
  before(async () => {
    pki = await makeTestPki('egk-fd');
    dest = await startDestination(pki);
    const caDir = await mkdtemp(join(tmpdir(), 'egk-fd-ca-'));
    proxy = await startCli([
      'inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', caDir,
      '--upstream-ca', pki.caFile, '--allow-private', '--connect-ports', String(dest.port),
    ]);
    ca = await readFile(join(caDir, 'ca.crt'), 'utf8');
  });
  after(async () => {
    await proxy?.stop();
    dest?.server.closeAllConnections();
    await new Promise((r) => dest?.server.close(r));
  });

  const raws = new WeakMap<TLSSocket, Socket>();
  async function tunnel(): Promise<TLSSocket> {
    const raw = await openSocket(proxy.port);
    raw.write(`CONNECT localhost:${dest.port} HTTP/1.1\r\nHost: localhost:${dest.port}\r\n\r\n`);
    assert.match(await readUntil(raw, '\r\n\r\n'), /^HTTP\/1\.1 200/);
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ socket: raw, servername: 'localhost', ca, ALPNProtocols: ['http/1.1'] }, () => resolve(s));
      raws.set(s, raw);
      s.once('error', reject);
    });
  }

  const closed = (s: Socket) => new Promise((r) => (s.destroyed ? r(undefined) : s.once('close', r)));

  async function handshakeOnly(): Promise<void> {
    const s = await tunnel();
    s.end();
    await closed(s);
  }

  async function webSocket(closer: 'client' | 'destination'): Promise<void> {
    const s = await tunnel();
    s.write(`GET /ws HTTP/1.1\r\nHost: localhost:${dest.port}\r\nConnection: Upgrade\r\nUpgrade: x-echo\r\n\r\n`);
    await readUntil(s, '\r\n\r\n');
    s.write('ping');
    await readUntil(s, 'ping');
    if (closer === 'client') s.end();
    else s.write('bye');
    await closed(s);
  }

  async function clientReset(): Promise<void> {
    const s = await tunnel();
    s.write(`GET / HTTP/1.1\r\nHost: localhost:${dest.port}\r\n`);
    await new Promise((r) => setTimeout(r, 20));
    raws.get(s)!.resetAndDestroy();
    await closed(s);
  }

  async function destinationCloses(): Promise<void> {
    const s = await tunnel();
    s.write(`GET /drop HTTP/1.1\r\nHost: localhost:${dest.port}\r\n\r\n`);
    assert.match(await readUntil(s, '\r\n\r\n'), /^HTTP\/1\.1 502/);
    s.end();
    await closed(s);
  }

  async function everyKind(): Promise<void> {
    await Promise.all([handshakeOnly(), webSocket('client'), webSocket('destination'), clientReset(), destinationCloses()]);
  }

  it('fds return to idle after handshake-only tunnels, WebSockets closed by either side, client resets and destination closes', async () => {
    // One round first, so whatever the proxy opens once (and keeps) is part of "idle".
    await everyKind();
    await new Promise((r) => setTimeout(r, 1000));
    const idle = await openFds(proxy.child.pid!);
    for (let i = 0; i < 10; i++) await everyKind();
    const afterwards = await settleFds(proxy.child.pid!, idle);
    assert.ok(afterwards <= idle, `${afterwards} fds open after the traffic, ${idle} at idle`);
  });
});
