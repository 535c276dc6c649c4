import { hkdfSync, randomBytes } from 'node:crypto';

/** How long one set of ticket keys issues and accepts tickets. */
export const TICKET_PERIOD_MS = 60 * 60 * 1000;

/**
 * TLS session-ticket keys for the listeners that terminate TLS (mtls, inspect's leaves).
 *
 * Keys are derived, not stored: HKDF-SHA256 over a 32-byte secret, salted with the rotation
 * epoch and scoped by a label (the mtls material's digest, an intercepted host). Every worker
 * process given the same secret computes the same keys at the same time without talking, so
 * a ticket issued by one worker resumes on another.
 *
 * Node holds one ticket key per context (48 bytes: name, HMAC, AES; `setTicketKeys`, the
 * `ticketKeys` option) and refuses a ticket whose key name it does not know; it has no slot
 * for a previous key. A rotation therefore costs each client one full handshake, once per
 * period, and a ticket is never accepted after its period ends: that bounds how long any
 * leaked key is useful.
 *
 * The scope is what stops a ticket from crossing a boundary it must not cross: for mtls it is
 * the digest of the certificate, key, client CA and CRL, so a reload (a revoked client, a new
 * CA) invalidates every earlier ticket and the client must present its certificate again; for
 * inspect it is the host, so a ticket minted for one intercepted name never resumes another.
 */
export class TicketKeys {
  readonly #secret: Buffer;
  readonly #periodMs: number;
  readonly #now: () => number;

  constructor(secret: Buffer = randomBytes(32), periodMs = TICKET_PERIOD_MS, now: () => number = Date.now) {
    if (secret.length < 32) throw new RangeError(`the ticket secret must be at least 32 bytes (got ${secret.length})`);
    this.#secret = secret;
    this.#periodMs = periodMs;
    this.#now = now;
  }

  get periodMs(): number {
    return this.#periodMs;
  }

  /** The number of whole periods since the Unix epoch: the same in every process. */
  epoch(): number {
    return Math.floor(this.#now() / this.#periodMs);
  }

  /** Milliseconds until the next epoch starts. */
  untilNext(): number {
    return this.#periodMs - (this.#now() % this.#periodMs);
  }

  /** 48 bytes for `ticketKeys` / `setTicketKeys`, for this scope in this epoch. */
  keys(scope: string, epoch = this.epoch()): Buffer {
    const salt = Buffer.alloc(8);
    salt.writeBigUInt64BE(BigInt(epoch));
    return Buffer.from(hkdfSync('sha256', this.#secret, salt, `egresskit tls ticket v1\0${scope}`, 48));
  }

  /**
   * Calls `onEpoch` at each epoch boundary (the caller sets the new keys), until stopped. The
   * timer does not keep the process alive.
   */
  rotate(onEpoch: () => void): { stop(): void } {
    let timer: NodeJS.Timeout | undefined;
    const schedule = () => {
      // A timer can fire a little early: the epoch is read after waking, and a wake-up still in
      // the old epoch is scheduled again instead of setting the same keys.
      const epoch = this.epoch();
      timer = setTimeout(() => {
        if (this.epoch() !== epoch) onEpoch();
        schedule();
      }, this.untilNext() + 5);
      timer.unref();
    };
    schedule();
    return { stop: () => clearTimeout(timer) };
  }
}

/** Session lifetime (seconds) of the TLS listeners: Node's default, stated so it is a decision. */
export const SESSION_TIMEOUT_S = 300;

/**
 * The mtls listener's session options for one version of its TLS material. The session id
 * context (OpenSSL refuses to resume a session made under another) and the ticket keys both
 * come from the material's digest, so a reload (a CRL revoking a client, a new client CA) ends
 * every session made before it.
 */
export function mtlsTicketOptions(tickets: TicketKeys, digest: string): { ticketKeys: Buffer; sessionIdContext: string; sessionTimeout: number } {
  return { ticketKeys: tickets.keys(`mtls\0${digest}`), sessionIdContext: digest.slice(0, 32), sessionTimeout: SESSION_TIMEOUT_S };
}
