import { createSecureContext, type SecureContext } from 'node:tls';
import type { LeafIssuer } from '../certs/leaf.js';
import { SESSION_TIMEOUT_S, TicketKeys } from '../listeners/ticket-keys.js';

/** Renew a cached leaf this long before it expires, so no handshake gets one about to lapse. */
const RENEW_BEFORE_MS = 60 * 60 * 1000;

interface Entry {
  context: SecureContext;
  renewAt: number;
  /** The ticket-key epoch the context was built in. */
  epoch: number;
  certPem: string;
  keyPem: string;
}

/**
 * One SecureContext per intercepted host, least recently used evicted past `max`: minting is
 * cheap (well under a millisecond) but building contexts for every tunnel is not free, and an
 * unbounded cache is how long captures ran out of memory.
 *
 * Each context carries session-ticket keys derived for its host (see TicketKeys): a client
 * that comes back to the same host resumes instead of doing a full handshake, a ticket for
 * one host never resumes another, and workers sharing the secret accept each other's tickets.
 * A context from an earlier epoch is rebuilt with the new keys (the leaf itself is kept).
 */
export class LeafCache {
  readonly #max: number;
  readonly #issuer: LeafIssuer;
  readonly #tickets: TicketKeys;
  readonly #entries = new Map<string, Entry>();
  minted = 0;

  constructor(issuer: LeafIssuer, max: number, tickets: TicketKeys = new TicketKeys()) {
    this.#max = max;
    this.#issuer = issuer;
    this.#tickets = tickets;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `host` is a normalised name or IP literal (IPs get an IP SAN). */
  get(host: string): SecureContext {
    return this.lookup(host).context;
  }

  /** The context for `host`, and whether its leaf came from the cache (hit) or was minted now. */
  lookup(host: string): { context: SecureContext; hit: boolean } {
    const epoch = this.#tickets.epoch();
    const hit = this.#entries.get(host);
    if (hit && hit.renewAt > Date.now()) {
      if (hit.epoch !== epoch) {
        hit.context = this.#context(host, hit.certPem, hit.keyPem, epoch);
        hit.epoch = epoch;
      }
      // Map order is recency order: move the hit to the end.
      this.#entries.delete(host);
      this.#entries.set(host, hit);
      return { context: hit.context, hit: true };
    }
    const leaf = this.#issuer.issue(host);
    this.minted++;
    const entry: Entry = {
      context: this.#context(host, leaf.certPem, leaf.keyPem, epoch),
      renewAt: leaf.notAfter.getTime() - RENEW_BEFORE_MS,
      epoch,
      certPem: leaf.certPem,
      keyPem: leaf.keyPem,
    };
    this.#entries.delete(host);
    this.#entries.set(host, entry);
    while (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
    return { context: entry.context, hit: false };
  }

  #context(host: string, cert: string, key: string, epoch: number): SecureContext {
    return createSecureContext({
      cert,
      key,
      minVersion: 'TLSv1.2',
      ticketKeys: this.#tickets.keys(`leaf\0${host}`, epoch),
      sessionTimeout: SESSION_TIMEOUT_S,
    });
  }
}
