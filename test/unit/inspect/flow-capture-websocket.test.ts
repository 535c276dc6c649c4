import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRecord } from '../../../src/model/record.js';
import { flowCaptureHook } from '../../../src/inspect/flow-capture.js';
import { FlowStore } from '../../../src/flows/flow-store.js';

function upgradedCapture(capBytes: number) {
  const store = new FlowStore();
  const record = newRecord('t', 'upgrade', '127.0.0.1:1');
  record.method = 'GET';
  const capture = flowCaptureHook(store, capBytes)({
    record,
    scheme: 'https',
    host: 'chat.example',
    port: 443,
    target: '/socket',
    httpVersion: 'HTTP/1.1',
    headers: [['upgrade', 'websocket']],
    intercepted: true,
  });
  capture.requestEnd();
  capture.responseStart(101, 'Switching Protocols', [['Upgrade', 'websocket']]);
  return { store, capture, flow: () => store.list()[0]! };
}

describe('flow capture: WebSocket messages', () => {
  it('the body cap bounds the captured bytes of all messages together; sizes stay exact', () => {
    const { capture, flow } = upgradedCapture(10);
    capture.webSocketMessage!('send', 1, Buffer.from('abcdef'));
    capture.webSocketMessage!('receive', 1, Buffer.from('ghijkl'));
    capture.webSocketMessage!('send', 2, Buffer.from('mnop'));
    const m = flow().websocket!.messages;
    assert.deepEqual(
      m.map((x) => [x.direction, x.opcode, x.data.size, x.data.captured.toString(), x.data.truncated]),
      [
        ['send', 1, 6, 'abcdef', false],
        ['receive', 1, 6, 'ghij', true],
        ['send', 2, 4, '', true],
      ],
    );
  });

  it('keeps 1000 messages and counts the rest; the close and a capture error are noted once', () => {
    const { capture, flow } = upgradedCapture(1024);
    for (let i = 0; i < 1005; i++) capture.webSocketMessage!('send', 1, Buffer.from('x'));
    capture.webSocketNote!({ closeCode: 1000, closeReason: 'bye' });
    capture.webSocketNote!({ closeCode: 1001, closeReason: 'second close is the echo' });
    capture.webSocketNote!({ captureError: 'first' });
    capture.webSocketNote!({ captureError: 'second' });
    capture.responseEnd([]);
    const ws = flow().websocket!;
    assert.equal(ws.messages.length, 1000);
    assert.equal(ws.droppedMessages, 5);
    assert.deepEqual([ws.closeCode, ws.closeReason, ws.captureError], [1000, 'bye', 'first']);
    assert.equal(flow().state, 'complete');
  });

  it('a 101 to something other than WebSocket is not a WebSocket flow', () => {
    const store = new FlowStore();
    const record = newRecord('t', 'upgrade', '127.0.0.1:1');
    const capture = flowCaptureHook(store, 10)({ record, scheme: 'http', host: 'h', port: 80, target: 'http://h/', httpVersion: 'HTTP/1.1', headers: [], intercepted: false });
    capture.responseStart(101, '', [['Upgrade', 'h2c']]);
    capture.webSocketMessage!('send', 1, Buffer.from('x'));
    assert.equal(store.list()[0]!.websocket, undefined);
  });
});
