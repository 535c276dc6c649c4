import { children, readTlv } from '../certs/der.js';

/** OpenSSL's SSL_SESSION ASN.1 (ssl/ssl_asn1.c): timeout is [2], the ticket lifetime hint [9]. */
const TIMEOUT = 0xa2;
const TICKET_LIFETIME_HINT = 0xa9;

function explicitInteger(buf: Buffer, tlvStart: number): number | undefined {
  const outer = readTlv(buf, tlvStart);
  const inner = readTlv(buf, outer.contentStart);
  if (inner.tag !== 0x02 || inner.end - inner.contentStart > 6) return undefined;
  return buf.readUIntBE(inner.contentStart, inner.end - inner.contentStart);
}

/**
 * How long (ms) a session Node handed out (the 'session' event, OpenSSL's i2d_SSL_SESSION) may
 * be offered: the shorter of its timeout and the server's ticket lifetime hint (RFC 8446 4.6.1:
 * a client must not use a ticket past its lifetime). Undefined when the bytes do not parse.
 */
export function sessionLifetimeMs(session: Buffer): number | undefined {
  try {
    const fields = children(session, readTlv(session, 0));
    let lifetime: number | undefined;
    for (const f of fields) {
      if (f.tag !== TIMEOUT && f.tag !== TICKET_LIFETIME_HINT) continue;
      const seconds = explicitInteger(session, f.start);
      if (seconds !== undefined && seconds > 0) lifetime = Math.min(lifetime ?? Infinity, seconds);
    }
    return lifetime === undefined ? undefined : lifetime * 1000;
  } catch {
    return undefined;
  }
}
