import { bodyAsUtf8, flowDurationMs, flowPath, flowUrl, type CapturedBody, type Flow } from '../inspect/flows/flow.js';

/** A flow without bodies: what the list, the page and the event stream carry. */
export interface FlowSummary {
  id: string;
  startedAt: string;
  state: Flow['state'];
  client: string;
  identity: string | null;
  scheme: Flow['scheme'];
  host: string;
  port: number;
  intercepted: boolean;
  method: string;
  url: string;
  path: string;
  status: number | null;
  requestSize: number;
  responseSize: number | null;
  requestTruncated: boolean;
  responseTruncated: boolean;
  durationMs: number | null;
  error: Flow['error'] | null;
}

export function flowSummary(f: Flow): FlowSummary {
  return {
    id: f.id,
    startedAt: f.startedAt,
    state: f.state,
    client: f.client,
    identity: f.identity,
    scheme: f.scheme,
    host: f.host,
    port: f.port,
    intercepted: f.intercepted,
    method: f.request.method,
    url: flowUrl(f),
    path: flowPath(f),
    status: f.response?.status ?? null,
    requestSize: f.request.body.size,
    responseSize: f.response?.body.size ?? null,
    requestTruncated: f.request.body.truncated,
    responseTruncated: f.response?.body.truncated ?? false,
    durationMs: flowDurationMs(f),
    error: f.error ?? null,
  };
}

export interface BodyJson {
  size: number;
  capturedSize: number;
  truncated: boolean;
  base64: string;
  /** The captured bytes as text when they are UTF-8, else null. */
  utf8: string | null;
}

function bodyJson(b: CapturedBody): BodyJson {
  return { size: b.size, capturedSize: b.captured.length, truncated: b.truncated, base64: b.captured.toString('base64'), utf8: bodyAsUtf8(b) };
}

/** The whole flow, bodies as base64 plus a UTF-8 preview. */
export function flowDetail(f: Flow): Record<string, unknown> {
  return {
    ...flowSummary(f),
    tls: f.tls ?? null,
    timings: f.timings,
    request: { ...f.request, body: bodyJson(f.request.body) },
    response: f.response ? { ...f.response, body: bodyJson(f.response.body) } : null,
  };
}
