import type { CaptureHook, ExchangeCapture, ExchangeStart } from '../core/context.js';
import { BodyCapture, emptyBody, newFlowId, type Flow, type FlowTls } from './flows/flow.js';
import type { FlowStore } from './flows/flow-store.js';

/**
 * The capture hook of inspect mode: every exchange (plain HTTP and intercepted) becomes a Flow
 * in the store. Bodies are pushed chunk by chunk into a BodyCapture that keeps at most
 * `capBytes`; the store sees the flow when it starts and again when it ends.
 */
export function flowCaptureHook(store: FlowStore, capBytes: number): CaptureHook {
  return (start: ExchangeStart): ExchangeCapture => {
    const requestBody = new BodyCapture(capBytes);
    let responseBody: BodyCapture | undefined;
    const identity = start.record.identity?.principal ?? null;
    const flow: Flow = {
      id: newFlowId(),
      startedAt: new Date().toISOString(),
      client: start.record.client,
      identity,
      scheme: start.scheme,
      host: start.host,
      port: start.port,
      intercepted: start.intercepted,
      request: {
        method: start.record.method ?? 'GET',
        url: start.target,
        httpVersion: start.httpVersion,
        headers: start.headers,
        body: emptyBody(),
      },
      timings: { startMs: performance.now() },
      state: 'open',
    };
    if (start.tls) flow.tls = start.tls() as FlowTls;
    store.add(flow);
    let finished = false;
    const finish = (state: Flow['state']) => {
      if (finished) return;
      finished = true;
      flow.request.body = requestBody.result();
      if (flow.response && responseBody) flow.response.body = responseBody.result();
      flow.timings.endMs = performance.now();
      flow.state = state;
      store.update(flow);
    };
    return {
      requestData: (chunk) => requestBody.push(chunk),
      requestEnd: () => {
        flow.timings.requestEndMs ??= performance.now();
      },
      responseStart(status, statusText, headers) {
        responseBody = new BodyCapture(capBytes);
        flow.timings.responseStartMs = performance.now();
        if (start.tls) flow.tls = start.tls() as FlowTls;
        flow.response = { status, statusText, httpVersion: 'HTTP/1.1', headers, body: emptyBody() };
      },
      responseData: (chunk) => responseBody?.push(chunk),
      responseEnd(trailers) {
        if (flow.response && trailers.length > 0) flow.response.trailers = trailers;
        finish('complete');
      },
      fail(code, message) {
        flow.error = { code, message };
        if (start.tls) flow.tls = start.tls() as FlowTls;
        finish('error');
      },
    };
  };
}
