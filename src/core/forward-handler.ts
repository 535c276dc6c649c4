import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Dispatcher } from 'undici';
import type { ProxyContext } from './context.js';
import { formatHostPort, parseAbsoluteUri } from './destination.js';
import { ProxyError, toProxyError } from './errors.js';
import { publishRecord } from './events.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import { identify } from './identify.js';
import { newRecord, type ProxyRecord } from './record.js';
import { writeResponseError } from './respond.js';
import { admissionError, clientAddress } from './admission.js';
import { route } from './route.js';

/** Absolute-URI requests (GET http://host/path): plain-HTTP forwarding with pooled upstreams. */
export function handleRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
  const record = newRecord(ctx.instance, 'http', clientAddress(req.socket));
  record.method = req.method;
  forward(ctx, req, res, record).catch((err: unknown) => {
    const e = toProxyError(err);
    record.status = e.spec.status;
    record.error = e.code;
    record.errorDetail = e.detail;
    writeResponseError(res, e, ctx.config.auth.realm);
    publishRecord(record);
  });
}

async function* counted(body: AsyncIterable<Buffer>, record: ProxyRecord): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    record.bytesUp += chunk.length;
    yield chunk;
  }
}

async function forward(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, record: ProxyRecord): Promise<void> {
  const refused = admissionError(ctx);
  if (refused) throw refused;
  const target = req.url ?? '';
  if (target.startsWith('/')) throw new ProxyError('not_a_proxy_request', `got a request for ${target.slice(0, 100)}`);
  record.identity = await identify(req, ctx);
  const { dest, url } = parseAbsoluteUri(target);
  record.target = formatHostPort(dest.host, dest.port);
  record.url = `${url.protocol}//${url.host}${url.pathname}`;
  if (url.protocol !== 'http:') {
    throw new ProxyError('bad_target', 'https:// URIs must be sent through a CONNECT tunnel', {
      hint: 'set https_proxy so the client sends CONNECT, e.g. https_proxy=http://HOST:PORT curl https://...',
    });
  }
  const r = await route({ dest, identity: record.identity, method: req.method ?? 'GET' }, ctx, record);
  const headers = forwardRequestHeaders(req.rawHeaders, req.headers.connection, url.host);
  let origin: string;
  let path: string;
  if (r.via === 'parent') {
    origin = r.parent.url.origin;
    path = url.href;
    if (r.parent.authorization) headers.push('proxy-authorization', r.parent.authorization);
    record.via = 'parent';
    record.resolved = r.parent.display;
  } else {
    const { ip } = r.candidates[0]!;
    // Pools are keyed by the dialed address: the name is never resolved again by the client.
    origin = `http://${isIP(ip) === 6 ? `[${ip}]` : ip}:${dest.port}`;
    path = `${url.pathname}${url.search}`;
    record.via = 'direct';
    record.resolved = formatHostPort(ip, dest.port);
  }
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  const abort = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  const options: Dispatcher.RequestOptions = {
    origin,
    path,
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers,
    // undici streams any async iterable; its typings only name Readable.
    body: hasBody ? (counted(req, record) as unknown as Dispatcher.RequestOptions['body']) : null,
    signal: abort.signal,
  };
  const upstream = await ctx.agent.request(options).catch((err: unknown) => {
    throw toProxyError(err, record.resolved);
  });
  if (r.via === 'parent' && upstream.statusCode === 407) {
    // The parent's 407 is about egresskit's credentials; passed on, it would ask the client for them.
    upstream.body.resume();
    throw new ProxyError('parent_proxy_auth', `${r.parent.display} answered 407`);
  }
  res.writeHead(upstream.statusCode, forwardResponseHeaders(upstream.headers));
  record.status = upstream.statusCode;
  await new Promise<void>((resolve) => {
    upstream.body.on('data', (chunk: Buffer) => {
      record.bytesDown += chunk.length;
      if (!res.write(chunk)) upstream.body.pause();
    });
    res.on('drain', () => upstream.body.resume());
    upstream.body.once('end', () => {
      res.end();
      resolve();
    });
    upstream.body.once('error', (err: NodeJS.ErrnoException) => {
      record.error = toProxyError(err).code;
      res.destroy();
      resolve();
    });
    res.once('close', () => {
      if (!res.writableFinished) {
        record.error ??= 'client_gone';
        upstream.body.destroy();
        resolve();
      }
    });
  });
  publishRecord(record);
}
