import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ProxyContext } from './context.js';
import type { ExchangeCapture } from '../model/exchange.js';
import { toProxyError, type ProxyError } from '../model/errors.js';
import { publishRecord } from '../model/channels.js';
import { markFailed, type ProxyRecord } from '../model/record.js';
import { writeRawError, writeResponseError } from './respond.js';

/** An exchange that failed before its response started: the error response, then the one record. */
export function failExchange(ctx: ProxyContext, res: ServerResponse, record: ProxyRecord, err: unknown, capture?: ExchangeCapture): void {
  const e = markFailed(record, toProxyError(err, record.resolved), capture);
  writeResponseError(res, e, ctx.config.auth.realm);
  publishRecord(record);
}

/**
 * The same on a connection the HTTP server no longer owns (CONNECT, Upgrade, a request the
 * parser refused, plain text on the TLS port): the error written raw, then the one record.
 */
export function failRawExchange(socket: Duplex, record: ProxyRecord, e: ProxyError, realm: string, capture?: ExchangeCapture): void {
  markFailed(record, e, capture);
  writeRawError(socket, e, realm);
  publishRecord(record);
}
