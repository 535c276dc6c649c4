import { BodyCapture, newFlowId, type CapturedBody, type Flow, type FlowWebSocket, type HeaderList, type WebSocketMessage } from '../../../../src/flows/flow.js';

export function body(data: string | Buffer, cap = 1 << 20): CapturedBody {
  const c = new BodyCapture(cap);
  c.push(typeof data === 'string' ? Buffer.from(data) : data);
  return c.result();
}

export interface FlowSpec {
  host?: string;
  port?: number;
  scheme?: 'http' | 'https';
  method?: string;
  url?: string;
  status?: number | null;
  requestHeaders?: HeaderList;
  responseHeaders?: HeaderList;
  requestBody?: CapturedBody;
  responseBody?: CapturedBody;
  error?: { code: string; message: string };
  /** Both directions, as the engine records it: "HTTP/1.1", "HTTP/2". */
  httpVersion?: string;
  responseTrailers?: HeaderList;
  websocket?: FlowWebSocket;
}

/** A synthetic flow as the engine would leave it once the exchange is over. */
export function makeFlow(spec: FlowSpec = {}): Flow {
  const scheme = spec.scheme ?? 'https';
  const host = spec.host ?? 'api.example.com';
  const intercepted = scheme === 'https';
  const port = spec.port ?? (scheme === 'https' ? 443 : 80);
  const flow: Flow = {
    id: newFlowId(),
    startedAt: new Date('2026-01-02T03:04:05.678Z').toISOString(),
    client: '127.0.0.1:40000',
    identity: null,
    scheme,
    host,
    port,
    intercepted,
    request: {
      method: spec.method ?? 'GET',
      url: spec.url ?? (intercepted ? '/v1/items?a=1&b=two' : `http://${host}/plain?x=y`),
      httpVersion: spec.httpVersion ?? 'HTTP/1.1',
      headers: spec.requestHeaders ?? [['Host', host], ['User-Agent', 'test']],
      body: spec.requestBody ?? body(''),
    },
    timings: { startMs: 100, requestEndMs: 101.5, responseStartMs: 110, endMs: 112.25 },
    state: spec.error ? 'error' : 'complete',
  };
  if (intercepted) flow.tls = { sni: host, clientAlpn: 'http/1.1', upstreamAlpn: 'http/1.1', upstreamProtocol: 'TLSv1.3', upstreamCipher: 'TLS_AES_128_GCM_SHA256' };
  if (spec.status !== null) {
    flow.response = {
      status: spec.status ?? 200,
      statusText: spec.status === 101 ? 'Switching Protocols' : 'OK',
      httpVersion: spec.httpVersion ?? 'HTTP/1.1',
      headers: spec.responseHeaders ?? [['Content-Type', 'application/json']],
      body: spec.responseBody ?? body('{"ok":true}'),
    };
    if (spec.responseTrailers) flow.response.trailers = spec.responseTrailers;
  }
  if (spec.websocket) flow.websocket = spec.websocket;
  if (spec.error) {
    flow.error = spec.error;
    delete flow.timings.responseStartMs;
    delete flow.timings.endMs;
  }
  return flow;
}

/** Milliseconds since the epoch of the fixed flow start, plus `ms`. */
export function at(ms: number): number {
  return Date.parse('2026-01-02T03:04:05.678Z') + ms;
}

export function wsMessage(direction: WebSocketMessage['direction'], opcode: number, data: string | Buffer | CapturedBody, atMs = 0): WebSocketMessage {
  const captured = typeof data === 'string' || Buffer.isBuffer(data) ? body(data) : data;
  return { direction, opcode, at: at(atMs), data: captured };
}

/** A WebSocket upgrade to chat.example after a 101, with a text, a binary and a close message. */
export function makeWebSocketFlow(messages?: WebSocketMessage[], extra: Partial<FlowWebSocket> = {}): Flow {
  return makeFlow({
    host: 'chat.example',
    url: '/socket?room=1',
    status: 101,
    requestHeaders: [
      ['Host', 'chat.example'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Version', '13'],
    ],
    responseHeaders: [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
    ],
    responseBody: body(''),
    websocket: {
      messages: messages ?? [
        wsMessage('send', 1, 'hello', 10),
        wsMessage('receive', 2, Buffer.from([0x00, 0xff, 0x10]), 20.5),
        wsMessage('receive', 8, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]), 30),
      ],
      droppedMessages: 0,
      closeCode: 1000,
      closeReason: 'bye',
      ...extra,
    },
  });
}
