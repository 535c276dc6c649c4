import { randomBytes } from 'node:crypto';

/** Header fields in wire order, duplicates kept (Set-Cookie, repeated Via...). */
export type HeaderList = Array<[name: string, value: string]>;

export interface CapturedBody {
  /** Every byte seen on the wire, captured or not. */
  size: number;
  /** The first bytes, up to the capture cap. */
  captured: Buffer;
  truncated: boolean;
}

export interface FlowMessageRequest {
  method: string;
  /** Absolute URL, or the origin-form request-target ("/path?q") for intercepted requests. */
  url: string;
  httpVersion: string;
  headers: HeaderList;
  body: CapturedBody;
}

export interface FlowMessageResponse {
  status: number;
  statusText: string;
  httpVersion: string;
  headers: HeaderList;
  body: CapturedBody;
  trailers?: HeaderList;
}

export interface FlowTls {
  sni?: string;
  clientAlpn?: string;
  upstreamAlpn?: string;
  upstreamProtocol?: string;
  upstreamCipher?: string;
  /** False when --insecure-upstream skipped verification. */
  upstreamVerified?: boolean;
}

/** One WebSocket message (fragments joined), as the application saw it after decompression. */
export interface WebSocketMessage {
  /** send: client to server; receive: server to client (HAR's _webSocketMessages wording). */
  direction: 'send' | 'receive';
  /** 1 text, 2 binary, 8 close, 9 ping, 10 pong (RFC 6455 section 5.2). */
  opcode: number;
  /** Wall-clock time, milliseconds since the epoch. */
  at: number;
  data: CapturedBody;
}

export interface FlowWebSocket {
  /** At most a fixed number of messages are kept per flow; the rest are only counted. */
  messages: WebSocketMessage[];
  droppedMessages: number;
  closeCode?: number;
  closeReason?: string;
  /** Set when frames could not be parsed: they were still relayed, but no longer captured. */
  captureError?: string;
}

export interface FlowTimings {
  /** performance.now() based, milliseconds. */
  startMs: number;
  requestEndMs?: number;
  responseStartMs?: number;
  endMs?: number;
}

/** The policy decision a flow was made under, as the UI and the filter language read it. */
export interface FlowDecision {
  /** "would-deny": a report-mode rule would have refused it; it went through. */
  verdict: 'allowed' | 'denied' | 'would-deny';
  ruleId: string;
  reason: string;
}

/** Phase timings in milliseconds, as the record measured them; a phase that did not happen is absent. */
export interface FlowPhases {
  dnsMs?: number;
  connectMs?: number;
  tlsMs?: number;
  ttfbMs?: number;
}

export interface Flow {
  id: string;
  /**
   * "tunnel": a CONNECT that carried no intercepted exchange (denied, passed through, or failed
   * before interception, e.g. a client that does not trust the CA). Absent: an HTTP exchange.
   */
  kind?: 'tunnel';
  /** The tunnel was relayed without interception (--passthrough or a policy rule). */
  passthrough?: boolean;
  /** Read from a HAR file someone imported: never seen by this proxy, read-only. */
  imported?: boolean;
  decision?: FlowDecision;
  phases?: FlowPhases;
  startedAt: string;
  client: string;
  identity: string | null;
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** false for plain HTTP (absolute-URI) requests. */
  intercepted: boolean;
  tls?: FlowTls;
  request: FlowMessageRequest;
  response?: FlowMessageResponse;
  timings: FlowTimings;
  /** Present after a 101 Switching Protocols to WebSocket; the flow stays open until it closes. */
  websocket?: FlowWebSocket;
  error?: { code: string; message: string };
  state: 'open' | 'complete' | 'error';
}

/** Random bytes drawn once per 4 KiB: a randomBytes() call per flow cost ~4% of the proxy's CPU on keep-alive HTTPS. */
let idPool = Buffer.alloc(0);
let idAt = 0;

