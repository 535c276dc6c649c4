import { brotliDecompressSync, constants, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { VERSION } from '../../version.js';
import { bodyAsUtf8, flowUrl, headerValue, type CapturedBody, type Flow, type HeaderList, type WebSocketMessage } from './flow.js';

// HAR 1.2: http://www.softwareishard.com/blog/har-12-spec/ (the W3C draft mirrors it).
// Fields we add that the spec lacks start with "_", as the spec requires of custom fields.

export interface HarCreator {
  name: string;
  version: string;
}

export interface HarNameValue {
  name: string;
  value: string;
}

export interface HarContent {
  /** Length of the decoded content; equals the response bodySize when nothing was compressed. */
  size: number;
  /** Bytes saved by Content-Encoding (size - bodySize); left out when unknown. */
  compression?: number;
  mimeType: string;
  text?: string;
  encoding?: 'base64';
  comment?: string;
}

export interface HarPostData {
  mimeType: string;
  text: string;
  /** HAR 1.2 has no encoding for postData (only for content): set for bodies that are not UTF-8. */
  _encoding?: 'base64';
  comment?: string;
}

/** Chrome DevTools' WebSocket transcript entry (not in HAR 1.2; read by Chrome and HAR viewers). */
export interface HarWebSocketMessage {
  type: WebSocketMessage['direction'];
  /** Seconds since the epoch, with a fraction (Chrome's unit, unlike every other HAR time). */
  time: number;
  opcode: number;
  data: string;
  /** Only when a text message's bytes are not UTF-8 (data is then base64, as for binary). */
  _encoding?: 'base64';
  /** Only when the capture kept a prefix: the message's full size in bytes. */
  _size?: number;
  _truncated?: true;
}

export interface HarEntry {
  startedDateTime: string;
  time: number;
  request: {
    method: string;
    url: string;
    httpVersion: string;
    cookies: HarNameValue[];
    headers: HarNameValue[];
    queryString: HarNameValue[];
    postData?: HarPostData;
    headersSize: -1;
    bodySize: number;
  };
  response: {
    status: number;
    statusText: string;
    httpVersion: string;
    cookies: HarNameValue[];
    headers: HarNameValue[];
    content: HarContent;
    redirectURL: string;
    headersSize: -1;
    bodySize: number;
  };
  cache: Record<string, never>;
  timings: { send: number; wait: number; receive: number; blocked: -1; dns: -1; connect: -1; ssl: -1 };
  serverIPAddress?: string;
  _resourceType?: 'websocket';
  _webSocketMessages?: HarWebSocketMessage[];
  _egresskit: {
    id: string;
    state: Flow['state'];
    client: string;
    identity: string | null;
    intercepted: boolean;
    /** The request target as received, when request.url had to be normalised to be a URI. */
    requestTarget?: string;
    requestTruncated: boolean;
    responseTruncated: boolean;
    error: Flow['error'] | null;
    tls: Flow['tls'] | null;
    trailers?: HarNameValue[];
    websocket?: { droppedMessages: number; closeCode: number | null; closeReason: string | null; captureError: string | null };
  };
}

export interface Har {
  log: { version: '1.2'; creator: HarCreator; entries: HarEntry[] };
}

// Decoding Content-Encoding can multiply a body a thousandfold (a gzip bomb from a hostile
// upstream): each body and each export get a ceiling, past which bodies are exported as sent.
const MAX_DECODED_BODY = 16 * 1024 * 1024;
const MAX_DECODED_EXPORT = 256 * 1024 * 1024;

interface DecodeBudget {
  left: number;
}

/** HAR 1.2 for the flows, in the order given (pass them oldest first). */
export function toHar(flows: Flow[], creator: HarCreator = { name: 'egresskit', version: VERSION }): Har {
  const budget: DecodeBudget = { left: MAX_DECODED_EXPORT };
  return { log: { version: '1.2', creator: { name: creator.name, version: creator.version }, entries: flows.map((f) => toEntry(f, budget)) } };
}

function toEntry(flow: Flow, budget: DecodeBudget): HarEntry {
  const { request: req, response: res } = flow;
  const t = flow.timings;
  const send = span(t.startMs, t.requestEndMs);
  const wait = span(t.requestEndMs, t.responseStartMs);
  const receive = span(t.responseStartMs, t.endMs);
  const raw = flowUrl(flow);
  const canonical = uriOf(raw);
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

function truncationComment(body: CapturedBody): string {
  return `truncated: ${body.captured.length} of ${body.size} bytes captured`;
}

/** Decoded bytes of a body sent with Content-Encoding, or why it is exported as sent. */
type Decoded = { bytes: Buffer } | { error: string };

/** undefined when there is nothing to decode (no encoding, identity, or no bytes). */
function decode(body: CapturedBody, contentEncoding: string | undefined, budget: DecodeBudget): Decoded | undefined {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0 || body.captured.length === 0) return undefined;
  const limit = Math.min(MAX_DECODED_BODY, budget.left);
  if (limit <= 0) return { error: `this export already decoded ${MAX_DECODED_EXPORT} bytes` };
  // A truncated capture ends mid-stream: flush what decodes instead of failing on the end.
  const partial = body.truncated;
  const zopts = { maxOutputLength: limit, ...(partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {}) };
  const bropts = { maxOutputLength: limit, ...(partial ? { finishFlush: constants.BROTLI_OPERATION_FLUSH } : {}) };
  let bytes = body.captured;
  try {
    // Codings apply in the order listed (RFC 9110 section 8.4), so they come off in reverse.
    for (const coding of codings.reverse()) {
      if (coding === 'gzip' || coding === 'x-gzip') bytes = gunzipSync(bytes, zopts);
      else if (coding === 'br') bytes = brotliDecompressSync(bytes, bropts);
      else if (coding === 'deflate') bytes = inflateZlibOrRaw(bytes, zopts);
      else return { error: `content-encoding ${coding} is not decoded by egresskit` };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: e.code === 'ERR_BUFFER_TOO_LARGE' ? `decoded content is larger than ${limit} bytes` : `${codings.join(', ')}: ${e.message}` };
  }
  budget.left -= bytes.length;
  return { bytes };
}

/** "deflate" means zlib-wrapped (RFC 9110 section 8.4.1.2), but some servers send raw deflate. */
function inflateZlibOrRaw(bytes: Buffer, opts: object): Buffer {
  try {
    return inflateSync(bytes, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
    return inflateRawSync(bytes, opts);
  }
}

interface Text {
  text: string;
  base64: boolean;
  comments: string[];
  /** Decoded length when the whole body was captured and decoded. */
  decodedSize?: number;
}

/** The body as HAR text: decoded (Content-Encoding), then UTF-8 or else base64. */
function bodyText(body: CapturedBody, contentEncoding: string | undefined, budget: DecodeBudget): Text {
  const decoded = decode(body, contentEncoding, budget);
  const comments: string[] = [];
  let bytes = body.captured;
  let decodedSize: number | undefined;
  if (decoded && 'bytes' in decoded) {
    bytes = decoded.bytes;
    if (!body.truncated) decodedSize = bytes.length;
  } else if (decoded) comments.push(`not decoded (${decoded.error}): text is the body as sent`);
  if (body.truncated) comments.push(truncationComment(body) + (decoded && 'bytes' in decoded ? '; text is the decoded prefix' : ''));
  const text = bodyAsUtf8({ size: bytes.length, captured: bytes, truncated: body.truncated });
  const out: Text = text !== null ? { text, base64: false, comments } : { text: bytes.toString('base64'), base64: true, comments };
  if (decodedSize !== undefined) out.decodedSize = decodedSize;
  return out;
}

function content(body: CapturedBody, mimeType: string, contentEncoding: string | undefined, budget: DecodeBudget): HarContent {
  const out: HarContent = { size: body.size, mimeType };
  if (body.captured.length === 0) {
    if (body.truncated) out.comment = truncationComment(body);
    return out;
  }
  const t = bodyText(body, contentEncoding, budget);
  if (t.decodedSize !== undefined) {
    out.size = t.decodedSize;
    out.compression = t.decodedSize - body.size;
  }
  out.text = t.text;
  if (t.base64) out.encoding = 'base64';
  if (t.comments.length > 0) out.comment = t.comments.join('; ');
  return out;
}

function postData(body: CapturedBody, mimeType: string, contentEncoding: string | undefined, budget: DecodeBudget): HarPostData {
  const t = bodyText(body, contentEncoding, budget);
  const out: HarPostData = { mimeType, text: t.text };
  if (t.base64) out._encoding = 'base64';
  if (t.comments.length > 0) out.comment = t.comments.join('; ');
  return out;
}

function nameValues(headers: HeaderList): HarNameValue[] {
  return headers.map(([name, value]) => ({ name, value }));
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
