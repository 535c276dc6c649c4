/**
 * One test per quirk in src/quirks/node-quirks.ts. Each asserts the Node (or ws) behaviour the
 * quirk depends on or works around, so it goes red on the first version where that behaviour
 * changes: then the quirk is either dead code to delete or broken code to rewrite.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer, Socket, type AddressInfo, type Server as NetServer } from 'node:net';
import { before, describe, test } from 'node:test';
import { connect as tlsConnect, createSecureContext, createServer as createTlsServer, TLSSocket } from 'node:tls';
import { createCA, issueCert } from '../../../src/certs/index.js';
import { keepPeerAddress, markServerHandshakeDone, startConnectionTracking, underlyingSocket } from '../../../src/quirks/node-quirks.js';
import { wsInternals } from '../../../src/quirks/ws-internals.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';

async function listenLoopback(server: NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** What a client that sends half a request head, then nothing, sees within `waitMs`. */
async function silentClient(track: boolean, waitMs: number): Promise<{ closed: boolean; received: string }> {
  const http = createHttpServer({ headersTimeout: 200, requestTimeout: 1000, connectionsCheckingInterval: 25 });
  if (track) startConnectionTracking(http);
  // The HTTP server never listens: a plain TCP server hands it its sockets, as the TLS front does.
  const front = createNetServer((socket) => http.emit('connection', socket));
  const port = await listenLoopback(front);
  const client = netConnect(port, '127.0.0.1');
  let received = '';
  let closed = false;
  client.setEncoding('utf8').on('data', (d: string) => (received += d));
  client.on('error', () => undefined);
  client.once('close', () => (closed = true));
  await once(client, 'connect');
  client.write('GET / HTTP/1.1\r\nHost: example\r\n');
  const deadline = Date.now() + waitMs;
  while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  client.destroy();
  http.closeAllConnections();
  http.close();
  front.close();
  return { closed, received };
}

describe('quirk: connection tracking starts on listening', () => {
  test('without startConnectionTracking, a server that never listens lets a silent client hang past headersTimeout', async () => {
    const r = await silentClient(false, 800);
    // Red here means Node now tracks connections without 'listening': startConnectionTracking can go.
    assert.equal(r.closed, false, `the server closed the connection on its own: ${JSON.stringify(r.received)}`);
    assert.equal(r.received, '');
  });
  test('with it, the same client gets 408 once headersTimeout has passed', async () => {
    const r = await silentClient(true, 3000);
    assert.equal(r.closed, true, 'the silent client was never timed out');
    assert.match(r.received, /^HTTP\/1\.1 408 /);
  });
});

describe('TLS quirks', () => {
  let pki: TestPki;
  let stranger: { certPem: string; keyPem: string };
  before(async () => {
    pki = await makeTestPki('egk-quirks');
    const otherCa = await createCA({ cn: 'egk-quirks stranger CA' });
    stranger = await issueCert({ ca: otherCa, kind: 'client', cn: 'stranger' });
  });

  /**
   * A client certificate from another CA, refused by a TLS server that is fed its sockets by a
   * TCP front (as the mtls listener is): what the tlsClientError listener can read.
   */
  async function refusedPeer(keep: boolean): Promise<{ own: string | undefined; raw: Socket | undefined; address?: string; port?: number; clientPort: number }> {
    const tls = createTlsServer({ cert: pki.serverCert, key: pki.serverKey, ca: pki.caPem, requestCert: true, rejectUnauthorized: true });
    // Read inside the listener, as start-proxy does: a tick later the sockets are destroyed.
    const refused = new Promise<{ own: string | undefined; raw: Socket | undefined; address?: string; port?: number }>((resolve) =>
      tls.once('tlsClientError', (_err: Error, socket: TLSSocket) => {
        const raw = underlyingSocket(socket);
        resolve({ own: socket.remoteAddress, raw, address: raw?.remoteAddress, port: raw?.remotePort });
      }),
    );
    const front = createNetServer((socket) => {
      if (keep) keepPeerAddress(socket);
      tls.emit('connection', socket);
    });
    const port = await listenLoopback(front);
    const client = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.caPem, cert: stranger.certPem, key: stranger.keyPem });
    client.on('error', () => undefined);
    await once(client, 'connect');
    const clientPort = client.localPort!;
    try {
      return { ...(await refused), clientPort };
    } finally {
      client.destroy();
      front.close();
    }
  }

  test('a TLSSocket refused on verification has lost its peer address; _parent, the TCP socket, still has it once read', async () => {
    const seen = await refusedPeer(true);
    // Red here means the refused TLSSocket keeps its address: underlyingSocket can go.
    assert.equal(seen.own, undefined);
    assert.ok(seen.raw instanceof Socket, `_parent is ${String(seen.raw)}, not a net.Socket`);
    assert.ok(!(seen.raw instanceof TLSSocket), '_parent is the TCP socket, not another TLS layer');
    assert.equal(seen.address, '127.0.0.1');
    assert.equal(seen.port, seen.clientPort);
  });

  test('without keepPeerAddress, _parent has lost the address too', async () => {
    const seen = await refusedPeer(false);
    // Red here means net.Socket keeps its peer address after close: keepPeerAddress can go.
    assert.ok(seen.raw instanceof Socket);
    assert.equal(seen.address, undefined);
  });

  test('a hand-built server TLSSocket still reports secureConnecting after its handshake', async () => {
    const context = createSecureContext({ cert: pki.serverCert, key: pki.serverKey });
    const sockets: TLSSocket[] = [];
    const secured = new Promise<TLSSocket>((resolve, reject) => {
      const server = createNetServer((raw) => {
        // As interception wraps the client's tunnel: not accepted by a tls.Server.
        const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
        sockets.push(secure);
        secure.once('secure', () => resolve(secure));
        secure.once('error', reject);
      });
      void listenLoopback(server).then((port) => {
        const client = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.caPem });
        client.on('error', () => undefined);
        sockets.push(client);
        secured.finally(() => server.close()).catch(() => undefined);
      }, reject);
    });
    const secure = await secured;
    try {
      const state = secure as TLSSocket & { secureConnecting: boolean };
      // Red here means Node now clears it itself: markServerHandshakeDone can go.
      assert.equal(state.secureConnecting, true);
      markServerHandshakeDone(secure);
      assert.equal(state.secureConnecting, false);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});

describe('quirk: ws exports its frame parser and deflate extension', () => {
  test('Receiver and PerMessageDeflate are constructors', () => {
    assert.equal(typeof wsInternals.Receiver, 'function');
    assert.equal(typeof wsInternals.PerMessageDeflate, 'function');
  });

  test('Receiver parses a frame with the options capture passes; PerMessageDeflate accepts an offer', async () => {
    const pmd = new wsInternals.PerMessageDeflate({ isServer: false, maxPayload: 1024 });
    pmd.accept([{}]);
    const r = new wsInternals.Receiver({ isServer: false, extensions: { 'permessage-deflate': pmd }, maxPayload: 1024, skipUTF8Validation: true });
    const message = new Promise<[Buffer, boolean]>((resolve) => r.on('message', (data, isBinary) => resolve([data, isBinary])));
    // An unmasked, uncompressed, final text frame "hi" (RFC 6455 section 5.2).
    r.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    const [data, isBinary] = await message;
    assert.equal(Buffer.from(data).toString('utf8'), 'hi');
    assert.equal(isBinary, false);
    r.end();
    pmd.cleanup();
  });
});

