import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { ProxyError } from '../model/errors.js';
import type { Entry } from '../pipeline/entry.js';
import { forwardRequestHeaders, headerPairs, KEEP_FOR_UPGRADE } from '../pipeline/headers.js';
import { socketGone, watchEarlyErrors } from '../pipeline/raw-client.js';
import { writeRawError } from '../pipeline/respond.js';
import { runPipeline } from '../pipeline/run.js';
import { upgradeExchange } from '../pipeline/upgrade-exchange.js';
import { exchangeEntry } from './exchange-entry.js';
import { captureExchange, exchangeRecord, exchangeUrl, noteUpstreamTls, sameAuthority, type Tunnel } from './tunnel.js';

/**
 * An Upgrade (WebSocket) inside an intercepted HTTP/1.1 tunnel: the request goes to the
 * destination over the connection t.connectUpstream gives it, then on as any captured Upgrade
 * (pipeline/upgrade-exchange.ts). That is the tunnel's first upstream connection (the verified
 * TLS made before answering the client) when no exchange has claimed it yet and it speaks
 * HTTP/1.1; otherwise a new verified TLS connection to the decided address.
 */
export function relayUpgrade(t: Tunnel, req: IncomingMessage, client: Duplex, head: Buffer): void {
  const { ctx } = t;
  const path = req.url ?? '/';
  const record = exchangeRecord(t, req.method);
  record.kind = 'upgrade';
  record.url = exchangeUrl(t, path);
  const detachEarlyErrors = watchEarlyErrors(client, record);
  const capture = captureExchange(t, record, path, `HTTP/${req.httpVersion}`, headerPairs(req.rawHeaders));
  if (!capture) return void client.destroy();
  capture.requestEnd();
  const entry: Entry<TLSSocket> = exchangeEntry<TLSSocket>(t, record, {
    checkTarget: () => {
      if (!path.startsWith('/')) throw new ProxyError('misdirected', `request target ${path.slice(0, 100)} in an Upgrade inside a tunnel to ${t.authority}`);
      if (req.headers.host !== undefined && !sameAuthority(req.headers.host, t)) {
        throw new ProxyError('misdirected', `Host ${JSON.stringify(req.headers.host.slice(0, 100))} inside a tunnel to ${t.authority}`);
      }
    },
    dial: async () => {
      if (t.upstreamError) throw t.upstreamError;
      const tls = await t.connectUpstream(['http/1.1']);
      noteUpstreamTls(t, tls);
      return tls;
    },
    clientGone: () => socketGone(client),
    close: (tls) => tls.destroy(),
    reply: (err) => writeRawError(client, err, ctx.config.auth.realm),
    handOff: (tls) => {
      const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, t.authority, KEEP_FOR_UPGRADE);
      // The client's errors stay noted until the exchange is over (nothing else listens before the 101).
      return upgradeExchange(ctx, client, head, tls, { path, headers, record, capture, where: t.authority }).finally(detachEarlyErrors);
    },
  });
  entry.capture = capture;
  void runPipeline(ctx, entry);
}
