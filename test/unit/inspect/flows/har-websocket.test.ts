import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toHar } from '../../../../src/flows/har.js';
import { harErrors } from './har-validate.js';
import { at, body, makeWebSocketFlow, wsMessage } from './make-flow.js';

describe('HAR export of WebSocket flows, as Chrome DevTools writes them', () => {
  test('entry: wss URL, 101, _resourceType and _webSocketMessages', () => {
    const f = makeWebSocketFlow();
    const har = toHar([f]);
    assert.deepEqual(harErrors(har), []);
    const [e] = har.log.entries;
    assert.ok(e);
    assert.equal(e.request.url, 'wss://chat.example/socket?room=1');
    assert.equal(e._egresskit.requestTarget, undefined);
    assert.deepEqual([e.response.status, e.response.statusText], [101, 'Switching Protocols']);
    assert.equal(e._resourceType, 'websocket');
    assert.deepEqual(e._webSocketMessages, [
      { type: 'send', time: at(10) / 1000, opcode: 1, data: 'hello' },
      { type: 'receive', time: at(20.5) / 1000, opcode: 2, data: Buffer.from([0x00, 0xff, 0x10]).toString('base64') },
      { type: 'receive', time: at(30) / 1000, opcode: 8, data: Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]).toString('base64') },
    ]);
    // Seconds since the epoch with a fraction: Chrome's unit for these times.
    assert.equal(e._webSocketMessages?.[1]?.time, 1767323045.6985);
    assert.deepEqual(e._egresskit.websocket, { droppedMessages: 0, closeCode: 1000, closeReason: 'bye', captureError: null });
  });

  test('plain ws://, dropped messages, capture errors, truncated and non-UTF-8 text messages', () => {
    const f = makeWebSocketFlow(
      [
        wsMessage('send', 1, body('é'.repeat(50), 11), 1), // cut inside a two-byte character
        wsMessage('receive', 1, Buffer.from([0xc3, 0x28]), 2), // not UTF-8: a broken peer
        wsMessage('receive', 9, '', 3),
        wsMessage('send', 10, 'pong', 4),
      ],
      { droppedMessages: 7, captureError: 'invalid frame header', closeCode: undefined, closeReason: undefined },
    );
    f.scheme = 'http';
    f.port = 80;
    f.intercepted = false;
    delete f.tls;
    const har = toHar([f]);
    assert.deepEqual(harErrors(har), []);
    const [e] = har.log.entries;
    assert.equal(e?.request.url, 'ws://chat.example/socket?room=1');
    const [cut, broken, ping, pong] = e?._webSocketMessages ?? [];
    assert.deepEqual(cut, { type: 'send', time: at(1) / 1000, opcode: 1, data: 'é'.repeat(5), _size: 100, _truncated: true });
    assert.deepEqual(broken, { type: 'receive', time: at(2) / 1000, opcode: 1, data: 'wyg=', _encoding: 'base64' });
    assert.deepEqual([ping?.opcode, ping?.data, pong?.opcode, pong?.data], [9, '', 10, Buffer.from('pong').toString('base64')]);
    assert.deepEqual(e?._egresskit.websocket, { droppedMessages: 7, closeCode: null, closeReason: null, captureError: 'invalid frame header' });
  });

  test('flows without websocket have neither field', () => {
    const f = makeWebSocketFlow();
    delete f.websocket;
    const [e] = toHar([f]).log.entries;
    assert.equal(e?.request.url, 'https://chat.example/socket?room=1');
    assert.equal('_resourceType' in (e ?? {}), false);
    assert.equal('_webSocketMessages' in (e ?? {}), false);
  });
});