/** 8 url-safe characters (48 random bits): short enough to read, enough for a bounded store. */
export function newFlowId(): string {
  if (idAt + 6 > idPool.length) {
    idPool = randomBytes(4096);
    idAt = 0;
  }
  idAt += 6;
  return idPool.toString('base64url', idAt - 6, idAt);
}

export function emptyBody(): CapturedBody {
  return { size: 0, captured: Buffer.alloc(0), truncated: false };
}

/**
 * Keeps the first capBytes of a streamed body and only counts the rest. Chunks are copied,
 * never sliced: a subarray would pin the whole (possibly 64 KiB) chunk in memory.
 */
export class BodyCapture {
  readonly #cap: number;
  #chunks: Buffer[] = [];
  #kept = 0;
  #size = 0;

  constructor(capBytes: number) {
    if (!Number.isInteger(capBytes) || capBytes < 0) {
      throw new RangeError(`body capture cap must be a non-negative integer number of bytes, got ${capBytes}`);
    }
    this.#cap = capBytes;
  }

  push(chunk: Buffer): void {
    this.#size += chunk.length;
    const room = this.#cap - this.#kept;
    if (room <= 0 || chunk.length === 0) return;
    const take = Math.min(room, chunk.length);
    this.#chunks.push(Buffer.from(chunk.subarray(0, take)));
    this.#kept += take;
  }

  result(): CapturedBody {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#kept)];
    return { size: this.#size, captured: this.#chunks[0] ?? Buffer.alloc(0), truncated: this.#size > this.#kept };
  }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as text when it is UTF-8 (a capture cut inside a multi-byte character still
 * counts), else null. NUL bytes mark it binary even though they are valid UTF-8.
 */
export function bodyAsUtf8(body: CapturedBody): string | null {
  const buf = body.captured;
  if (buf.includes(0)) return null;
  // A truncated capture may end in the middle of a character: up to 3 bytes of it.
  const attempts = body.truncated ? 4 : 1;
  for (let cut = 0; cut < attempts && cut <= buf.length; cut++) {
    try {
      return fatalUtf8.decode(buf.subarray(0, buf.length - cut));
    } catch {
      // try a shorter prefix
    }
  }
  return null;
}

/** First value of a header, case-insensitively. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

function defaultPort(scheme: Flow['scheme']): number {
  return scheme === 'https' ? 443 : 80;
}

/** The absolute URL of the request, rebuilt from scheme/host/port for origin-form targets. */
export function flowUrl(flow: Flow): string {
  const target = flow.request.url;
  if (!target.startsWith('/')) return target;
  const host = flow.host.includes(':') ? `[${flow.host}]` : flow.host;
  const port = flow.port === defaultPort(flow.scheme) ? '' : `:${flow.port}`;
  return `${flow.scheme}://${host}${port}${target}`;
}

/** Path and query of the request, for display. */
export function flowPath(flow: Flow): string {
  const target = flow.request.url;
  if (target.startsWith('/')) return target;
  try {
    const u = new URL(target);
    return `${u.pathname}${u.search}`;
  } catch {
    return target;
  }
}

/** h1, h2, ws (an upgraded exchange) or tunnel: the protocol column and the filter's ~p. */
export function flowProtocol(flow: Flow): 'h1' | 'h2' | 'ws' | 'tunnel' {
  if (flow.kind === 'tunnel') return 'tunnel';
  if (flow.websocket) return 'ws';
  // The engine records "HTTP/2" ("2" or "2.0" from older captures and HAR imports).
  return /^(HTTP\/)?2/i.test(flow.request.httpVersion) ? 'h2' : 'h1';
}

/** Milliseconds from the first request byte to the end, when known. */
export function flowDurationMs(flow: Flow): number | null {
  const t = flow.timings;
  if (t.endMs === undefined) return null;
  return Math.max(0, Math.round((t.endMs - t.startMs) * 1000) / 1000);
}
