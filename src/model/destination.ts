import { isIP } from 'node:net';
import { ProxyError } from './errors.js';

export type HostKind = 'name' | 'ipv4' | 'ipv6';

/** A target normalised once, before policy: lowercase, punycode, no trailing dot, canonical IP. */
export interface Destination {
  host: string;
  port: number;
  hostKind: HostKind;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

/**
 * The WHATWG URL parser does the hard normalisation for us: IDNA to punycode, and every IPv4
 * spelling (decimal 2130706433, octal 0177.0.0.1, hex 0x7f.1, short 127.1) to dotted quad, which
 * is exactly what a policy must see so that "127.1" cannot slip past a loopback rule.
 */
function normaliseHost(rawHost: string, original: string): { host: string; hostKind: HostKind } {
  let host = rawHost;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') throw new ProxyError('bad_target', `empty host in "${original}"`);
  const kind = isIP(host);
  if (kind === 4) return { host, hostKind: 'ipv4' };
  if (kind === 6) return { host, hostKind: 'ipv6' };
  if (host.length > 253 || !/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(host)) {
    throw new ProxyError('bad_target', `"${original}" is not a valid host name`);
  }
  return { host, hostKind: 'name' };
}

function parsePort(raw: string, original: string): number {
  if (!/^[0-9]{1,5}$/.test(raw)) throw new ProxyError('bad_target', `bad port in "${original}"`);
  const port = Number(raw);
  if (port < 1 || port > 65535) throw new ProxyError('bad_target', `port out of range in "${original}"`);
  return port;
}

/**
 * CONNECT's authority-form: host:port, port required (RFC 9110 section 9.3.6). With a default
 * port, a Host field or :authority value, whose port may be left out (RFC 9110 section 7.2).
 */
export function parseAuthority(authority: string, defaultPort?: number): Destination {
  if (!authority || /[\s/?#@\\]/.test(authority)) {
    throw new ProxyError('bad_target', `"${authority}" is not host:port`);
  }
  const m = /^(\[[^\]]*\]|[^:]+)(?::([^:]*))?$/.exec(authority);
  if (!m || (m[2] === undefined && defaultPort === undefined)) {
    throw new ProxyError('bad_target', `"${authority}" is not host:port (the port is required)`);
  }
  const port = defaultPort !== undefined && !m[2] ? defaultPort : parsePort(m[2] ?? '', authority);
  let url: URL;
  try {
    url = new URL(`http://${m[1]}/`);
  } catch {
    throw new ProxyError('bad_target', `"${authority}" is not a valid host`);
  }
  return { ...normaliseHost(url.hostname, authority), port };
}

/** An absolute-URI request target (RFC 9112 section 3.2.2). */
export function parseAbsoluteUri(target: string): { dest: Destination; url: URL } {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new ProxyError('bad_target', `"${truncate(target)}" is not an absolute URI`);
  }
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined) {
    throw new ProxyError('bad_target', `scheme ${url.protocol} is not proxied (only http: and https:)`);
  }
  if (url.username || url.password) {
    throw new ProxyError('bad_target', 'credentials in the request URI are refused');
  }
  const port = url.port ? parsePort(url.port, target) : defaultPort;
  return { dest: { ...normaliseHost(url.hostname, truncate(target)), port }, url };
}

/** host:port with IPv6 brackets, for logs, Host headers and CONNECT lines. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
