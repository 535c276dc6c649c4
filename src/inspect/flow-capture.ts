import type { CaptureHook, ExchangeCapture, ExchangeStart } from '../model/exchange.js';
import type { ProxyRecord } from '../model/record.js';
import { BodyCapture, emptyBody, headerValue, newFlowId, type Flow, type FlowTls } from '../flows/flow.js';
import { flowDecision, flowPhases } from '../flows/flow-decision.js';
import type { FlowStore } from '../flows/flow-store.js';
import { captureWebSocket } from './ws-capture.js';

/** Messages kept per WebSocket flow; later ones are only counted (a chat can run for days). */
const MAX_WS_MESSAGES = 1000;

/**
 * The capture hook of inspect mode: every exchange (plain HTTP and intercepted) becomes a Flow
 * in the store. Bodies are pushed chunk by chunk into a BodyCapture that keeps at most
 * `capBytes`; the store sees the flow when it starts and again when it ends.
 */
export function flowCaptureHook(store: FlowStore, capBytes: number, captured?: WeakSet<ProxyRecord>): CaptureHook {
  return (start: ExchangeStart): ExchangeCapture => {
    // Its record then needs no flow of its own (record-flows.ts).
    captured?.add(start.record);
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
    const decision = flowDecision(start.record.decision);
    if (decision) flow.decision = decision;
    store.add(flow);
    let finished = false;
    let wsCapturedBytes = 0;
    const finish = (state: Flow['state']) => {
      if (finished) return;
      finished = true;
      flow.request.body = requestBody.result();
      if (flow.response && responseBody) flow.response.body = responseBody.result();
      flow.timings.endMs = performance.now();
      const phases = flowPhases(start.record.phases);
      if (phases) flow.phases = phases;
      flow.state = state;
      store.update(flow);
    };
    const capture: ExchangeCapture = {
      requestData: (chunk) => requestBody.push(chunk),
      requestEnd: () => {
        flow.timings.requestEndMs ??= performance.now();
      },
      responseStart(status, statusText, headers) {
        responseBody = new BodyCapture(capBytes);
        flow.timings.responseStartMs = performance.now();
        if (start.tls) flow.tls = start.tls() as FlowTls;
        flow.response = { status, statusText, httpVersion: start.httpVersion, headers, body: emptyBody() };
        if (status === 101 && headerValue(headers, 'upgrade')?.toLowerCase() === 'websocket') {
          // An upgraded connection may stay open for hours: show it (and its messages) as it goes.
          flow.websocket = { messages: [], droppedMessages: 0 };
          store.update(flow);
        }
      },
      responseData: (chunk) => responseBody?.push(chunk),
      responseEnd(trailers) {
        if (flow.response && trailers.length > 0) flow.response.trailers = trailers;
        finish('complete');
      },
      upgraded(u) {
        if (!flow.websocket) return;
        const deflate = /permessage-deflate/i.test(headerValue(u.headers, 'sec-websocket-extensions') ?? '');
        captureWebSocket(capture, deflate, u.client, u.upstream, u.clientHead, u.upstreamHead);
      },
      webSocketMessage(direction, opcode, data) {
        const ws = flow.websocket;
        if (!ws) return;
        if (ws.messages.length >= MAX_WS_MESSAGES) {
          ws.droppedMessages++;
          return;
        }
        // The body cap applies to the connection's messages together: a long-lived socket must
        // not grow without bound (even after the store has evicted its flow).
        const body = new BodyCapture(Math.max(0, capBytes - wsCapturedBytes));
        body.push(data);
        const result = body.result();
        wsCapturedBytes += result.captured.length;
        ws.messages.push({ direction, opcode, at: Date.now(), data: result });
        store.update(flow);
      },
      webSocketNote(note) {
        const ws = flow.websocket;
        if (!ws) return;
        if (note.closeCode !== undefined && ws.closeCode === undefined) {
          ws.closeCode = note.closeCode;
          ws.closeReason = note.closeReason ?? '';
        }
        if (note.captureError !== undefined) ws.captureError ??= note.captureError;
        store.update(flow);
      },
      fail(code, message) {
        flow.error = { code, message };
        if (start.tls) flow.tls = start.tls() as FlowTls;
        finish('error');
      },
    };
    return capture;
  };
}
