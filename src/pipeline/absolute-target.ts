import type { IncomingMessage } from 'node:http';
import { formatHostPort, parseAbsoluteUri, type Destination } from '../model/destination.js';
import { ProxyError } from '../model/errors.js';
import type { ExchangeStart } from '../model/exchange.js';
import type { ProxyRecord } from '../model/record.js';
import { headerPairs } from './headers.js';

/**
 * The target of a request that names its destination in an absolute URI (plain-HTTP forwarding
 * and Upgrade), read into the record. An origin-form target means the client took the proxy
 * for a web server.
 */
export function absoluteTarget(req: IncomingMessage, record: ProxyRecord, what: string): { dest: Destination; url: URL } {
  const target = req.url ?? '';
  if (target.startsWith('/')) throw new ProxyError('not_a_proxy_request', `got ${what} for ${target.slice(0, 100)}`);
  const { dest, url } = parseAbsoluteUri(target);
  record.target = formatHostPort(dest.host, dest.port);
  record.url = `${url.protocol}//${url.host}${url.pathname}`;
  return { dest, url };
}

/** How a plain (not intercepted) absolute-URI exchange starts, for the capture hook (inspect's flows). */
export function plainExchangeStart(req: IncomingMessage, record: ProxyRecord, dest: Destination): ExchangeStart {
  return {
    record,
    scheme: 'http',
    host: dest.host,
    port: dest.port,
    target: req.url ?? '',
    httpVersion: `HTTP/${req.httpVersion}`,
    headers: headerPairs(req.rawHeaders),
    intercepted: false,
  };
}
