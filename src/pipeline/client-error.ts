import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { ProxyContext } from './context.js';
import { ProxyError, type ErrorCode } from '../model/errors.js';
import { failRawExchange } from './fail.js';
import { newRecord, type ProxyRecord } from '../model/record.js';
import { clientAddress } from './admission.js';

/** llhttp's error codes for requests it refused to parse, mapped to what the client is told. */
const PARSE_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'headers_too_large',
  HPE_UNEXPECTED_CONTENT_LENGTH: 'bad_framing',
  HPE_INVALID_CONTENT_LENGTH: 'bad_framing',
  HPE_INVALID_TRANSFER_ENCODING: 'bad_framing',
  HPE_INVALID_CHUNK_SIZE: 'bad_framing',
  ERR_HTTP_REQUEST_TIMEOUT: 'request_timeout',
};

/**
 * The HTTP parser refused the bytes (smuggling attempts, oversized headers, slowloris). The
 * request never reached the pipeline, so nothing was forwarded; answer, record, close.
 */
export function handleClientError(ctx: ProxyContext, err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Duplex): void {
  answerParseError(ctx, err, socket, () => newRecord(ctx.instance, 'client_error', clientAddress(socket as Socket)));
}

/** The same for any HTTP/1.1 parser of the proxy (inside interception too), with the record the caller makes. */
export function answerParseError(ctx: ProxyContext, err: NodeJS.ErrnoException, socket: Duplex, makeRecord: () => ProxyRecord): void {
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const e = new ProxyError(PARSE_ERRORS[code] ?? 'bad_request', code || err.message);
  failRawExchange(socket, makeRecord(), e, ctx.config.auth.realm);
}
