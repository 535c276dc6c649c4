import { VERSION } from '../version.js';
import { bodyAsUtf8, flowUrl, headerValue, type Flow, type HeaderList, type WebSocketMessage } from './flow.js';
import { content, MAX_DECODED_EXPORT, postData, type DecodeBudget } from './har-body.js';
import type { Har, HarCreator, HarEntry, HarNameValue, HarWebSocketMessage } from './har-types.js';

export type * from './har-types.js';

/** HAR 1.2 for the flows, in the order given (pass them oldest first). */
export function toHar(flows: Flow[], creator: HarCreator = { name: 'egresskit', version: VERSION }, budget: DecodeBudget = { left: MAX_DECODED_EXPORT }): Har {
  return { log: { version: '1.2', creator: { name: creator.name, version: creator.version }, entries: flows.map((f) => toEntry(f, budget)) } };
}

function toEntry(flow: Flow, budget: DecodeBudget): HarEntry {
  const { request: req, response: res } = flow;
  const t = flow.timings;
  const send = span(t.startMs, t.requestEndMs);
  const wait = span(t.requestEndMs, t.responseStartMs);
  const receive = span(t.responseStartMs, t.endMs);
  const raw = flowUrl(flow);
  // A tunnel's target is an authority (host:port), which is not a URL: HAR needs an absolute
  // one, so it gets the scheme the flow was given and its port spelled out.
  const canonical = flow.kind === 'tunnel' ? tunnelUrl(flow) : uriOf(raw);
  // A WebSocket's URL gets the ws/wss scheme, as Chrome writes it.
  const url = flow.websocket ? canonical.replace(/^http(s?):/, 'ws$1:') : canonical;
  const entry: HarEntry = {
    startedDateTime: flow.startedAt,
    time: round(send + wait + receive),
    request: {
      method: req.method,
      url,
      httpVersion: httpVersion(req.httpVersion),
      cookies: [],
      headers: nameValues(req.headers),
      queryString: queryString(url),
      headersSize: -1,
      bodySize: req.body.size,
    },
    response: res
      ? {
          status: res.status,
          statusText: res.statusText,
          httpVersion: httpVersion(res.httpVersion),
          cookies: [],
          headers: nameValues(res.headers),
          content: content(res.body, headerValue(res.headers, 'content-type') ?? '', headerValue(res.headers, 'content-encoding'), budget),
          redirectURL: headerValue(res.headers, 'location') ?? '',
          headersSize: -1,
          bodySize: res.body.size,
        }
      : {
          // No response (the exchange failed): status 0, as browsers export failed requests.
          status: 0,
          statusText: '',
          httpVersion: '',
          cookies: [],
          headers: [],
          content: { size: 0, mimeType: 'x-unknown' },
          redirectURL: '',
          headersSize: -1,
          bodySize: -1,
        },
    cache: {},
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send, wait, receive },
    _egresskit: {
      id: flow.id,
      state: flow.state,
      client: flow.client,
      identity: flow.identity,
      intercepted: flow.intercepted,
      requestTruncated: req.body.truncated,
      responseTruncated: res?.body.truncated ?? false,
      error: flow.error ?? null,
      tls: flow.tls ?? null,
    },
  };
  if (canonical !== raw) entry._egresskit.requestTarget = req.url;
  if (req.body.size > 0 || req.body.captured.length > 0) {
    entry.request.postData = postData(req.body, headerValue(req.headers, 'content-type') ?? '', headerValue(req.headers, 'content-encoding'), budget);
  }
  if (res?.trailers && res.trailers.length > 0) entry._egresskit.trailers = nameValues(res.trailers);
  if (flow.websocket) {
    const ws = flow.websocket;
    entry._resourceType = 'websocket';
    entry._webSocketMessages = ws.messages.map(webSocketMessage);
    entry._egresskit.websocket = {
      droppedMessages: ws.droppedMessages,
      closeCode: ws.closeCode ?? null,
      closeReason: ws.closeReason ?? null,
      captureError: ws.captureError ?? null,
    };
  }
  return entry;
}

/**
 * Text messages (opcode 1) as their UTF-8 text; binary and control messages (close, ping,
 * pong) as base64 of their payload, as Chrome exports binary frames. A consumer tells them
 * apart by opcode, exactly as with Chrome's HAR.
 */
function webSocketMessage(m: WebSocketMessage): HarWebSocketMessage {
  const out: HarWebSocketMessage = { type: m.direction, time: m.at / 1000, opcode: m.opcode, data: '' };
  const text = m.opcode === 1 ? bodyAsUtf8(m.data) : null;
  if (text !== null) out.data = text;
  else {
    out.data = m.data.captured.toString('base64');
    if (m.opcode === 1) out._encoding = 'base64';
  }
  if (m.data.truncated) {
    out._size = m.data.size;
    out._truncated = true;
  }
  return out;
}

/**
 * request.url must be a URI: the WHATWG parser percent-encodes what a lenient request line let
 * through (quotes, angle brackets, spaces). What it cannot parse is percent-encoded as a whole.
 */
function uriOf(raw: string): string {
  if (URL.canParse(raw)) return new URL(raw).href;
  try {
    return encodeURI(raw);
  } catch {
    return raw; // a lone surrogate: nothing better to offer than what was received
  }
}

function nameValues(headers: HeaderList): HarNameValue[] {
  return headers.map(([name, value]) => ({ name, value }));
}

function tunnelUrl(flow: Flow): string {
  const host = flow.host.includes(':') ? `[${flow.host}]` : flow.host;
  return `${flow.scheme}://${host}:${flow.port}/`;
}

function queryString(url: string): HarNameValue[] {
  try {
    return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
  } catch {
    return [];
  }
}

function httpVersion(v: string): string {
  if (v === '') return '';
  if (/^\d/.test(v)) return `HTTP/${v === '2' ? '2.0' : v}`;
  return v;
}

function span(from: number | undefined, to: number | undefined): number {
  if (from === undefined || to === undefined) return 0;
  return round(Math.max(0, to - from));
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
