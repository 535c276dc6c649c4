import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProxyError } from '../model/errors.js';
import { newRecord } from '../model/record.js';
import type { PooledTarget } from '../upstream/address-pools.js';
import { absoluteTarget, plainExchangeStart } from './absolute-target.js';
import { clientAddress } from './admission.js';
import type { ProxyContext } from './context.js';
import type { Entry } from './entry.js';
import { relay } from './forward-handler.js';
import { forwardRequestHeaders } from './headers.js';
import { identify } from './identify.js';
import { writeResponseError } from './respond.js';
import { runPipeline } from './run.js';
import { refuseHead, requestHeadError } from './request-line.js';

/** Absolute-URI requests (GET http://host/path): target from the URI, relayed over pooled connections to the decided address. */
export function handleRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const refused = requestHeadError(req);
  if (refused) return refuseHead(ctx, req, res, refused);
  const record = newRecord(ctx.instance, 'http', clientAddress(req.socket));
  record.method = req.method;
  let url: URL;
  const entry: Entry<PooledTarget> = {
    record,
    admit: true,
    method: req.method ?? 'GET',
    identify: (version) => identify(req, version),
    target: () => {
      const t = absoluteTarget(req, record, 'a request');
      if (t.url.protocol !== 'http:') {
        throw new ProxyError('bad_target', 'https:// URIs must be sent through a CONNECT tunnel', {
          hint: 'set https_proxy so the client sends CONNECT, e.g. https_proxy=http://HOST:PORT curl https://...',
        });
      }
      url = t.url;
      return t.dest;
    },
    dial: (hop, dest) => {
      // In inspect mode an allowed request is a flow from here on, whether or not the destination answers.
      if (ctx.capture) entry.capture ??= ctx.capture(plainExchangeStart(req, record, dest));
      return hop.via === 'parent' ? ctx.pools.parent(hop.parent.url.origin) : ctx.pools.prepare(hop.ip, hop.port);
    },
    reused: (pooled) => pooled.reused,
    clientGone: () => req.socket.destroyed,
    // The connection stays in its pool (or parked for it): only this exchange's claim ends.
    close: (pooled) => pooled.done(),
    reply: (err) => writeResponseError(res, err, ctx.config.auth.realm),
    handOff: (pooled, { hop }) => {
      const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, url.host);
      const parent = hop.via === 'parent' ? hop.parent : undefined;
      if (parent?.authorization) headers.push('proxy-authorization', parent.authorization);
      // A parent proxy is sent the absolute form; a destination the origin form (RFC 9112 section 3.2).
      const path = parent ? url.href : `${url.pathname}${url.search}`;
      return relay(req, res, record, { parent, origin: pooled.origin, path, headers, dispatcher: pooled.dispatcher }, entry.capture).finally(pooled.done);
    },
  };
  void runPipeline(ctx, entry);
}
