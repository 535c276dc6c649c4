import type { Duplex } from 'node:stream';
import { publishRecord } from '../model/channels.js';
import type { ProxyError } from '../model/errors.js';
import type { ExchangeCapture } from '../model/exchange.js';
import { markFailed, type ProxyRecord } from '../model/record.js';
import { writeRawError } from './respond.js';

/**
 * An exchange that fails outside the pipeline (a request the parser refused, plain text on
 * the TLS port): the error written raw, then the one record.
 */
export function failRawExchange(socket: Duplex, record: ProxyRecord, e: ProxyError, realm: string, capture?: ExchangeCapture): void {
  markFailed(record, e, capture);
  writeRawError(socket, e, realm);
  publishRecord(record);
}
