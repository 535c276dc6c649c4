import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { createCA, issueCert } from '../../src/certs/index.js';

/**
 * A TLS server that serves two names from one address, as a CDN does (`localhost`, what the
 * tests CONNECT to, and `fronted.test`, the name a fronting client hides behind it), and counts
 * the bytes each TCP connection sent it: a refused tunnel must reach it with none.
 */
export interface SharedHost {
  port: number;
  caPem: string;
  /** Bytes received, per accepted TCP connection, in order. */
  received: number[];
  /** The SNI of each completed handshake. */
  names: string[];
  close(): Promise<void>;
}

export async function startSharedHost(): Promise<SharedHost> {
  const ca = await createCA({ cn: 'egresskit fronting test CA' });
  const leaf = await issueCert({ ca, kind: 'server', cn: 'localhost', sans: ['localhost', 'fronted.test'] });
  const received: number[] = [];
  const names: string[] = [];
  const tls = createTlsServer({ cert: leaf.certPem, key: leaf.keyPem }, (s: TLSSocket) => {
    names.push(s.servername || '');
    s.on('error', () => undefined);
    // An HTTP/1.0-style answer: the client's first line comes back, then the server closes.
    s.once('data', (d: Buffer) => s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${d.length}\r\nConnection: close\r\n\r\n${d.toString('latin1')}`));
  });
  tls.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  const tlsPort = (tls.address() as AddressInfo).port;
  const sockets = new Set<Socket>();
  // The counting happens in front of the TLS server, on a plain relay: a TLS server reads its
  // socket natively, without 'data' events to count.
  const front = createServer((socket) => {
    const i = received.push(0) - 1;
    const inner = connect(tlsPort, '127.0.0.1');
    for (const s of [socket, inner]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.once('close', () => (sockets.delete(s), socket.destroy(), inner.destroy()));
    }
    socket.on('data', (d) => (received[i]! += d.length));
    socket.pipe(inner);
    inner.pipe(socket);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    port: (front.address() as AddressInfo).port,
    caPem: ca.certPem,
    received,
    names,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await new Promise<void>((resolve) => tls.close(() => resolve()));
    },
  };
}

/** A plain TCP server that echoes what it gets and counts it (for tunnels that are not TLS). */
export async function startEchoHost(): Promise<{ port: number; received: number[]; close(): Promise<void> }> {
  const received: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const i = received.push(0) - 1;
    sockets.add(socket);
    socket.on('data', (d) => (received[i]! += d.length));
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Opens a CONNECT tunnel through a plain proxy; resolves with the socket after the 200 (or rejects with the status line). */
export async function connectTunnel(proxyPort: number, authority: string, opts: { localAddress?: string; head?: Buffer } = {}): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port: proxyPort, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  await once(socket, 'connect');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  if (opts.head) socket.write(opts.head);
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      const head = got.subarray(0, end).toString('latin1');
      if (!head.startsWith('HTTP/1.1 200')) {
        socket.destroy();
        return reject(Object.assign(new Error(head.split('\r\n')[0]), { response: got.toString('latin1') }));
      }
      socket.pause();
      if (got.length > end + 4) socket.unshift(got.subarray(end + 4));
      resolve(socket);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** A TLS client inside the tunnel; resolves with the HTTP answer, or rejects with the TLS error (e.g. an alert). */
export function tlsThrough(tunnel: Socket, options: Omit<ConnectionOptions, 'socket'>): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ ...options, socket: tunnel }, () => s.write('GET / HTTP/1.1\r\n\r\n'));
    let body = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (body += d));
    s.once('end', () => resolve(body));
    s.once('error', reject);
    s.once('close', () => resolve(body));
  });
}
