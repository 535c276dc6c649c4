import { request, type IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { HeaderList } from '../flows/flow.js';
import { formatHostPort } from '../model/destination.js';

/** The proxy's own listener, as the UI server reaches it. */
export interface ProxyEndpoint {
  host: string;
  port: number;
  scheme: 'http' | 'https';
}

export interface Replay {
  method: string;
  url: URL;
  headers: HeaderList;
  body: Buffer;
}

export interface ReplayResult {
  status: number;
  /** The client address the proxy saw ("127.0.0.1:41234"): the new flow carries it. */
  client: string;
}

// Hop-by-hop, or written by Node from the body: sending the captured values would be wrong.
const DROP = new Set(['host', 'content-length', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'upgrade', 'http2-settings', 'trailer']);

// Parsing the ~150 system roots takes a few hundred milliseconds: once per CA, not per resend.
let trust: { caPem: string; context: SecureContext } | undefined;
function trusting(caPem: string): SecureContext {
  if (trust?.caPem !== caPem) trust = { caPem, context: createSecureContext({ ca: [...rootCertificates, caPem] }) };
  return trust.context;
}

/**
 * Sends the request through the proxy's listener exactly as a client would (absolute URI for
 * http, CONNECT then TLS for https, trusting the interception CA and the system roots), so the
 * proxy decides, captures and records it like any other: the answer is a new flow. The response
 * body is read and dropped; the flow has it.
 */
export function replayThroughProxy(r: Replay, proxy: ProxyEndpoint, caPem: string, timeoutMs = 30_000): Promise<ReplayResult> {
  // A proxy bound to every interface is reached on loopback.
  const proxyHost = proxy.host === '0.0.0.0' ? '127.0.0.1' : proxy.host === '::' ? '::1' : proxy.host;
  return new Promise((resolve, reject) => {
    const headers: Array<[string, string]> = [['host', r.url.host]];
    for (const [n, v] of r.headers) if (!n.startsWith(':') && !DROP.has(n.toLowerCase())) headers.push([n, v]);
    if (r.body.length > 0 || !['GET', 'HEAD', 'OPTIONS', 'DELETE'].includes(r.method)) headers.push(['content-length', String(r.body.length)]);
    let client = '';
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
    const sockets: Socket[] = [];
    const fail = (err: Error) => {
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      reject(err);
    };
    const done = (res: IncomingMessage) => {
      res.on('data', () => {});
      res.on('error', () => {});
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, client });
      });
    };
    const remember = (s: Socket) => {
      sockets.push(s);
      if (client === '' && s.localAddress) client = formatHostPort(s.localAddress, s.localPort ?? 0);
    };
    const flat = headers.flat();
    if (r.url.protocol === 'http:') {
      const req = request({ host: proxyHost, port: proxy.port, method: r.method, path: r.url.href, headers: flat, agent: false, setHost: false }, done);
      req.on('socket', (s) => (s.connecting ? s.once('connect', () => remember(s)) : remember(s)));
      req.on('error', fail);
      req.end(r.body);
      return;
    }
    const port = r.url.port === '' ? 443 : Number(r.url.port);
    const hostname = r.url.hostname.replace(/^\[|\]$/g, '');
    const authority = formatHostPort(hostname, port);
    const connect = request({ host: proxyHost, port: proxy.port, method: 'CONNECT', path: authority, headers: { host: authority }, agent: false });
    connect.on('socket', (s) => (s.connecting ? s.once('connect', () => remember(s)) : remember(s)));
    connect.on('error', fail);
    connect.on('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, client });
        return;
      }
      const tls = tlsConnect({ socket, host: hostname, servername: isIP(hostname) ? undefined : hostname, secureContext: trusting(caPem), ALPNProtocols: ['http/1.1'] });
      tls.on('error', fail);
      const req = request({ method: r.method, path: `${r.url.pathname}${r.url.search}`, headers: flat, createConnection: () => tls, setHost: false }, (res) => {
        res.on('end', () => tls.end());
        done(res);
      });
      req.on('error', fail);
      req.end(r.body);
    });
    connect.end();
  });
}
