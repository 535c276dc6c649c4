/**
 * Every place egresskit relies on behaviour of Node.js that is not public API (ws's undeclared
 * exports are in ws-internals.ts beside this, so that only inspect loads ws),
 * or works around a bug in it. Each quirk names the behaviour and has a test in
 * test/unit/quirks/ that fails on the first Node version where the quirk stops holding, so it
 * is removed then rather than left to rot. Nothing else in src/ touches these internals.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';

/**
 * Node's HTTP server starts its connection bookkeeping (header and request deadlines,
 * closeIdleConnections) in its 'listening' handler (lib/_http_server.js, setupConnectionsTracking).
 * A server that is fed sockets with emit('connection') and never listens (the HTTP server behind
 * a TLS front, the HTTP/1.1 server inside interception) would never time out a silent client.
 * Emitting 'listening' once starts the tracking; the server still binds nothing.
 */
export function startConnectionTracking(server: HttpServer): void {
  server.emit('listening');
}

/**
 * A TLS socket refused during its handshake (certificate verification) has lost its handle and
 * with it its peer address. The TCP socket under it (the undocumented `_parent`) answers only
 * if its address was read before: net.Socket caches it (`_peername`) on first read, so the
 * listener calls keepPeerAddress on every socket before the handshake starts.
 */
export function keepPeerAddress(socket: Socket): void {
  void socket.remoteAddress;
}

/** The TCP socket under a TLS socket; see keepPeerAddress for why its address outlives the TLS socket's. */
export function underlyingSocket(socket: TLSSocket): Socket | undefined {
  return (socket as TLSSocket & { _parent?: Socket })._parent;
}

/**
 * Node clears `secureConnecting` only for sockets its own tls.Server accepted (nodejs/node#32958
 * made it a property); on a TLSSocket built by hand it stays true after 'secure', and
 * http2.performServerHandshake would wait for a 'secureConnect' a server socket never emits.
 */
export function markServerHandshakeDone(socket: TLSSocket): void {
  (socket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
}

/**
 * llhttp (Node 20 and 24, strict mode) takes a request line that stops after the target for
 * HTTP/0.9 and hands it on as a request with httpVersionMajor 0: "GET /", "CONNECT host:443",
 * and a bare LF inside a CONNECT target, which ends the line early and leaves the rest to be
 * read as a header field ("CONNECT a\nb:443 HTTP/1.1" is a CONNECT to "a" with a header "b").
 * It also accepts "HTTP/2.0" in an HTTP/1 request line. Node has no option to refuse either,
 * so every entry asks this before it reads anything else of the request; a proxy port speaks
 * HTTP/1.0 and HTTP/1.1 only (RFC 9112 section 2.3; HTTP/2 starts with its preface).
 */
export function isHttp1Request(req: IncomingMessage): boolean {
  return req.httpVersionMajor === 1;
}

/**
 * Node's HTTP server emits 'request' as soon as a head is complete and parses on: a parse error
 * after it (a Transfer-Encoding that does not end in chunked, RFC 9112 section 6.3, which
 * llhttp on Node 20 and 24 checks only after emitting the request; a bad chunk; junk
 * pipelined behind a request) arrives as 'clientError' while that request's response is still
 * owed or under way. Node's own clientError default looks at the socket's response (the
 * undocumented `_httpMessage`) so as not to write into it; the proxy's handler does the same.
 */
export function inFlightResponse(socket: Duplex): ServerResponse | undefined {
  return (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage ?? undefined;
}
