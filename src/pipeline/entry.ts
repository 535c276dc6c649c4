import type { Destination } from '../model/destination.js';
import type { Decision } from '../model/decision.js';
import type { ProxyError } from '../model/errors.js';
import type { ExchangeCapture } from '../model/exchange.js';
import type { ClientIdentity } from '../model/identity.js';
import type { ProxyRecord } from '../model/record.js';
import type { ParentProxy } from '../upstream/parent-proxy.js';
import type { ConfigVersion } from './context.js';

/** One way to reach the destination that policy allowed: an address, or the parent proxy. */
export type Hop =
  | { via: 'direct'; ip: string; port: number; decision: Decision }
  | { via: 'parent'; parent: ParentProxy; decision: Decision };

/** Where the pipeline may dial, in order: every allowed address of the name, or the parent. */
export interface Route {
  dest: Destination;
  hops: Hop[];
}

/**
 * A way into the pipeline (CONNECT, absolute-URI HTTP, Upgrade, an exchange inside
 * interception, later a transparent listener). It says only what differs between them: how the
 * target is read, how a hop is dialled, how the client is answered and what the connection is
 * handed to. Admission, identify, decide, resolve, dial with fallback, error replies and the
 * record are the pipeline's (run.ts).
 */
export interface Entry<U> {
  readonly record: ProxyRecord;
  /** New client work is admitted (drain, connection limit); an exchange inside an admitted tunnel is not again. */
  readonly admit: boolean;
  /** Set by the adapter once it has started a flow, so that a failure reaches the flow too. */
  capture?: ExchangeCapture | undefined;
  /** Who is asking, checked against the users of `version` (the one this decision runs under). */
  identify(version: ConfigVersion): ClientIdentity | Promise<ClientIdentity>;
  /** Reads and normalises the destination (filling record.target and record.url); throws a ProxyError. */
  target(): Destination;
  /** A route decided already, by the tunnel this exchange runs in: policy is not asked again. */
  decided?(): Route;
  /** The method policy sees (CONNECT for tunnels). */
  readonly method: string;
  /** Opens the destination side over one hop; a ProxyError names what failed. */
  dial(hop: Hop, dest: Destination): Promise<U>;
  /** True when dial() found a kept-alive connection: no connect phase to time. */
  reused?(upstream: U): boolean;
  /** True when the client left while the pipeline was dialling: the upstream is then closed. */
  clientGone(): boolean;
  close(upstream: U): void;
  /** Answers the client and hands off (tunnel, relay, interception); settles when the exchange is over. */
  handOff(upstream: U, at: { dest: Destination; hop: Hop }): Promise<void>;
  /** Writes the error response (status, Proxy-Status, hint), or closes when no answer can be written. */
  reply(err: ProxyError): void;
}
