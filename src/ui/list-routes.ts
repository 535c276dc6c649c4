import type { ServerResponse } from 'node:http';
import { BodyTextCache } from '../flows/flow-subject.js';
import type { FlowListQuery } from '../flows/flow-store.js';
import { filterHelp } from '../flows/filter/help.js';
import { compileFilter, usesBodies } from '../flows/filter/match.js';
import { parseFilter } from '../flows/filter/parse.js';
import { toHarOffLoop } from '../flows/har-off-loop.js';
import { selectFlows } from '../flows/select-flows.js';
import { streamEvents, type StreamFilter } from './events.js';
import { flowSummary } from './flow-json.js';
import type { FlowSource } from './flow-source.js';
import { BASE_HEADERS, send, sendJson, sendText } from './http-reply.js';
import type { Route } from './routes.js';

export interface ListRoutesOptions {
  store: FlowSource;
  version: string;
  /** Upper bound (and default) for ?limit= on api/flows. */
  maxListLimit: number;
  maxEventClients: number;
  heartbeatMs: number;
}

/** ?filter= parsed, or a 400 {error, position, filter} already sent. */
function filterOf(res: ServerResponse, url: URL): StreamFilter | null | undefined {
  const text = url.searchParams.get('filter') ?? '';
  const parsed = parseFilter(text);
  if (!parsed.ok) {
    sendJson(res, 400, { error: `bad filter: ${parsed.error}`, position: parsed.position, filter: text });
    return undefined;
  }
  if (parsed.ast === null) return null;
  return { predicate: compileFilter(parsed.ast), usesBodies: usesBodies(parsed.ast) };
}

/** api/flows (list, clear), api/flows.har, api/events and api/filter-help: the filtered views of the store. */
export function listRoutes(opts: ListRoutesOptions): Route[] {
  const { store, version, maxListLimit } = opts;
  // One per UI: typing a body filter re-runs it over every flow, and decoded text is reused.
  const cache = new BodyTextCache();
  let eventClients = 0;

  return [
    {
      pattern: /^\/api\/flows$/,
      methods: {
        GET: async (_req, res, url) => {
          const p = url.searchParams;
          const query: FlowListQuery = {};
          for (const key of ['host', 'method', 'status', 'search', 'sinceId'] as const) {
            const v = p.get(key);
            if (v !== null && v !== '') query[key] = v;
          }
          let limit = maxListLimit;
          const given = p.get('limit');
          if (given !== null && given !== '') {
            if (!/^\d+$/.test(given)) return sendJson(res, 400, { error: `limit must be a non-negative integer, got ${JSON.stringify(given)}` });
            limit = Math.min(Number(given), maxListLimit);
          }
          const filter = filterOf(res, url);
          if (filter === undefined) return;
          const candidates = store.list(query);
          const { flows, matched } = filter ? await selectFlows(candidates, filter.predicate, { cache, limit, cancelled: () => res.destroyed }) : { flows: candidates.slice(0, limit), matched: candidates.length };
          if (res.destroyed) return;
          sendJson(res, 200, { flows: flows.map(flowSummary), total: store.size, matched });
        },
        DELETE: (_req, res) => {
          store.clear();
          res.writeHead(204, BASE_HEADERS).end();
        },
      },
    },
    {
      pattern: /^\/api\/flows\.har$/,
      methods: {
        GET: async (_req, res, url) => {
          const filter = filterOf(res, url);
          if (filter === undefined) return;
          const oldestFirst = store.list().reverse();
          const flows = filter ? (await selectFlows(oldestFirst, filter.predicate, { cache, cancelled: () => res.destroyed })).flows : oldestFirst;
          if (res.destroyed) return;
          const stamp = new Date().toISOString().replace(/[:.]/g, '-');
          const har = await toHarOffLoop(flows, { name: 'egresskit', version });
          if (res.destroyed) return;
          sendJson(res, 200, har, { 'content-disposition': `attachment; filename="egresskit-${stamp}.har"` });
        },
      },
    },
    {
      pattern: /^\/api\/events$/,
      methods: {
        GET: (req, res, url) => {
          if (eventClients >= opts.maxEventClients) {
            return sendText(res, 503, `too many event streams open (${opts.maxEventClients}); close another UI tab`, { 'retry-after': '5' });
          }
          const filter = filterOf(res, url);
          if (filter === undefined) return;
          if (req.method === 'HEAD') return send(res, 200, '', { 'content-type': 'text/event-stream; charset=utf-8' });
          eventClients++;
          streamEvents(store, res, { heartbeatMs: opts.heartbeatMs, maxQueuedBytes: 1024 * 1024, filter, cache }, () => eventClients--);
        },
      },
    },
    { pattern: /^\/api\/filter-help$/, methods: { GET: (_req, res) => sendJson(res, 200, filterHelp(), { 'cache-control': 'max-age=300' }) } },
  ];
}
