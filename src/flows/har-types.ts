import type { Flow, WebSocketMessage } from './flow.js';

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
