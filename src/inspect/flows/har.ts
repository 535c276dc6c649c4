import { VERSION } from '../../version.js';
import { bodyAsUtf8, flowUrl, headerValue, type CapturedBody, type Flow, type HeaderList } from './flow.js';

// HAR 1.2: http://www.softwareishard.com/blog/har-12-spec/ (the W3C draft mirrors it).
// Fields we add that the spec lacks start with "_", as the spec asks for custom fields.

export interface HarCreator {
  name: string;
  version: string;
}

export interface HarNameValue {
  name: string;
  value: string;
}

export interface HarContent {
  size: number;
  mimeType: string;
  text?: string;
  encoding?: 'base64';
  comment?: string;
}

export interface HarPostData {
  mimeType: string;
  text: string;
  /** Not in HAR 1.2 for postData (only for content); set for bodies that are not UTF-8. */
  encoding?: 'base64';
  comment?: string;
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
  _egresskit: {
    id: string;
    state: Flow['state'];
    client: string;
    identity: string | null;
    intercepted: boolean;
    requestTruncated: boolean;
    responseTruncated: boolean;
    error: Flow['error'] | null;
    tls: Flow['tls'] | null;
    trailers?: HarNameValue[];
  };
}

export interface Har {
  log: { version: '1.2'; creator: HarCreator; entries: HarEntry[] };
}


/** HAR 1.2 for the flows, in the order given (pass them oldest first). */
export function toHar(flows: Flow[], creator: HarCreator = { name: 'egresskit', version: VERSION }): Har {
  return { log: { version: '1.2', creator: { name: creator.name, version: creator.version }, entries: flows.map(toEntry) } };
}

function toEntry(flow: Flow): HarEntry {
  const { request: req, response: res } = flow;
  const t = flow.timings;
  const send = span(t.startMs, t.requestEndMs);
  const wait = span(t.requestEndMs, t.responseStartMs);
  const receive = span(t.responseStartMs, t.endMs);
  const url = flowUrl(flow);
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
          content: content(res.body, headerValue(res.headers, 'content-type') ?? ''),
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
  if (req.body.size > 0 || req.body.captured.length > 0) entry.request.postData = postData(req.body, headerValue(req.headers, 'content-type') ?? '');
  if (res?.trailers && res.trailers.length > 0) entry._egresskit.trailers = nameValues(res.trailers);
  return entry;
}

function truncationComment(body: CapturedBody): string {
  return `truncated: ${body.captured.length} of ${body.size} bytes captured`;
}

function content(body: CapturedBody, mimeType: string): HarContent {
  const out: HarContent = { size: body.size, mimeType };
  if (body.captured.length > 0) {
    const text = bodyAsUtf8(body);
    if (text !== null) out.text = text;
    else {
      out.text = body.captured.toString('base64');
      out.encoding = 'base64';
    }
  }
  if (body.truncated) out.comment = truncationComment(body);
  return out;
}

function postData(body: CapturedBody, mimeType: string): HarPostData {
  const text = bodyAsUtf8(body);
  const out: HarPostData =
    text !== null ? { mimeType, text } : { mimeType, text: body.captured.toString('base64'), encoding: 'base64' };
  if (body.truncated) out.comment = truncationComment(body);
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
