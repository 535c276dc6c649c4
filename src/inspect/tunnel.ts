import type { TLSSocket } from 'node:tls';
import type { ProxyContext } from '../pipeline/context.js';
import type { Route } from '../pipeline/entry.js';
import type { ExchangeCapture, HeaderPairs } from '../model/exchange.js';
import { parseAuthority, type Destination } from '../model/destination.js';
import type { ProxyError } from '../model/errors.js';
import { newRecord, type ProxyRecord } from '../model/record.js';
import type { FlowTls } from '../flows/flow.js';

export type TunnelTls = FlowTls & { upstreamVerified: boolean };

/**
 * One intercepted CONNECT: what every exchange inside it (HTTP/1.1 request, HTTP/2 stream,
 * WebSocket) shares. The HTTP/1.1 and HTTP/2 servers each keep their own upstream connection.
 */
export interface Tunnel {
  ctx: ProxyContext;
  dest: Destination;
  /** host[:port] as a URL authority, the port left out when it is 443. */
  authority: string;
  /** https://host:port, for undici's origin. */
  origin: string;
  /** The tunnel's own record (kind connect); exchanges copy its who/where fields. */
  record: ProxyRecord;
  /** Decided for the CONNECT: every exchange inside goes to this address, policy is not asked again. */
  route: Route;
  tls: TunnelTls;
  /** Set when the upstream TLS handshake made before answering the client failed: every exchange gets it as a 502. */
  upstreamError: ProxyError | undefined;
  /**
   * A verified TLS connection to the decided address (never a new DNS lookup): the one made
   * before answering the client if no exchange has claimed it yet, else a new one. The caller
   * owns what it gets and must close it.
   */
  connectUpstream(alpn: string[]): Promise<TLSSocket>;
}

/**
 * The host a TLS server name names, normalised by the same parser as the CONNECT host (case,
 * trailing dot, IDNA, IP spellings); undefined when it is not a host name or address at all.
 */
export function serverNameHost(serverName: string): string | undefined {
  try {
    return parseAuthority(serverName, 443).host;
  } catch {
    return undefined;
  }
}

/** Whether an authority (a Host header, :authority, or the host of an absolute URL) names the tunnel's destination. */
export function sameAuthority(authority: string, t: Pick<Tunnel, 'dest' | 'authority'>): boolean {
  // Nearly every request names it exactly as the tunnel does: no parse then.
  if (authority === t.authority) return true;
  try {
    const d = parseAuthority(authority, 443);
    return d.host === t.dest.host && d.port === t.dest.port;
  } catch {
    return false;
  }
}

/** The record of one exchange inside the tunnel: who and where come from the tunnel's record. */
export function exchangeRecord(t: Tunnel, method: string | undefined): ProxyRecord {
  const record = newRecord(t.ctx.instance, 'http', t.record.client);
  record.method = method;
  record.identity = t.record.identity;
  record.target = t.record.target;
  record.resolved = t.record.resolved;
  record.via = t.record.via;
  record.decision = t.record.decision;
  return record;
}

/** The URL logged for an exchange: no query string (it may hold secrets). */
export function exchangeUrl(t: Tunnel, path: string): string {
  return `https://${t.authority}${path.split('?')[0]}`;
}

/** Upstream TLS facts, read once the handshake is done, land on the tunnel (and so on every flow). */
export function noteUpstreamTls(t: Tunnel, socket: TLSSocket): void {
  t.tls.upstreamAlpn = socket.alpnProtocol || undefined;
  t.tls.upstreamProtocol = socket.getProtocol() ?? undefined;
  t.tls.upstreamCipher = socket.getCipher()?.name;
}

/** Starts the capture (inspect's flow) of one exchange inside the tunnel, if anything captures. */
export function captureExchange(t: Tunnel, record: ProxyRecord, path: string, httpVersion: string, headers: HeaderPairs): ExchangeCapture | undefined {
  return t.ctx.capture?.({
    record,
    scheme: 'https',
    host: t.dest.host,
    port: t.dest.port,
    target: path,
    httpVersion,
    headers,
    intercepted: true,
    tls: () => ({ ...t.tls }),
  });
}
