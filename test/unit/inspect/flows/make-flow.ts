import { BodyCapture, newFlowId, type CapturedBody, type Flow, type HeaderList } from '../../../../src/inspect/flows/flow.js';

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
      httpVersion: '1.1',
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
      statusText: 'OK',
      httpVersion: '1.1',
      headers: spec.responseHeaders ?? [['Content-Type', 'application/json']],
      body: spec.responseBody ?? body('{"ok":true}'),
    };
  }
  if (spec.error) {
    flow.error = spec.error;
    delete flow.timings.responseStartMs;
    delete flow.timings.endMs;
  }
  return flow;
}
