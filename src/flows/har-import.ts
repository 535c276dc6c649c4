// A namespace import lets the bundle drop what is not used (zod's locales, JSON-schema import: ~570 KiB).
import * as z from 'zod';
import { newFlowId, type CapturedBody, type Flow, type HeaderList, type WebSocketMessage } from './flow.js';

// Only what a flow needs is required; everything else a HAR writer adds (Chrome's, Firefox's,
// HTTP Toolkit's, egresskit's own) is let through and ignored.
const NameValue = z.looseObject({ name: z.string(), value: z.string() });
const Entry = z.looseObject({
  startedDateTime: z.string(),
  time: z.number().optional(),
  request: z.looseObject({
    method: z.string().min(1),
    url: z.string().min(1),
    httpVersion: z.string().optional(),
    headers: z.array(NameValue).default([]),
    bodySize: z.number().optional(),
    postData: z.looseObject({ text: z.string().optional(), _encoding: z.string().optional(), encoding: z.string().optional() }).optional(),
  }),
  response: z
    .looseObject({
      status: z.number().int(),
      statusText: z.string().optional(),
      httpVersion: z.string().optional(),
      headers: z.array(NameValue).default([]),
      bodySize: z.number().optional(),
      content: z.looseObject({ size: z.number().optional(), text: z.string().optional(), encoding: z.string().optional(), comment: z.string().optional() }).optional(),
    })
    .optional(),
  timings: z.looseObject({ dns: z.number().optional(), connect: z.number().optional(), ssl: z.number().optional(), send: z.number().optional(), wait: z.number().optional() }).optional(),
  _webSocketMessages: z.array(z.looseObject({ type: z.enum(['send', 'receive']), time: z.number(), opcode: z.number(), data: z.string() })).optional(),
  _egresskit: z
    .looseObject({
      client: z.string().optional(),
      identity: z.string().nullable().optional(),
      requestTruncated: z.boolean().optional(),
      responseTruncated: z.boolean().optional(),
      error: z.object({ code: z.string(), message: z.string() }).nullable().optional(),
    })
    .optional(),
});
const HarFile = z.looseObject({ log: z.looseObject({ entries: z.array(Entry) }) });
type HarEntryIn = z.output<typeof Entry>;

export type HarImport = { flows: Flow[] } | { error: string };

/** Flows from a HAR file (any writer), marked imported, oldest first; or what is wrong with it. */
export function flowsFromHar(text: string): HarImport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { error: `not a HAR file: the body is not JSON (${(err as Error).message})` };
  }
  const parsed = HarFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    return { error: `not a HAR file: ${where || 'the document'}: ${issue.message}` };
  }
  const flows: Flow[] = [];
  for (const [i, entry] of parsed.data.log.entries.entries()) {
    const flow = entryFlow(entry);
    if (typeof flow === 'string') return { error: `log.entries[${i}]: ${flow}` };
    flows.push(flow);
  }
  flows.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  return { flows };
}

/** The port a CONNECT named: URL drops it when it is the scheme's default, so it is read from the text. */
function tunnelPort(text: string, url: URL): number {
  const m = /:(\d+)\/?$/.exec(text);
  return m ? Number(m[1]) : url.protocol === 'https:' ? 443 : 80;
}

