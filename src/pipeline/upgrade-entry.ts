import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ProxyError } from '../model/errors.js';
import { newRecord } from '../model/record.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import { absoluteTarget, plainExchangeStart } from './absolute-target.js';
import { clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import type { Entry } from './entry.js';
import { forwardRequestHeaders, httpHead, KEEP_FOR_UPGRADE } from './headers.js';
import { identify } from './identify.js';
import { dialHop, socketGone, watchEarlyErrors } from './raw-client.js';
import { writeRawError } from './respond.js';
import { runPipeline } from './run.js';
import { runTunnel } from './run-tunnel.js';
import { upgradeExchange } from './upgrade-exchange.js';
import { refuseHead, requestHeadError } from './request-line.js';

/**
 * Upgrade over plain HTTP (ws:// through the proxy as GET http://host/ with Upgrade): target
 * from the absolute URI; the request is replayed in origin-form to the destination and from
 * then on bytes are spliced like a CONNECT tunnel; the destination's 101 (or refusal) reaches
 * the client unchanged.
 */
export function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const refused = requestHeadError(req);
  if (refused) return refuseHead(ctx, req, socket, refused);
  const record = newRecord(ctx.instance, 'upgrade', clientAddress(req.socket));
  record.method = req.method;
  const detachEarlyErrors = watchEarlyErrors(socket, record);
  let url: URL;
  const entry: Entry<UpstreamConnection> = {
    record,
    admit: true,
    method: req.method ?? 'GET',
    identify: (version) => identify(req, version),
    target: () => {
      const t = absoluteTarget(req, record, 'an Upgrade');
      if (t.url.protocol !== 'http:' && t.url.protocol !== 'ws:') {
        throw new ProxyError('bad_target', `${t.url.protocol} upgrades must go through a CONNECT tunnel`);
      }
      url = t.url;
      return t.dest;
    },
    dial: (hop, dest) => dialHop(hop, dest, ctx.config.timeouts.connect),
    clientGone: () => socketGone(socket),
    close: (upstream) => upstream.destroy(),
    reply: (err) => writeRawError(socket, err, ctx.config.auth.realm),
    handOff: (upstream, { dest }) => {
      const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, url.host, KEEP_FOR_UPGRADE);
      const path = `${url.pathname}${url.search}`;
      // Inspect mode parses the response so the flow has its status and the messages that follow.
      const capture = ctx.capture?.(plainExchangeStart(req, record, dest));
      if (capture) {
        entry.capture = capture;
        capture.requestEnd();
        // Node's server no longer listens for errors on this socket: ours stays until the end.
        return upgradeExchange(ctx, socket, head, upstream.asDuplex(), { path, headers, record, capture, where: url.host }).finally(detachEarlyErrors);
      }
      detachEarlyErrors();
      upstream.write(`${httpHead(`${req.method} ${path} HTTP/1.1`, headers)}\r\n`);
      record.status = 101;
      return runTunnel(ctx, socket, upstream, head, record);
    },
  };
  void runPipeline(ctx, entry);
}
