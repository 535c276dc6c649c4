import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { constants, deflateRawSync } from 'node:zlib';
import type { ExchangeCapture } from '../../../src/model/exchange.js';
import { captureWebSocket } from '../../../src/inspect/ws-capture.js';

/** A masked client text frame (RFC 6455 5.2), permessage-deflate compressed (RFC 7692 7.2.1). */
function compressedClientFrame(text: string): Buffer {
  const payload = deflateRawSync(Buffer.from(text), { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, -4);
  const mask = Buffer.from([9, 8, 7, 6]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  const len = payload.length;
  const header = len < 126 ? Buffer.from([0xc1, 0x80 | len]) : Buffer.from([0xc1, 0x80 | 126, len >> 8, len & 0xff]);
  return Buffer.concat([header, mask, masked]);
}

function recorder(): ExchangeCapture & { messages: Array<[string, number, string]>; notes: unknown[] } {
  const messages: Array<[string, number, string]> = [];
  const notes: unknown[] = [];
  const noop = () => undefined;
  return {
    messages,
    notes,
    requestData: noop,
    requestEnd: noop,
    responseStart: noop,
    responseData: noop,
    responseEnd: noop,
    fail: noop,
    webSocketMessage: (direction, opcode, data) => messages.push([direction, opcode, data.toString()]),
    webSocketNote: (note) => notes.push(note),
  };
}

describe('WebSocket capture beside the relay', () => {
  it('a connection that closes while a compressed message is still being inflated: the message is captured, nothing throws', async () => {
    const capture = recorder();
    const client = new PassThrough();
    const upstream = new PassThrough();
    captureWebSocket(capture, true, client, upstream, Buffer.alloc(0), Buffer.alloc(0));
    client.write(compressedClientFrame('x'.repeat(50_000)));
    // Before the inflate finishes: releasing zlib here used to throw inside ws's flush callback.
    client.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(capture.messages.map(([d, o, t]) => [d, o, t.length]), [['send', 1, 50_000]]);
  });

  it('frames it cannot parse stop the capture with a note; the bytes are not touched', async () => {
    const capture = recorder();
    const client = new PassThrough();
    const upstream = new PassThrough();
    captureWebSocket(capture, false, client, upstream, Buffer.alloc(0), Buffer.alloc(0));
    const garbage = Buffer.from([0x83, 0x01, 0x00]); // reserved opcode 3
    const copy = Buffer.from(garbage);
    upstream.write(garbage);
    await new Promise((r) => setTimeout(r, 20));
    assert.match(JSON.stringify(capture.notes), /server frames could not be parsed/);
    assert.deepEqual(garbage, copy);
    upstream.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(capture.messages, []);
  });
});
