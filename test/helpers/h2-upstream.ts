import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { constants, createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { bodyDigest, streamBytes, type Upstream } from './upstream.js';

/**
 * An HTTPS destination that speaks HTTP/2 (and HTTP/1.1 for clients that ask for it), with
 * WebSocket endpoints over HTTP/1.1:
 *   /echo          JSON: method, path, httpVersion, headers, body length and sha256, request trailers
 *   /trailers      a body, then the trailer x-checksum: abc123
 *   /bytes?n=N     N bytes
 *   /early-hints   103 Early Hints, then 200
 *   /goaway        answers, then ends its HTTP/2 session with a GOAWAY
 *   /close-unanswered  HTTP/2 only: closes the stream (RST_STREAM NO_ERROR) without any response
 *   /ws-echo       WebSocket (permessage-deflate offered): echoes every message; "close-me" closes with 4001
 *   /ws-deny       refuses the Upgrade with 403 and a body
 */
export async function startH2Upstream(cert: string, key: string): Promise<Upstream & { sessions: () => number }> {
  let sessions = 0;
  const sockets = new Set<Duplex>();
  const server: Http2SecureServer = createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => handle(req, res));
  server.on('session', () => sessions++);
  server.on('secureConnection', (socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const wss = attachWebSocketEcho(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `https://localhost:${port}`,
    sessions: () => sessions,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** /ws-echo echoes messages ("close-me" closes with 4001); any other Upgrade gets a 403. */
function attachWebSocketEcho(server: Http2SecureServer | Server): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: { threshold: 0 } });
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'close-me') ws.close(4001, 'asked to close');
      else ws.send(data, { binary: isBinary });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (req.url === '/ws-echo') return void wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nnot for you ws');
  });
  return wss;
}

/** Plain-HTTP WebSocket endpoints (ws://127.0.0.1:PORT/ws-echo), for absolute-URI Upgrades. */
export async function startPlainWebSocketUpstream(): Promise<Upstream> {
  const server = createHttpServer((_req, res) => res.end('ws only'));
  const wss = attachWebSocketEcho(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function handle(req: Http2ServerRequest, res: Http2ServerResponse): void {
  const url = new URL(req.url, 'https://x');
  if (url.pathname === '/trailers') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('part one, ');
    res.addTrailers({ 'x-checksum': 'abc123' });
    res.end('part two');
    return;
  }
  if (url.pathname === '/goaway') {
    res.end('bye');
    // HTTP/2 only: a graceful GOAWAY after this response, as servers do when they restart.
    if ('stream' in req) req.stream.session?.close();
    return;
  }
  if (url.pathname === '/close-unanswered' && 'stream' in req) {
    req.stream.close(constants.NGHTTP2_NO_ERROR);
    return;
  }
  if (url.pathname === '/early-hints') {
    res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('after hints');
    return;
  }
  if (url.pathname === '/bytes') return streamBytes(res, Number(url.searchParams.get('n') ?? 0));
  bodyDigest(req, (length, sha256) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'h2-test' });
    res.end(
      JSON.stringify({
        method: req.method,
        path: req.url,
        httpVersion: req.httpVersion,
        headers: req.headers,
        bodyLength: length,
        bodySha256: sha256,
        trailers: req.trailers,
      }),
    );
  });
}
