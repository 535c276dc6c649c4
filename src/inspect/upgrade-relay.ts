import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExchangeCapture } from '../model/exchange.js';
import { ProxyError } from '../model/errors.js';
import { forwardRequestHeaders, headerPairs, KEEP_FOR_UPGRADE } from '../pipeline/headers.js';
import { clientGone } from '../pipeline/run-tunnel.js';
import { failUpgrade, upgradeExchange } from '../pipeline/upgrade-exchange.js';
import { captureExchange, exchangeRecord, exchangeUrl, noteUpstreamTls, sameAuthority, type Tunnel } from './tunnel.js';

/**
 * An Upgrade (WebSocket) inside an intercepted HTTP/1.1 tunnel: the request goes to the
 * destination over a fresh verified TLS connection to the decided address, then on as any
 * captured Upgrade (core/upgrade-exchange.ts).
 */
export function relayUpgrade(t: Tunnel, req: IncomingMessage, client: Duplex, head: Buffer): void {
  const { ctx } = t;
  const path = req.url ?? '/';
  const record = exchangeRecord(t, req.method);
  record.kind = 'upgrade';
  record.url = exchangeUrl(t, path);
  client.on('error', (err: NodeJS.ErrnoException) => (record.error ??= err.code ?? 'client_error'));
  const capture: ExchangeCapture | undefined = captureExchange(t, record, path, `HTTP/${req.httpVersion}`, headerPairs(req.rawHeaders));
  if (!capture) return void client.destroy();
  capture.requestEnd();
  const fail = (err: unknown) => failUpgrade(ctx, client, record, err, capture);
  if (t.upstreamError) return fail(t.upstreamError);
  if (!path.startsWith('/')) return fail(new ProxyError('misdirected', `request target ${path.slice(0, 100)} in an Upgrade inside a tunnel to ${t.authority}`));
  if (req.headers.host !== undefined && !sameAuthority(req.headers.host, t)) {
    return fail(new ProxyError('misdirected', `Host ${JSON.stringify(req.headers.host.slice(0, 100))} inside a tunnel to ${t.authority}`));
  }
  t.connectUpstream(['http/1.1'])
    .then((tls) => {
      noteUpstreamTls(t, tls);
      if (clientGone(client, tls, record)) return void capture.fail(record.error!, record.errorDetail ?? 'the client left');
      const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, t.authority, KEEP_FOR_UPGRADE);
      upgradeExchange(ctx, client, head, tls, { path, headers, record, capture, where: t.authority });
    })
    .catch(fail);
}
