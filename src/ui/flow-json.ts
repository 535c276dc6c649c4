import { bodyAsUtf8, flowDurationMs, flowPath, flowProtocol, flowUrl, type CapturedBody, type Flow, type WebSocketMessage } from '../flows/flow.js';

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
  /** Present once the exchange became a WebSocket: messages seen so far, kept or dropped. */
  websocket: { messages: number; closed: boolean } | null;
  protocol: ReturnType<typeof flowProtocol>;
  /** "tunnel": a CONNECT with no intercepted exchange (denied, passed through, failed before interception). */
  kind: 'exchange' | 'tunnel';
  passthrough: boolean;
  imported: boolean;
  /** allowed, denied or would-deny (report mode); null when no policy decision was made (e.g. 407). */
  verdict: NonNullable<Flow['decision']>['verdict'] | null;
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
    websocket: f.websocket ? { messages: f.websocket.messages.length + f.websocket.droppedMessages, closed: f.state !== 'open' } : null,
    protocol: flowProtocol(f),
    kind: f.kind ?? 'exchange',
    passthrough: f.passthrough === true,
    imported: f.imported === true,
    verdict: f.decision?.verdict ?? null,
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

export interface WebSocketMessageJson {
  direction: WebSocketMessage['direction'];
  opcode: number;
  /** Milliseconds since the epoch. */
  at: number;
  data: BodyJson;
}

export interface WebSocketJson {
  /** The kept messages, oldest first; droppedMessages more were seen but not kept. */
  messages: WebSocketMessageJson[];
  droppedMessages: number;
  closeCode: number | null;
  closeReason: string | null;
  captureError: string | null;
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

type MessageJson<M> = Omit<M, 'body'> & { body: BodyJson };

export interface FlowDetail extends Omit<FlowSummary, 'websocket'> {
  tls: Flow['tls'] | null;
  timings: Flow['timings'];
  /** DNS, connect, TLS and time to first byte, milliseconds; a phase that did not happen is absent. */
  phases: NonNullable<Flow['phases']>;
  decision: Flow['decision'] | null;
  request: MessageJson<Flow['request']>;
  response: MessageJson<NonNullable<Flow['response']>> | null;
  websocket: WebSocketJson | null;
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
