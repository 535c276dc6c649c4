import type { ServerResponse } from 'node:http';
import { codingsToUndo, decodeBody } from '../flows/body-decode.js';
import { MAX_DECODED_BODY } from '../flows/har-body.js';
import { headerValue } from '../flows/flow.js';
import { toHarOffLoop } from '../flows/har-off-loop.js';
import type { AppContext } from './app-context.js';
import { curlCommand } from './curl-command.js';
import { flowDetail } from './flow-json.js';
import { proxyUrlFor } from './proxy-url.js';
import { BASE_HEADERS, send, sendJson, type Handler, type Route } from './respond.js';

const ID = '([A-Za-z0-9_-]{1,64})';

// Body bytes are served as a download, never with the captured type: an HTML body served from
// this origin would run. The app reads x-egresskit-content-type and renders it itself.
const BODY_HEADERS = { 'content-type': 'application/octet-stream', 'content-security-policy': "default-src 'none'; sandbox" };

/** At most this many bodies are decoded at once; each may take 16 MiB. */
const MAX_CONCURRENT_DECODES = 4;

/** One flow: JSON detail, raw and decoded bodies, curl, one HAR entry, delete. */
export function detailRoutes(ctx: AppContext): Route[] {
  const { store } = ctx;
  let decoding = 0;
  const noFlow = (res: ServerResponse, id: string): void =>
    sendJson(res, 404, { error: `no flow ${id}: it was never captured, was evicted to keep the store within its limits, was deleted or cleared` });

  const oneFlow: Handler = (_req, res, _url, id = '') => {
    const flow = store.get(id);
    if (!flow) return noFlow(res, id);
    sendJson(res, 200, flowDetail(flow));
  };

  const body =
    (which: 'request' | 'response'): Handler =>
    (_req, res, url, id = '') => {
      const flow = store.get(id);
      if (!flow) return noFlow(res, id);
      const msg = which === 'request' ? flow.request : flow.response;
      if (!msg) return sendJson(res, 404, { error: `flow ${id} has no response${flow.error ? ` (${flow.error.code})` : ' yet'}` });
      const b = msg.body;
      const headers = {
        ...BODY_HEADERS,
        'content-disposition': `attachment; filename="${id}-${which}.bin"`,
        'x-egresskit-body-size': String(b.size),
        'x-egresskit-captured-size': String(b.captured.length),
        'x-egresskit-truncated': String(b.truncated),
        'x-egresskit-content-type': ascii(headerValue(msg.headers, 'content-type') ?? ''),
      };
      if (url.searchParams.get('decoded') !== '1') return send(res, 200, b.captured, headers);
      if (decoding >= MAX_CONCURRENT_DECODES) {
        return sendJson(res, 503, { error: `${MAX_CONCURRENT_DECODES} bodies are being decoded already; try again in a moment` }, { 'retry-after': '1' });
      }
      decoding++;
      const encoding = headerValue(msg.headers, 'content-encoding');
      // The HAR export's ceiling per body: a gzip bomb stops at 16 MiB.
      decodeBody(b, encoding, MAX_DECODED_BODY)
        .then((d) => {
          if (d === undefined) return send(res, 200, b.captured, { ...headers, 'x-egresskit-decoded': 'identity' });
          if ('error' in d) return sendJson(res, 422, { error: `not decoded (${d.error}); the raw body is at ${which}/body` });
          send(res, 200, d.bytes, { ...headers, 'x-egresskit-decoded': codingsToUndo(encoding).reverse().join(', ') });
        })
        .catch((err: Error) => sendJson(res, 500, { error: err.message }))
        .finally(() => decoding--);
    };

  const curl: Handler = (req, res, _url, id = '') => {
    const flow = store.get(id);
    if (!flow) return noFlow(res, id);
    const proxyUrl = proxyUrlFor(ctx.proxy(), req.headers.host);
    send(res, 200, curlCommand(flow, { proxyUrl, caCertFile: ctx.caCertFile }), { 'content-type': 'text/plain; charset=utf-8' });
  };

  const harEntry: Handler = async (_req, res, _url, id = '') => {
    const flow = store.get(id);
    if (!flow) return noFlow(res, id);
    // Decoded on zlib's pool like the whole export: a 16 MiB gzip body must not hold the proxy.
    const har = await toHarOffLoop([flow], { name: 'egresskit', version: ctx.version });
    if (res.destroyed) return;
    sendJson(res, 200, har.log.entries[0], {
      'content-disposition': `attachment; filename="${id}.har-entry.json"`,
    });
  };

  const remove: Handler = (_req, res, _url, id = '') => {
    if (!store.delete(id)) return noFlow(res, id);
    res.writeHead(204, BASE_HEADERS).end();
  };

  return [
    { pattern: new RegExp(`^/api/flows/${ID}$`), methods: { GET: oneFlow, DELETE: remove } },
    { pattern: new RegExp(`^/api/flows/${ID}/request/body$`), methods: { GET: body('request') } },
    { pattern: new RegExp(`^/api/flows/${ID}/response/body$`), methods: { GET: body('response') } },
    { pattern: new RegExp(`^/api/flows/${ID}/curl$`), methods: { GET: curl } },
    { pattern: new RegExp(`^/api/flows/${ID}/har$`), methods: { GET: harEntry } },
  ];
}

/** A header value must be Latin-1 without controls; a hostile content-type is reduced to what fits. */
function ascii(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '');
}
