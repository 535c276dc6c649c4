import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { formatHostPort, type Destination } from '../model/destination.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import { InspectSetupError } from '../model/setup-error.js';
import { sessionLifetimeMs } from './session-lifetime.js';

/** Node 22.15+/23 exposes the store it actually uses; on Node 20 we rebuild it from public pieces. */
type GetCACertificates = (type: 'default' | 'system' | 'bundled' | 'extra') => string[];

function readPemFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InspectSetupError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/**
 * The roots upstream certificates are verified against: the system store (or Node's bundled
 * Mozilla roots where Node cannot read it), NODE_EXTRA_CA_CERTS, and every --upstream-ca file.
 * Passing `ca` to Node replaces its defaults rather than adding to them, hence the union.
 */
export function upstreamTrust(upstreamCaFiles: string[]): tls.SecureContext {
  const get = (tls as unknown as { getCACertificates?: GetCACertificates }).getCACertificates;
  const roots: string[] = [];
  if (get) {
    roots.push(...get('bundled'), ...get('extra'));
    try {
      roots.push(...get('system'));
    } catch {
      // No readable system store: the bundled roots stand in for it.
    }
  } else {
    roots.push(...tls.rootCertificates);
    const extra = process.env.NODE_EXTRA_CA_CERTS;
    if (extra) roots.push(readPemFile(extra, 'NODE_EXTRA_CA_CERTS'));
  }
  for (const file of upstreamCaFiles) roots.push(readPemFile(file, '--upstream-ca'));
  try {
    return tls.createSecureContext({ ca: roots, minVersion: 'TLSv1.2' });
  } catch (err) {
    throw new InspectSetupError(`--upstream-ca: not a PEM certificate list (${(err as Error).message})`);
  }
}

export interface UpstreamTlsOptions {
  trust: tls.SecureContext;
  insecure: boolean;
  timeoutMs: number;
  /** Resumable sessions per destination; without it every connection does a full handshake. */
  sessions?: TlsSessionCache;
}

/** Without a readable lifetime, a session is offered for OpenSSL's default timeout at most. */
const DEFAULT_LIFETIME_MS = 300_000;

/**
 * The newest TLS session per destination, bounded, least recently stored out first. A resumed
 * handshake skips the certificate transfer and Node's hostname check (Node checks the name
 * only on full handshakes), which a full one spends most of its client-side CPU on. That is
 * safe only because a session is offered solely where it was made: the key is the host:port,
 * the server name sent and the trust it was verified with (sessionKey), so a session verified
 * for one name is never offered to another, nor one made without verification to a verified
 * connection. A session is offered no longer than its lifetime (RFC 8446 4.6.1).
 */
export class TlsSessionCache {
  readonly #max: number;
  readonly #now: () => number;
  /** false: the destination did not resume the last session offered; offering more only costs parsing. */
  readonly #sessions = new Map<string, { session: Buffer; expiresAt: number } | false>();

  constructor(max = 1000, now: () => number = Date.now) {
    this.#max = max;
    this.#now = now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(key: string): Buffer | undefined {
    const entry = this.#sessions.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.#now()) return entry.session;
    this.#sessions.delete(key);
    return undefined;
  }

  set(key: string, session: Buffer): void {
    if (this.#sessions.get(key) === false) return;
    this.#put(key, { session, expiresAt: this.#now() + (sessionLifetimeMs(session) ?? DEFAULT_LIFETIME_MS) });
  }

  /** After a handshake in which `offered` was (not) taken up. */
  outcome(key: string, offered: boolean, reused: boolean): void {
    if (offered && !reused) this.#put(key, false);
  }

  delete(key: string): void {
    this.#sessions.delete(key);
  }

  #put(key: string, value: { session: Buffer; expiresAt: number } | false): void {
    this.#sessions.delete(key);
    this.#sessions.set(key, value);
    if (this.#sessions.size > this.#max) this.#sessions.delete(this.#sessions.keys().next().value as string);
  }
}

const trustIds = new WeakMap<tls.SecureContext, number>();
let nextTrustId = 0;

/** Where a session may be offered again: same host:port, same server name, same trust and verification. */
export function sessionKey(where: string, servername: string | undefined, o: Pick<UpstreamTlsOptions, 'trust' | 'insecure'>): string {
  let trust = trustIds.get(o.trust);
  if (trust === undefined) trustIds.set(o.trust, (trust = nextTrustId++));
  return `${where}\0${servername ?? ''}\0${trust}\0${o.insecure ? 'unverified' : 'verified'}`;
}

/**
 * TLS to the destination over the socket already dialed to the decided address (no second DNS
 * lookup): the certificate must be valid for the CONNECT host, which is also the SNI. `alpn` is
 * what the client offered (or HTTP/1.1 alone). A refusal becomes `upstream_tls` naming the
 * verify code.
 */
export function connectUpstreamTls(socket: Socket, dest: Destination, o: UpstreamTlsOptions, alpn: string[] = ['http/1.1']): Promise<tls.TLSSocket> {
  const where = formatHostPort(dest.host, dest.port);
  // RFC 6066: no SNI for IP literals; the certificate is then checked for an IP SAN.
  const servername = dest.hostKind === 'name' ? dest.host : undefined;
  const key = sessionKey(where, servername, o);
  return new Promise((resolve, reject) => {
    const session = o.sessions?.get(key);
    const s = tls.connect({
      session,
      socket,
      host: dest.host,
      ...(servername !== undefined ? { servername } : {}),
      secureContext: o.trust,
      ALPNProtocols: alpn,
      rejectUnauthorized: !o.insecure,
    });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ProxyError('connect_timeout', `TLS handshake with ${where} took more than ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      o.sessions?.outcome(key, session !== undefined, s.isSessionReused());
      s.removeListener('error', onError);
      resolve(s);
    });
    s.on('session', (ticket: Buffer) => o.sessions?.set(key, ticket));
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A session that led to a failure is not offered again.
      if (session) o.sessions?.delete(key);
      s.destroy();
      reject(upstreamTlsError(err, where));
    };
    s.once('error', onError);
  });
}

/** Certificate problems name OpenSSL's verify code (DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED...). */
export function upstreamTlsError(err: NodeJS.ErrnoException, where: string): ProxyError {
  const code = err.code ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /CERT|SIGNATURE|ISSUER|VERIFY/.test(code)) {
    return new ProxyError('upstream_tls', `${where}: ${code} (${err.message})`, { cause: err });
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new ProxyError('upstream_tls', `${where}: TLS handshake failed: ${code}`, { cause: err });
  }
  return toProxyError(err, where);
}
