import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { publishRecord } from '../model/channels.js';
import { ProxyError } from '../model/errors.js';
import { markFailed, newRecord, type ProxyRecord } from '../model/record.js';
import { isHttp1Request } from '../quirks/node-quirks.js';
import { clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import { failRawExchange } from './fail.js';
import { writeResponseError } from './respond.js';

const HINT = 'end the request line with HTTP/1.1, e.g. "CONNECT example.com:443 HTTP/1.1"; a line break inside the target ends the line early';

/**
 * Why a request Node's parser let through is not HTTP/1.x (see isHttp1Request in the quirks):
 * the line as parsed, so that a target cut short by a bare LF shows where it was cut.
 */
export function requestLineError(req: IncomingMessage): ProxyError {
  const line = JSON.stringify(`${req.method ?? ''} ${req.url ?? ''}`.slice(0, 100));
  const detail = req.httpVersionMajor === 0 ? `request line without an HTTP version: ${line}` : `HTTP/${req.httpVersion} request line: ${line}`;
  return new ProxyError('bad_request', detail, { hint: HINT });
}

/**
 * What every entry refuses of the head Node's parser handed on: a request line that is not
 * HTTP/1.x, and a Transfer-Encoding whose last coding is not chunked (RFC 9112 section 6.3, for
 * any request: its length cannot be known; llhttp refuses it only after emitting a request with
 * a body, see inFlightResponse in the quirks, and not at all on CONNECT or Upgrade, whose bytes
 * after the head it does not read). Undefined for a head the pipeline may act on.
 */
export function requestHeadError(req: IncomingMessage): ProxyError | undefined {
  if (!isHttp1Request(req)) return requestLineError(req);
  const te = req.headers['transfer-encoding'];
  if (te === undefined || te.slice(te.lastIndexOf(',') + 1).trim().toLowerCase() === 'chunked') return undefined;
  return new ProxyError('bad_framing', `Transfer-Encoding ${JSON.stringify(te.slice(0, 100))} does not end in chunked`);
}

/** A request refused before anything of it was read: the record says who sent what, nothing more. */
export function requestLineRecord(ctx: ProxyContext, req: IncomingMessage): ProxyRecord {
  const record = newRecord(ctx.instance, 'client_error', clientAddress(req.socket));
  record.method = req.method;
  return record;
}

/**
 * Refuses a head at the entry: 400 with Proxy-Status, one record, and no identify, policy, DNS
 * or dial. `client` is the response for a request the HTTP server still owns, or the socket of
 * a CONNECT or Upgrade it gave up.
 */
export function refuseHead(
  ctx: ProxyContext,
  req: IncomingMessage,
  client: ServerResponse | Duplex,
  e: ProxyError = requestLineError(req),
  record: ProxyRecord = requestLineRecord(ctx, req),
): void {
  if (!(client instanceof ServerResponse)) return failRawExchange(client, record, e, ctx.config.auth.realm);
  markFailed(record, e);
  writeResponseError(client, e, ctx.config.auth.realm);
  publishRecord(record);
}
