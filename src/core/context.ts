import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Agent } from 'undici';
import type { Config } from '../config/schema.js';
import type { Htpasswd } from '../identity/htpasswd.js';
import type { CompiledPolicy } from '../policy/compile.js';
import type { SelfAddresses } from '../policy/decide.js';
import type { Decision } from '../policy/types.js';
import type { NoProxyEntry } from '../upstream/no-proxy.js';
import type { ParentProxy } from '../upstream/parent-proxy.js';
import type { Destination } from './destination.js';
import type { ProxyRecord } from './record.js';

/** Everything a connection handler needs, built once per proxy instance. */
export interface ProxyContext {
  instance: string;
  config: Config;
  policy: CompiledPolicy;
  htpasswd: Htpasswd | undefined;
  parent: ParentProxy | undefined;
  noProxy: NoProxyEntry[];
  self: SelfAddresses;
  /** Pooled upstream connections for absolute-URI forwarding, keyed by dialed address. */
  agent: Agent;
  state: ProxyState;
  /** Inspect mode: observes each HTTP exchange (plain and intercepted). Absent in forward/mtls. */
  capture?: CaptureHook | undefined;
  /** Inspect mode: the alternative hand-off to runTunnel for CONNECT. Absent in forward/mtls. */
  intercept?: InterceptHandOff | undefined;
}

export interface ProxyState {
  draining: boolean;
  /** Open client connections, for the connection limit. */
  connections: number;
  /** Live tunnels, so a drain can wait for them and then end them. */
  tunnels: Set<{ destroy(): void }>;
}

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
  fail(code: string, message: string): void;
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

/** A CONNECT that policy allowed, dialed and answered with 200. */
export interface HandOff {
  client: Duplex;
  upstream: Socket;
  head: Buffer;
  record: ProxyRecord;
  dest: Destination;
  /** Opens another connection to the same, already-decided address (after an upstream close). */
  redial(): Promise<Socket>;
}

export interface InterceptHandOff {
  /** False for passthrough hosts (flags or a rule's `inspect: passthrough`): those are tunnelled. */
  wants(dest: Destination, decision: Decision | undefined): boolean;
  run(ctx: ProxyContext, h: HandOff): Promise<void>;
}
