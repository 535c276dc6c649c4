import { finished, type Duplex, type Writable } from 'node:stream';
import type { ExchangeCapture } from '../model/exchange.js';
import { wsInternals, type Deflate, type FrameReceiver } from '../quirks/ws-internals.js';

/** A message larger than this is not reassembled for capture; the frames still pass untouched. */
const MAX_CAPTURED_MESSAGE = 16 * 1024 * 1024;
/** Parser input waiting on inflate beyond this means capture gives up rather than buffer more. */
const MAX_PENDING = 8 * 1024 * 1024;

const { Receiver, PerMessageDeflate } = wsInternals;

/**
 * Tees the bytes of an upgraded WebSocket connection into ws's frame parser, one per direction,
 * so messages are captured while the frames themselves are relayed byte for byte. With
 * permessage-deflate the parser inflates with the largest window, which also reads streams
 * compressed with a smaller window or without context takeover.
 */
export function captureWebSocket(
  capture: ExchangeCapture,
  deflateNegotiated: boolean,
  client: Duplex,
  upstream: Duplex,
  clientHead: Buffer,
  upstreamHead: Buffer,
): void {
  let stopped = false;
  const receivers: FrameReceiver[] = [];
  const extensions: Deflate[] = [];
  // Parsers are ended, never destroyed: an inflate still running must finish before its zlib
  // stream is released (ws reads it in the flush callback; releasing it first would throw).
  const stop = (why: string) => {
    if (stopped) return;
    stopped = true;
    capture.webSocketNote?.({ captureError: why });
    for (const r of receivers) r.end();
  };
  const parser = (direction: 'send' | 'receive'): FrameReceiver => {
    // Frames from the client are masked (RFC 6455 section 5.3): that parser plays the server.
    const isServer = direction === 'send';
    const ext: Record<string, Deflate> = {};
    if (deflateNegotiated) {
      const pmd = new PerMessageDeflate({ isServer, maxPayload: MAX_CAPTURED_MESSAGE });
      pmd.accept([{}]);
      ext['permessage-deflate'] = pmd;
      extensions.push(pmd);
    }
    const r = new Receiver({ isServer, extensions: ext, maxPayload: MAX_CAPTURED_MESSAGE, skipUTF8Validation: true });
    r.on('message', (data, isBinary) => capture.webSocketMessage?.(direction, isBinary ? 2 : 1, data));
    r.on('ping', (data) => capture.webSocketMessage?.(direction, 9, data));
    r.on('pong', (data) => capture.webSocketMessage?.(direction, 10, data));
    r.on('conclude', (code, reason) => {
      capture.webSocketMessage?.(direction, 8, reason);
      capture.webSocketNote?.({ closeCode: code, closeReason: reason.toString('utf8') });
    });
    r.on('error', (err) => stop(`${direction === 'send' ? 'client' : 'server'} frames could not be parsed: ${err.message}`));
    receivers.push(r);
    return r;
  };
  const tee = (source: Duplex, r: FrameReceiver, head: Buffer, masked: boolean) => {
    const feed = (chunk: Buffer) => {
      if (stopped) return;
      if (r.writableLength > MAX_PENDING) return stop('the capture fell behind the connection; frames still pass');
      // ws unmasks payloads in place: the parser gets a copy, the relay the bytes as sent.
      r.write(masked ? Buffer.from(chunk) : chunk);
    };
    if (head.length) feed(head);
    source.on('data', feed);
  };
  tee(client, parser('send'), clientHead, true);
  tee(upstream, parser('receive'), upstreamHead, false);
  let running = receivers.length;
  for (const r of receivers) {
    finished(r as unknown as Writable, () => {
      if (--running === 0) for (const e of extensions) e.cleanup();
    });
  }
  client.once('close', () => {
    stopped = true;
    for (const r of receivers) r.end();
  });
}
