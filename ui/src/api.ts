// Every URL is relative: the app works under any base path the server is given.

export type Verdict = 'allowed' | 'denied' | 'would-deny';

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
  websocket: { messages: number; closed: boolean } | null;
  protocol: 'h1' | 'h2' | 'ws' | 'tunnel';
  kind: 'exchange' | 'tunnel';
  passthrough: boolean;
  imported: boolean;
  verdict: Verdict | null;
}

export interface BodyJson {
  size: number;
  capturedSize: number;
  truncated: boolean;
  base64: string;
  utf8: string | null;
}

export type HeaderList = Array<[string, string]>;

export interface WebSocketMessageJson {
  direction: 'send' | 'receive';
  opcode: number;
  at: number;
  data: BodyJson;
}

export interface FlowDetail extends Omit<FlowSummary, 'websocket'> {
  tls: {
    sni?: string;
    clientAlpn?: string;
    upstreamAlpn?: string;
    upstreamProtocol?: string;
    upstreamCipher?: string;
    upstreamVerified?: boolean;
  } | null;
  timings: { startMs: number; requestEndMs?: number; responseStartMs?: number; endMs?: number };
  phases: { dnsMs?: number; connectMs?: number; tlsMs?: number; ttfbMs?: number };
  decision: { verdict: Verdict; ruleId: string; reason: string } | null;
  request: { method: string; url: string; httpVersion: string; headers: HeaderList; body: BodyJson };
  response: { status: number; statusText: string; httpVersion: string; headers: HeaderList; body: BodyJson; trailers?: HeaderList } | null;
  websocket: {
    messages: WebSocketMessageJson[];
    droppedMessages: number;
    closeCode: number | null;
    closeReason: string | null;
    captureError: string | null;
  } | null;
}

export interface Meta {
  version: string;
  mode: string;
  proxy: string;
  caFingerprint: string | null;
  basePath: string;
  tokenRequired: boolean;
}

/** A filter the server could not parse: what is wrong and where (0-based character offset). */
export interface FilterError {
  error: string;
  position: number;
  filter: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return new ApiError(res.status, typeof body.error === 'string' ? body.error : text, body);
  } catch {
    return new ApiError(res.status, text.trim() || `${res.status} ${res.statusText}`);
  }
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

export async function getText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw await errorOf(res);
  return res.text();
}

export async function send<T>(method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<T | null> {
  const init: RequestInit = { method, headers: { 'content-type': contentType } };
  if (body !== undefined) init.body = typeof body === 'string' || body instanceof Blob ? body : JSON.stringify(body);
  const res = await fetch(url, init);
  if (!res.ok) throw await errorOf(res);
  return res.status === 204 ? null : ((await res.json()) as T);
}

export const filterQuery = (filter: string): string => `filter=${encodeURIComponent(filter)}`;

export interface FlowList {
  flows: FlowSummary[];
  total: number;
  matched?: number;
}

/** The whole filtered list, newest first; a bad filter rejects with a FilterError. */
export async function listFlows(filter: string, limit = 1_000_000): Promise<FlowList> {
  const res = await fetch(`api/flows?${filterQuery(filter)}&limit=${limit}`, { headers: { accept: 'application/json' } });
  if (res.status === 400) {
    const err = await errorOf(res);
    if (typeof err.body.position === 'number') throw { error: err.message, position: err.body.position, filter } satisfies FilterError;
    throw err;
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as FlowList;
}

export function isFilterError(e: unknown): e is FilterError {
  return typeof e === 'object' && e !== null && 'position' in e && 'error' in e && !(e instanceof Error);
}

export interface BodyBytes {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
  size: number;
  truncated: boolean;
  /** Set when the body could not be decoded (the raw bytes are shown instead). */
  decodeError?: string;
  decoded?: string;
}

/** A body, decoded from its Content-Encoding by the server (off its event loop). */
export async function bodyBytes(id: string, which: 'request' | 'response'): Promise<BodyBytes> {
  const base = `api/flows/${encodeURIComponent(id)}/${which}/body`;
  let res = await fetch(`${base}?decoded=1`);
  let decodeError: string | undefined;
  if (res.status === 422) {
    decodeError = (await errorOf(res)).message;
    res = await fetch(base);
  }
  if (!res.ok) throw await errorOf(res);
  const out: BodyBytes = {
    bytes: new Uint8Array(await res.arrayBuffer()),
    contentType: res.headers.get('x-egresskit-content-type') ?? '',
    size: Number(res.headers.get('x-egresskit-body-size') ?? 0),
    truncated: res.headers.get('x-egresskit-truncated') === 'true',
  };
  const decoded = res.headers.get('x-egresskit-decoded');
  if (decoded && decoded !== 'identity') out.decoded = decoded;
  if (decodeError) out.decodeError = decodeError;
  return out;
}
