import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';

/** Connection-specific fields are forbidden in HTTP/2 (RFC 9113 section 8.2.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'proxy-connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

export const VIA_H2 = '2 egresskit';

/**
 * Fields to pass on to the other side: pseudo-headers kept (":status" must be a number for
 * Node), connection-specific ones dropped, Via appended (RFC 9110 section 7.6.3).
 */
export function h2Forward(headers: IncomingHttpHeaders, opts: { via: boolean }): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || CONNECTION_SPECIFIC.has(name)) continue;
    // te is allowed in HTTP/2 only as "trailers".
    if (name === 'te' && String(value).trim().toLowerCase() !== 'trailers') continue;
    out[name] = value;
  }
  if (opts.via) {
    const via = out.via;
    out.via = via ? `${Array.isArray(via) ? via.join(', ') : String(via)}, ${VIA_H2}` : VIA_H2;
  }
  return out;
}

/** Trailers carry no pseudo-headers (RFC 9113 section 8.1). */
export function h2Trailers(trailers: IncomingHttpHeaders | undefined): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(trailers ?? {})) {
    if (!name.startsWith(':') && value !== undefined) out[name] = value;
  }
  return out;
}
