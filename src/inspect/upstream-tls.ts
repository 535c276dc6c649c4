import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import { formatHostPort, type Destination } from '../model/destination.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import { InspectSetupError } from '../model/setup-error.js';

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

/**
 * The newest TLS session per destination (host:port), bounded, oldest out first. A resumed
 * handshake skips the certificate transfer and Node's hostname check, which a full one spends
 * most of its client-side CPU on; the session itself came from a handshake that was verified
 * for that same host, with the same trust.
 */
export class TlsSessionCache {
  readonly #max: number;
  /** false: the destination did not resume the last session offered; offering more only costs parsing. */
  readonly #sessions = new Map<string, Buffer | false>();

  constructor(max = 1000) {
    this.#max = max;
  }

  get(key: string): Buffer | undefined {
    return this.#sessions.get(key) || undefined;
  }

  set(key: string, session: Buffer): void {
    if (this.#sessions.get(key) === false) return;
    this.#put(key, session);
  }

  /** After a handshake in which `offered` was (not) taken up. */
  outcome(key: string, offered: boolean, reused: boolean): void {
    if (offered && !reused) this.#put(key, false);
  }

  delete(key: string): void {
    this.#sessions.delete(key);
  }

  #put(key: string, value: Buffer | false): void {
    this.#sessions.delete(key);
    this.#sessions.set(key, value);
    if (this.#sessions.size > this.#max) this.#sessions.delete(this.#sessions.keys().next().value as string);
  }
}

/**
 * TLS to the destination over the socket already dialed to the decided address (no second DNS
 * lookup): the certificate must be valid for the CONNECT host, which is also the SNI. `alpn` is
 * what the client offered (or HTTP/1.1 alone). A refusal becomes `upstream_tls` naming the
 * verify code.
 */
export function connectUpstreamTls(socket: Socket, dest: Destination, o: UpstreamTlsOptions, alpn: string[] = ['http/1.1']): Promise<tls.TLSSocket> {
  const where = formatHostPort(dest.host, dest.port);
  return new Promise((resolve, reject) => {
    const session = o.sessions?.get(where);
    const s = tls.connect({
      session,
      socket,
      host: dest.host,
      // RFC 6066: no SNI for IP literals; the certificate is then checked for an IP SAN.
      ...(dest.hostKind === 'name' ? { servername: dest.host } : {}),
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
      o.sessions?.outcome(where, session !== undefined, s.isSessionReused());
      s.removeListener('error', onError);
      resolve(s);
    });
    s.on('session', (ticket: Buffer) => o.sessions?.set(where, ticket));
    const onError = (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A session that led to a failure is not offered again.
      if (session) o.sessions?.delete(where);
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
