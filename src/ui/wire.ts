/**
 * The JSON shapes the UI's API sends, declared once for both sides: the server (flow-json.ts)
 * builds them and the browser app (ui/src/api.ts) reads them. Types only and no imports, so the
 * app's type-check (no Node types) can read this file and nothing of it reaches the bundle.
 */

export type Verdict = 'allowed' | 'denied' | 'would-deny';
export type HeaderList = Array<[name: string, value: string]>;

/** A flow without bodies: what the list and the event stream carry. */
export interface FlowSummary {
  id: string;
  startedAt: string;
  state: 'open' | 'complete' | 'error';
  client: string;
  identity: string | null;
  scheme: 'http' | 'https';
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
  error: { code: string; message: string } | null;
  /** Present once the exchange became a WebSocket: messages seen so far, kept or dropped. */
  websocket: { messages: number; closed: boolean } | null;
  protocol: 'h1' | 'h2' | 'ws' | 'tunnel';
  /** "tunnel": a CONNECT with no intercepted exchange (denied, passed through, failed before interception). */
  kind: 'exchange' | 'tunnel';
  passthrough: boolean;
  imported: boolean;
  /** allowed, denied or would-deny (report mode); null when no policy decision was made (e.g. 407). */
  verdict: Verdict | null;
}

export interface BodyJson {
  size: number;
  capturedSize: number;
  truncated: boolean;
  base64: string;
  /** The captured bytes as text when they are UTF-8, else null. */
  utf8: string | null;
}

export interface WebSocketMessageJson {
  direction: 'send' | 'receive';
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong (RFC 6455 section 5.2). */
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

export interface TlsJson {
  sni?: string;
  clientAlpn?: string;
  upstreamAlpn?: string;
  upstreamProtocol?: string;
  upstreamCipher?: string;
  /** False when --insecure-upstream skipped verification. */
  upstreamVerified?: boolean;
}

export interface FlowDetail extends Omit<FlowSummary, 'websocket'> {
  tls: TlsJson | null;
  /** performance.now() based, milliseconds. */
  timings: { startMs: number; requestEndMs?: number; responseStartMs?: number; endMs?: number };
  /** DNS, connect, TLS and time to first byte, milliseconds; a phase that did not happen is absent. */
  phases: { dnsMs?: number; connectMs?: number; tlsMs?: number; ttfbMs?: number };
  decision: { verdict: Verdict; ruleId: string; reason: string } | null;
  request: { method: string; url: string; httpVersion: string; headers: HeaderList; body: BodyJson };
  response: { status: number; statusText: string; httpVersion: string; headers: HeaderList; body: BodyJson; trailers?: HeaderList } | null;
  websocket: WebSocketJson | null;
}
