import { TLS_HANDSHAKE } from './tls-front.js';

/**
 * What a ClientHello says before anything is decrypted: interception reads it before answering,
 * a forward tunnel to check the server name against the CONNECT host.
 */
export interface ClientHelloInfo {
  /** server_name (RFC 6066 section 3), absent when the client sent none (e.g. an IP target). */
  sni?: string;
  /** application_layer_protocol_negotiation (RFC 7301), in the client's order; [] when absent. */
  alpn: string[];
}

const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
/** A ClientHello larger than this is not waited for (post-quantum key shares are ~1.2 KiB). */
export const MAX_HELLO_BYTES = 64 * 1024;

/**
 * The handshake bytes carried by the TLS records at the start of `buf`, or 'incomplete' when the
 * ClientHello has not fully arrived. A ClientHello may span several records (RFC 8446 5.1).
 */
function helloMessage(buf: Buffer): Buffer | 'incomplete' | undefined {
  const parts: Buffer[] = [];
  let have = 0;
  let need: number | undefined;
  let at = 0;
  while (need === undefined || have < need) {
    if (at + 5 > buf.length) return 'incomplete';
    if (buf[at] !== TLS_HANDSHAKE) return undefined;
    const len = buf.readUInt16BE(at + 3);
    if (at + 5 + len > buf.length) return 'incomplete';
    parts.push(buf.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    if (need === undefined && have >= 4) {
      const joined = Buffer.concat(parts);
      if (joined[0] !== CLIENT_HELLO) return undefined;
      need = 4 + joined.readUIntBE(1, 3);
      if (need > MAX_HELLO_BYTES) return undefined;
    }
  }
  return Buffer.concat(parts).subarray(4, need);
}

/** Reads a ClientHello body (after the 4-byte handshake header) for SNI and ALPN. */
function helloFields(body: Buffer): ClientHelloInfo | undefined {
  let at = 2 + 32; // legacy_version, random
  const skip = (lenBytes: number): boolean => {
    if (at + lenBytes > body.length) return false;
    const len = body.readUIntBE(at, lenBytes);
    at += lenBytes + len;
    return at <= body.length;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return undefined; // session_id, cipher_suites, compression
  const info: ClientHelloInfo = { alpn: [] };
  if (at === body.length) return info; // no extensions at all
  if (at + 2 > body.length) return undefined;
  const end = Math.min(body.length, at + 2 + body.readUInt16BE(at));
  at += 2;
  while (at + 4 <= end) {
    const type = body.readUInt16BE(at);
    const len = body.readUInt16BE(at + 2);
    const ext = body.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    if (ext.length !== len) return undefined;
    if (type === EXT_SERVER_NAME && ext.length >= 5 && ext[2] === 0) {
      const nameLen = ext.readUInt16BE(3);
      if (5 + nameLen <= ext.length) info.sni = ext.subarray(5, 5 + nameLen).toString('latin1');
    } else if (type === EXT_ALPN && ext.length >= 2) {
      const listEnd = Math.min(ext.length, 2 + ext.readUInt16BE(0));
      for (let p = 2; p < listEnd; ) {
        const n = ext[p]!;
        info.alpn.push(ext.subarray(p + 1, p + 1 + n).toString('latin1'));
        p += 1 + n;
      }
    }
  }
  return info;
}

/**
 * SNI and ALPN of the ClientHello at the start of `buf`; 'incomplete' when more bytes are
 * needed; undefined when it is not a ClientHello this parser understands (the TLS layer then
 * decides without these hints).
 */
export function parseClientHello(buf: Buffer): ClientHelloInfo | 'incomplete' | undefined {
  const msg = helloMessage(buf);
  if (msg === undefined || msg === 'incomplete') return msg;
  return helloFields(msg);
}
