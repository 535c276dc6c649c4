import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { ProxyContext } from './context.js';
import { ProxyError, type ErrorCode } from '../model/errors.js';
import { failRawExchange } from './fail.js';
import { newRecord, type ProxyRecord } from '../model/record.js';
import { clientAddress } from './admission.js';
import { inFlightResponse } from '../quirks/node-quirks.js';

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
 * refused request never reached the pipeline, so nothing of it was forwarded; answer, record,
 * close (after the answer to a request before it on the same connection).
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
  const answer = () => failRawExchange(socket, makeRecord(), e, ctx.config.auth.realm);
  // A request was handed on before the parser refused what followed (see the quirk).
  const owed = inFlightResponse(socket);
  if (!owed) return answer();
  // Bytes after a complete request: its answer first, then this one (never one for the other).
  if (owed.req.complete) return void owed.once('close', answer);
  // The request's own framing. The entry refused it and recorded it already:
  if (owed.writableEnded) return;
  // Its body broke before any answer: answered here (the exchange notes its own end too).
  if (!owed.headersSent) return answer();
  // A response is under way: cut; the exchange records the client as gone.
  socket.destroy();
}
