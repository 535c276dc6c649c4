import { bodyAsUtf8, flowDurationMs, flowPath, flowProtocol, flowUrl, type CapturedBody, type Flow } from '../flows/flow.js';
import type { BodyJson, FlowDetail, FlowSummary, WebSocketJson } from './wire.js';

export type { BodyJson, FlowDetail, FlowSummary, WebSocketJson, WebSocketMessageJson } from './wire.js';

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
    websocket: f.websocket ? { messages: f.websocket.messages.length + f.websocket.droppedMessages, closed: f.state !== 'open' } : null,
    protocol: flowProtocol(f),
    kind: f.kind ?? 'exchange',
    passthrough: f.passthrough === true,
    imported: f.imported === true,
    verdict: f.decision?.verdict ?? null,
  };
}

function bodyJson(b: CapturedBody): BodyJson {
  return { size: b.size, capturedSize: b.captured.length, truncated: b.truncated, base64: b.captured.toString('base64'), utf8: bodyAsUtf8(b) };
}

function webSocketJson(ws: NonNullable<Flow['websocket']>): WebSocketJson {
  return {
    messages: ws.messages.map((m) => ({ direction: m.direction, opcode: m.opcode, at: m.at, data: bodyJson(m.data) })),
    droppedMessages: ws.droppedMessages,
    closeCode: ws.closeCode ?? null,
    closeReason: ws.closeReason ?? null,
    captureError: ws.captureError ?? null,
  };
}

/** The whole flow, bodies and WebSocket messages as base64 plus a UTF-8 preview. */
export function flowDetail(f: Flow): FlowDetail {
  return {
    ...flowSummary(f),
    tls: f.tls ?? null,
    timings: f.timings,
    phases: f.phases ?? {},
    decision: f.decision ?? null,
    request: { ...f.request, body: bodyJson(f.request.body) },
    response: f.response ? { ...f.response, body: bodyJson(f.response.body) } : null,
    websocket: f.websocket ? webSocketJson(f.websocket) : null,
  };
}
