import { createSecureContext, type SecureContext } from 'node:tls';
import type { LeafIssuer } from '../certs/leaf.js';

/** Renew a cached leaf this long before it expires, so no handshake gets one about to lapse. */
const RENEW_BEFORE_MS = 60 * 60 * 1000;

/**
 * One SecureContext per intercepted host, least recently used evicted past `max`: minting is
 * cheap (well under a millisecond) but building contexts for every tunnel is not free, and an
 * unbounded cache is how long captures ran out of memory.
 */
export class LeafCache {
  readonly #max: number;
  readonly #issuer: LeafIssuer;
  readonly #entries = new Map<string, { context: SecureContext; renewAt: number }>();
  minted = 0;

  constructor(issuer: LeafIssuer, max: number) {
    this.#issuer = issuer;
    this.#max = max;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `host` is a normalised name or IP literal (IPs get an IP SAN). */
  get(host: string): SecureContext {
    const hit = this.#entries.get(host);
    if (hit && hit.renewAt > Date.now()) {
      // Map order is recency order: move the hit to the end.
      this.#entries.delete(host);
      this.#entries.set(host, hit);
      return hit.context;
    }
    const leaf = this.#issuer.issue(host);
    this.minted++;
    const entry = {
      context: createSecureContext({ cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.2' }),
      renewAt: leaf.notAfter.getTime() - RENEW_BEFORE_MS,
    };
    this.#entries.delete(host);
    this.#entries.set(host, entry);
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    return entry.context;
  }
}
