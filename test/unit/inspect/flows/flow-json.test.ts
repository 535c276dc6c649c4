// The UI's JSON shapes of a flow (src/ui/flow-json.ts), tested beside the flow fixtures they use.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flowDetail, flowSummary } from '../../../../src/ui/flow-json.js';
import { body, makeFlow, makeWebSocketFlow, wsMessage } from './make-flow.js';

describe('flowSummary', () => {
  test('an HTTP flow has no websocket', () => {
    const s = flowSummary(makeFlow());
    assert.equal(s.websocket, null);
    assert.equal(s.status, 200);
  });

  test('a WebSocket flow counts every message seen, kept or dropped, and carries no data', () => {
    const f = makeWebSocketFlow(undefined, { droppedMessages: 4 });
    f.state = 'open';
    const s = flowSummary(f);
    assert.deepEqual(s.websocket, { messages: 7, closed: false });
    assert.equal(s.status, 101);
    assert.doesNotMatch(JSON.stringify(s), /hello/);
    f.state = 'complete';
    assert.deepEqual(flowSummary(f).websocket, { messages: 7, closed: true });
  });
});

describe('flowDetail', () => {
  test('WebSocket messages as base64 plus a UTF-8 preview, with close and capture facts', () => {
    const f = makeWebSocketFlow(
      [
        wsMessage('send', 1, '<script>alert(1)</script>', 1),
        wsMessage('receive', 2, Buffer.from([0x00, 0xff]), 2),
        wsMessage('receive', 1, body('abcdefghij', 4), 3),
      ],
      { droppedMessages: 2, captureError: 'reserved bits set' },
    );
    const d = flowDetail(f);
    assert.ok(d.websocket);
    assert.deepEqual(d.websocket.messages[0], {
      direction: 'send',
      opcode: 1,
      at: f.websocket!.messages[0]!.at,
      data: { size: 25, capturedSize: 25, truncated: false, base64: Buffer.from('<script>alert(1)</script>').toString('base64'), utf8: '<script>alert(1)</script>' },
    });
    assert.deepEqual(d.websocket.messages[1]?.data, { size: 2, capturedSize: 2, truncated: false, base64: 'AP8=', utf8: null });
    assert.deepEqual(d.websocket.messages[2]?.data, { size: 10, capturedSize: 4, truncated: true, base64: 'YWJjZA==', utf8: 'abcd' });
    assert.deepEqual(
      [d.websocket.droppedMessages, d.websocket.closeCode, d.websocket.closeReason, d.websocket.captureError],
      [2, 1000, 'bye', 'reserved bits set'],
    );
    // JSON-safe: what the API serves parses back to the same thing.
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
  });

  test('HTTP/2 flows keep their version on both messages; HTTP flows have websocket null', () => {
    const d = flowDetail(makeFlow({ httpVersion: 'HTTP/2' }));
    assert.deepEqual([d.request.httpVersion, d.response?.httpVersion], ['HTTP/2', 'HTTP/2']);
    assert.equal(d.websocket, null);
    assert.equal(d.request.body.utf8, '');
  });

  test('close code and reason are null when the socket has not closed', () => {
    const f = makeWebSocketFlow([], { closeCode: undefined, closeReason: undefined });
    const d = flowDetail(f);
    assert.deepEqual(d.websocket, { messages: [], droppedMessages: 0, closeCode: null, closeReason: null, captureError: null });
  });
});
