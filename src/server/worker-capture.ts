import { headerValue } from '../flows/flow.js';
import { captureWebSocket } from '../inspect/ws-capture.js';
import type { CaptureHook, ExchangeCapture } from '../model/exchange.js';
import type { ProxyRecord } from '../model/record.js';
import type { Batcher } from './worker-bridge.js';
import type { Chunk } from './worker-protocol.js';

/**
 * Inspect in a worker: the capture hook sends each exchange's events to the primary, whose flow
 * store turns them into flows as in one process. Bodies stay bounded as there: past `capBytes`
 * a chunk travels as its length only (the store counts it without keeping it), and WebSocket
 * messages share the same cap per connection. WebSocket frames are parsed here, next to the
 * sockets; only the messages cross.
 */
export function ipcCaptureHook(batch: Batcher, rids: WeakMap<ProxyRecord, number>, capBytes: number): CaptureHook {
  let exchanges = 0;
  let records = 0;
  return (start) => {
    const xid = ++exchanges;
    let rid = rids.get(start.record);
    if (rid === undefined) rids.set(start.record, (rid = ++records));
    const tlsNow = () => start.tls?.();
    batch.push([
      'xs',
      xid,
      rid,
      start.record,
      {
        scheme: start.scheme,
        host: start.host,
        port: start.port,
        target: start.target,
        httpVersion: start.httpVersion,
        headers: start.headers,
        intercepted: start.intercepted,
        tls: tlsNow(),
        hasTls: start.tls !== undefined,
      },
    ]);
    let requestBytes = 0;
    let responseBytes = 0;
    let wsBytes = 0;
    let websocket = false;
    const bounded = (chunk: Buffer, sent: number): Chunk => (sent < capBytes ? chunk : chunk.length);
    const capture: ExchangeCapture = {
      requestData(chunk) {
        batch.push(['xq', xid, bounded(chunk, requestBytes)]);
        requestBytes += chunk.length;
      },
      requestEnd: () => batch.push(['xqe', xid]),
      responseStart(status, statusText, headers) {
        websocket = status === 101 && headerValue(headers, 'upgrade')?.toLowerCase() === 'websocket';
        batch.push(['xr', xid, status, statusText, headers, tlsNow()]);
      },
      responseData(chunk) {
        batch.push(['xd', xid, bounded(chunk, responseBytes)]);
        responseBytes += chunk.length;
      },
      responseEnd: (trailers) => batch.push(['xe', xid, trailers, start.record.phases]),
      fail: (code, message) => batch.push(['xf', xid, code, message, tlsNow(), start.record.phases]),
      upgraded(u) {
        if (!websocket) return;
        const deflate = /permessage-deflate/i.test(headerValue(u.headers, 'sec-websocket-extensions') ?? '');
        captureWebSocket(capture, deflate, u.client, u.upstream, u.clientHead, u.upstreamHead);
      },
      webSocketMessage(direction, opcode, data) {
        const room = Math.max(0, capBytes - wsBytes);
        const kept = data.length > room ? data.subarray(0, room) : data;
        wsBytes += kept.length;
        batch.push(['xw', xid, direction, opcode, kept]);
      },
      webSocketNote: (note) => batch.push(['xn', xid, note]),
    };
    return capture;
  };
}