function entryFlow(e: HarEntryIn): Flow | string {
  let url: URL;
  // A CONNECT is a tunnel: egresskit exports it as scheme://host:port/ (older exports, and
  // other tools, wrote the bare authority host:port).
  const tunnel = e.request.method.toUpperCase() === 'CONNECT';
  const authority = tunnel && /^(\[[0-9a-f:.]+\]|[^/:[\]]+):\d+$/i.test(e.request.url);
  try {
    url = new URL(authority ? `https://${e.request.url}/` : e.request.url);
  } catch {
    return `request.url ${JSON.stringify(e.request.url.slice(0, 200))} is not an absolute URL`;
  }
  const ws = url.protocol === 'ws:' || url.protocol === 'wss:';
  const scheme = url.protocol === 'https:' || url.protocol === 'wss:' ? 'https' : url.protocol === 'http:' || url.protocol === 'ws:' ? 'http' : undefined;
  if (!scheme) return `request.url ${JSON.stringify(url.protocol)} is not http, https, ws or wss`;
  const started = Number.isNaN(Date.parse(e.startedDateTime)) ? new Date(0).toISOString() : new Date(e.startedDateTime).toISOString();
  const x = e._egresskit;
  const t = e.timings;
  const send = positive(t?.send) ?? 0;
  const wait = positive(t?.wait) ?? 0;
  const flow: Flow = {
    id: newFlowId(),
    imported: true,
    startedAt: started,
    client: x?.client ?? 'imported',
    identity: x?.identity ?? null,
    scheme,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port),
    intercepted: scheme === 'https',
    request: {
      method: e.request.method,
      url: tunnel ? `${url.host.replace(/:\d+$/, '')}:${tunnelPort(e.request.url, url)}` : ws ? url.href.replace(/^ws/, 'http') : url.href,
      httpVersion: version(e.request.httpVersion),
      headers: headers(e.request.headers),
      body: capturedText(e.request.postData?.text, e.request.postData?._encoding ?? e.request.postData?.encoding, e.request.bodySize, x?.requestTruncated),
    },
    timings: { startMs: 0, requestEndMs: send, responseStartMs: send + wait, endMs: positive(e.time) ?? send + wait },
    state: x?.error ? 'error' : 'complete',
  };
  if (tunnel) {
    flow.kind = 'tunnel';
    flow.port = tunnelPort(e.request.url, url);
  }
  const phases = { dnsMs: positive(t?.dns), connectMs: positive(t?.connect), tlsMs: positive(t?.ssl) };
  flow.phases = Object.fromEntries(Object.entries(phases).filter(([, v]) => v !== undefined));
  if (x?.error) flow.error = x.error;
  const r = e.response;
  if (r && r.status > 0) {
    const c = r.content;
    const truncated = x?.responseTruncated === true || /\btruncated\b/.test(c?.comment ?? '');
    flow.response = {
      status: r.status,
      statusText: r.statusText ?? '',
      httpVersion: version(r.httpVersion),
      // HAR content.text is decoded: the bytes held are no longer in the Content-Encoding.
      headers: headers(r.headers).filter(([n]) => n.toLowerCase() !== 'content-encoding'),
      body: capturedText(c?.text, c?.encoding, c?.size, truncated),
    };
  }
  if (e._webSocketMessages) {
    flow.websocket = {
      messages: e._webSocketMessages.map((m): WebSocketMessage => ({
        direction: m.type,
        opcode: m.opcode,
        at: m.time * 1000,
        data: capturedText(m.data, m.opcode === 1 ? undefined : 'base64', undefined, false),
      })),
      droppedMessages: 0,
    };
  }
  return flow;
}

function headers(list: Array<{ name: string; value: string }>): HeaderList {
  // HTTP/2 HARs list pseudo-headers (":authority"); a flow keeps only real fields.
  return list.filter((h) => !h.name.startsWith(':')).map((h) => [h.name, h.value]);
}

function capturedText(text: string | undefined, encoding: string | undefined, size: number | undefined, truncated: boolean | undefined): CapturedBody {
  const captured = text === undefined ? Buffer.alloc(0) : Buffer.from(text, encoding === 'base64' ? 'base64' : 'utf8');
  // Only a capture that says it was cut keeps the larger declared size: the text may be decoded.
  const cut = truncated === true;
  return { size: cut ? Math.max(captured.length, positive(size) ?? 0) : captured.length, captured, truncated: cut };
}

function version(v: string | undefined): string {
  if (!v) return 'HTTP/1.1';
  if (/^(h2|http\/2(\.0)?)$/i.test(v)) return 'HTTP/2';
  if (/^(h3|http\/3(\.0)?)$/i.test(v)) return 'HTTP/3';
  return v.toUpperCase().startsWith('HTTP/') ? v.toUpperCase() : `HTTP/${v}`;
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) && n >= 0 ? n : undefined;
}
