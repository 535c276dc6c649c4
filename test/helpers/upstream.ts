import { createHash } from 'node:crypto';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Readable } from 'node:stream';
import { createServer as createNet, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';

export interface Upstream {
  port: number;
  /** http://127.0.0.1:PORT or https://localhost:PORT */
  origin: string;
  close(): Promise<void>;
}

/**
 * A destination with known behaviour:
 *   /echo         JSON of method, path, headers, body length and sha256
 *   /bytes?n=N    N bytes of 'x' (streamed in 64 KiB chunks)
 *   /hang         never answers
 *   /ws           Upgrade: answers 101, then echoes bytes
 */
function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/hang') return;
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status) {
    res.writeHead(Number(status[1]), { 'x-status': status[1] });
    res.end();
    return;
  }
  if (url.pathname === '/trailers') {
    res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
    res.write('part one, ');
    res.addTrailers({ 'x-checksum': 'abc123' });
    res.end('part two');
    return;
  }
  if (url.pathname === '/cookies') {
    res.writeHead(200, [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['content-length', '0']]);
    res.end();
    return;
  }
  if (url.pathname === '/truncate') {
    res.writeHead(200, { 'content-length': '100000' });
    res.write(Buffer.alloc(1000, 'x'));
    setTimeout(() => res.socket?.destroy(), 50);
    return;
  }
  if (url.pathname === '/bytes') return streamBytes(res, Number(url.searchParams.get('n') ?? 0));
  bodyDigest(req, (length, sha256) => {
    const body = JSON.stringify({
      method: req.method,
      path: req.url,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      bodyLength: length,
      bodySha256: sha256,
    });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'egresskit-test', connection: 'x-drop-me', 'x-drop-me': '1' });
    res.end(body);
  });
}

/** Reads a request body to its end, keeping only its length and SHA-256. */
export function bodyDigest(req: Readable, done: (length: number, sha256: string) => void): void {
  const hash = createHash('sha256');
  let length = 0;
  req.on('data', (d: Buffer) => {
    length += d.length;
    hash.update(d);
  });
  req.on('end', () => done(length, hash.digest('hex')));
}

interface ByteSink {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Buffer): boolean;
  end(): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/** N bytes of 'x' in 64 KiB chunks, with backpressure (HTTP/1.1 and HTTP/2 responses alike). */
export function streamBytes(res: ByteSink, n: number): void {
  let left = n;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) });
  const chunk = Buffer.alloc(65536, 'x');
  const pump = () => {
    while (left > 0) {
      const size = Math.min(left, chunk.length);
      left -= size;
      if (!res.write(size === chunk.length ? chunk : chunk.subarray(0, size))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}

function onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade ?? 'x'}\r\nConnection: Upgrade\r\n\r\n`);
  if (head.length) socket.write(head);
  socket.pipe(socket);
}

async function listen(server: Server | NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function closer(server: Server | NetServer): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      (server as Server).closeAllConnections?.();
    });
}

export async function startHttpUpstream(): Promise<Upstream> {
  const server = createHttp(handler);
  server.on('upgrade', onUpgrade);
  const port = await listen(server);
  return { port, origin: `http://127.0.0.1:${port}`, close: closer(server) };
}

export async function startHttpsUpstream(cert: string, key: string): Promise<Upstream> {
  const server = createHttps({ cert, key }, handler);
  server.on('upgrade', onUpgrade);
  const port = await listen(server);
  return { port, origin: `https://localhost:${port}`, close: closer(server) };
}

/**
 * Reads until the client half-closes, then answers with the byte count and closes: proves a
 * tunnel passes a FIN on without closing the other direction.
 */
export async function startHalfCloseServer(): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const server = createNet({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let n = 0;
    socket.on('data', (d: Buffer) => (n += d.length));
    socket.on('end', () => socket.end(`got ${n} bytes after your FIN\n`));
    socket.on('error', () => undefined);
  });
  const port = await listen(server);
  return {
    port,
    origin: `tcp://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
