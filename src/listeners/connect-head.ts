/**
 * A small, strict reader for the one head a forward proxy sees most: `CONNECT host:port
 * HTTP/1.1` with a few plain headers. It reads only heads it is sure of, and says "other" for
 * anything else, which then goes to Node's HTTP server with every byte (llhttp, the 400 and 431
 * refusals, request-line.ts): so it never has to refuse anything itself, and it never accepts
 * a head llhttp would refuse or read differently. Every condition below that says "other" is
 * such a case; the unit test holds one head for each.
 */

/** What the CONNECT entry reads of the head (Node's IncomingMessage gives the same). */
export interface ConnectHead {
  /** The request target, as sent (an authority: host:port). */
  url: string;
  /** Proxy-Authorization without surrounding whitespace, as Node gives it. */
  proxyAuthorization: string | undefined;
}

export type HeadScan =
  /** The head, and where it ends (the bytes after it belong to the tunnel). */
  | { kind: 'connect'; head: ConnectHead; end: number }
  /** So far a CONNECT head this reader can take; more bytes are needed. */
  | { kind: 'more' }
  /** Not one: the HTTP server reads it. */
  | { kind: 'other' };

const PREFIX = Buffer.from('CONNECT ');
const CRLFCRLF = Buffer.from('\r\n\r\n');
/** A head with more header lines than this is unusual for CONNECT: the HTTP server reads it. */
const MAX_LINES = 64;
/** Authority characters (RFC 3986 reg-name, IPv4, bracketed IPv6, port); anything else goes to the HTTP server. */
const TARGET = /^[A-Za-z0-9._~%:[\]-]+$/;
const REQUEST_LINE = /^CONNECT ([^ ]+) HTTP\/1\.[01]$/;
/** RFC 9110 section 5.6.2 token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers whose framing or meaning llhttp and Node decide (refusals, duplicates dropped or joined). */
const LEAVE_TO_NODE = new Set(['transfer-encoding', 'content-length', 'proxy-authorization-duplicate']);

const OTHER: HeadScan = { kind: 'other' };
const MORE: HeadScan = { kind: 'more' };

/**
 * Bytes only from printable ASCII, space and tab, with CR only before LF and LF only after CR:
 * llhttp in strict mode refuses bare CR or LF, control bytes and (in names and targets)
 * obs-text; a head with any of them is left to it.
 */
function plainBytes(buf: Buffer, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x20 && c <= 0x7e) continue;
    if (c === 0x09) continue;
    if (c === 0x0d) {
      if (i + 1 < end && buf[i + 1] !== 0x0a) return false;
      continue;
    }
    if (c === 0x0a && i > 0 && buf[i - 1] === 0x0d) continue;
    return false;
  }
  return true;
}

/** Reads the first bytes of a connection. `maxHeaderBytes`: the HTTP server's limit (a longer head is left to it). */
export function scanConnectHead(buf: Buffer, maxHeaderBytes: number): HeadScan {
  const n = Math.min(buf.length, PREFIX.length);
  if (buf.compare(PREFIX, 0, n, 0, n) !== 0) return OTHER;
  const found = buf.indexOf(CRLFCRLF);
  const end = found === -1 ? -1 : found + CRLFCRLF.length;
  // Node counts fewer bytes against its limit than the whole head: near it, Node decides.
  if ((end === -1 ? buf.length : end) >= maxHeaderBytes) return OTHER;
  if (!plainBytes(buf, end === -1 ? buf.length : end)) return OTHER;
  if (end === -1) return MORE;
  const lines = buf.toString('latin1', 0, found).split('\r\n');
  if (lines.length > MAX_LINES) return OTHER;
  const line = REQUEST_LINE.exec(lines[0]!);
  if (!line || !TARGET.test(line[1]!)) return OTHER;
  let proxyAuthorization: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const colon = l.indexOf(':');
    // No colon, an empty name, or whitespace before the colon or at the start (obs-fold).
    if (colon <= 0 || !TOKEN.test(l.slice(0, colon))) return OTHER;
    let name = l.slice(0, colon).toLowerCase();
    if (name === 'proxy-authorization') {
      if (proxyAuthorization !== undefined) name = 'proxy-authorization-duplicate';
      else proxyAuthorization = l.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    }
    if (LEAVE_TO_NODE.has(name)) return OTHER;
  }
  return { kind: 'connect', head: { url: line[1]!, proxyAuthorization }, end };
}
