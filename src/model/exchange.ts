import type { Duplex } from 'node:stream';
import type { ErrorCode } from './error-table.js';
import type { ProxyRecord } from './record.js';

export type HeaderPairs = Array<[name: string, value: string]>;

/** What is known when an exchange starts; the capture hook turns it into a flow. */
export interface ExchangeStart {
  record: ProxyRecord;
  scheme: 'http' | 'https';
  host: string;
  port: number;
  /** Absolute URI for plain HTTP, origin-form ("/path?q") inside an intercepted tunnel. */
  target: string;
  httpVersion: string;
  /** The client's header fields as sent. */
  headers: HeaderPairs;
  intercepted: boolean;
  /** TLS facts of the tunnel, read when the response starts (the upstream handshake is lazy). */
  tls?: () => Record<string, unknown>;
}

/** Receives an exchange's events; bodies arrive chunk by chunk and must never be held whole. */
export interface ExchangeCapture {
  requestData(chunk: Buffer): void;
  requestEnd(): void;
  responseStart(status: number, statusText: string, headers: HeaderPairs): void;
  responseData(chunk: Buffer): void;
  responseEnd(trailers: HeaderPairs): void;
  fail(code: ErrorCode, message: string): void;
  /** After a 101: the two sides of the upgraded connection, to look on (never to consume). */
  upgraded?(u: UpgradedStreams): void;
  /** After a 101 to WebSocket: one call per message (fragments joined), until responseEnd. */
  webSocketMessage?(direction: 'send' | 'receive', opcode: number, data: Buffer): void;
  /** The close handshake, or why frames could no longer be parsed (they are still relayed). */
  webSocketNote?(note: { closeCode?: number; closeReason?: string; captureError?: string }): void;
}

export interface UpgradedStreams {
  client: Duplex;
  upstream: Duplex;
  /** Bytes that came after the request head (client) and after the 101 head (upstream). */
  clientHead: Buffer;
  upstreamHead: Buffer;
  /** The 101 response's fields. */
  headers: HeaderPairs;
}

export type CaptureHook = (start: ExchangeStart) => ExchangeCapture;
