import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ParentProxy } from '../upstream/parent-proxy.js';
import type { ExchangeCapture } from '../model/exchange.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import { notePhase } from '../model/channels.js';
import { fieldPairs, forwardResponseHeaders } from './headers.js';
import type { ProxyRecord } from '../model/record.js';

export interface Target {
  /** Set when the request goes to a parent proxy in absolute form (its 407 is about us). */
  parent: ParentProxy | undefined;
  origin: string;
  path: string;
  headers: string[];
  /** The upstream connection pool: the decided address's, the parent's, or the tunnel's own (interception). */
  dispatcher: Dispatcher;
}

async function* counted(body: AsyncIterable<Buffer>, record: ProxyRecord, capture: ExchangeCapture | undefined): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    record.bytesUp += chunk.length;
    capture?.requestData(chunk);
    yield chunk;
  }
  capture?.requestEnd();
}

/**
 * Streams the exchange through undici's handler interface: no intermediate Readable, and
 * backpressure both ways (a slow client pauses the upstream response). Shared by plain HTTP
 * forwarding and the requests inside an intercepted tunnel; `capture` (inspect mode) sees
 * every chunk as it passes and keeps at most its cap.
 */
export function relay(req: IncomingMessage, res: ServerResponse, record: ProxyRecord, t: Target, capture?: ExchangeCapture): Promise<void> {
  return new Promise((resolve, reject) => relayExchange(req, res, record, t, capture, resolve, reject));
}

function relayExchange(
  req: IncomingMessage,
  res: ServerResponse,
  record: ProxyRecord,
  t: Target,
  capture: ExchangeCapture | undefined,
  finished: () => void,
  failed: (err: unknown) => void,
): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) capture?.requestEnd();
  let controller: Dispatcher.DispatchController | undefined;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    finished();
  };
  res.once('close', () => {
    if (res.writableFinished) return;
    record.error ??= 'client_gone';
    capture?.fail(record.error, 'the client closed the connection before the response was complete');
    controller?.abort(new Error('client closed the connection'));
    finish();
  });
  res.on('drain', () => controller?.resume());
  const options: Dispatcher.DispatchOptions = {
    origin: t.origin,
    path: t.path,
    method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: t.headers,
    // undici streams any async iterable; its typings only name Readable.
    body: hasBody ? (counted(req, record, capture) as unknown as Dispatcher.DispatchOptions['body']) : null,
  };
  t.dispatcher.dispatch(options, {
    onRequestStart(c) {
      controller = c;
    },
    onResponseStart(c, statusCode, headers, statusMessage) {
      if (statusCode < 200) return;
      if (t.parent && statusCode === 407) {
        // The parent's 407 is about egresskit's credentials; passed on, it would ask the client for them.
        c.abort(new ProxyError('parent_proxy_auth', `${t.parent.display} answered 407`));
        return;
      }
      record.status = statusCode;
      notePhase(record, 'ttfb', record.start);
      capture?.responseStart(statusCode, statusMessage ?? '', fieldPairs(headers as Record<string, string | string[] | undefined>));
      const out = forwardResponseHeaders(headers as Record<string, string | string[] | undefined>);
      if (statusMessage) res.writeHead(statusCode, statusMessage, out);
      else res.writeHead(statusCode, out);
    },
    onResponseData(c, chunk) {
      record.bytesDown += chunk.length;
      capture?.responseData(chunk);
      if (!res.write(chunk)) c.pause();
    },
    onResponseEnd(_c, trailers) {
      const names = Object.keys(trailers);
      if (names.length > 0) res.addTrailers(trailers as Record<string, string>);
      capture?.responseEnd(names.length > 0 ? fieldPairs(trailers as Record<string, string | string[] | undefined>) : []);
      res.end();
      finish();
    },
    onResponseError(_c, err) {
      if (done) return;
      if (res.headersSent) {
        const e = toProxyError(err);
        record.error ??= e.code;
        capture?.fail(record.error, e.message);
        res.destroy();
        finish();
        return;
      }
      // Nothing reached the client yet: the pipeline answers with the error.
      done = true;
      failed(err);
    },
  });
}
