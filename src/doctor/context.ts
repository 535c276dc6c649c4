import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { HttpHead } from './http-head.js';

export type Status = 'ok' | 'warn' | 'fail' | 'skip';
/** What kind of failure ended the run; each has its own exit code (EXIT_CODES). */
export type FailureKind = 'proxy-unreachable' | 'refused' | 'trust' | 'target';

export const EXIT_CODES: Record<FailureKind | 'ok', number> = {
  ok: 0,
  'proxy-unreachable': 3,
  refused: 4,
  trust: 5,
  target: 6,
};

export interface Outcome {
  status: Status;
  detail: string;
  /** A line to paste: a flag, a variable, a command. */
  fix?: string;
  failure?: FailureKind;
}

export interface CheckResult extends Outcome {
  id: string;
  title: string;
  ms: number;
}

export interface DoctorOptions {
  url: URL;
  /** undefined: go direct (no proxy applies to the URL). */
  proxy: URL | undefined;
  cacert?: string;
  proxyCacert?: string;
  proxyCert?: string;
  proxyKey?: string;
  /** user:password, from --proxy-user or the proxy URL. */
  proxyUser?: string;
  timeoutMs: number;
}

export interface EgresskitFacts {
  /** How it was recognised: the Proxy-Status name, a Via header, the issuer of an interception CA. */
  seenBy?: string;
  rule?: string;
  reason?: string;
  hint?: string;
}

/** State handed from hop to hop: each check reads what the ones before it left. */
export interface DoctorContext {
  opts: DoctorOptions;
  /** The host and port dialled: the proxy's, or the target's when going direct. */
  hop: { host: string; port: number };
  addresses: string[];
  tcp?: Socket;
  /** The byte stream to the proxy: the TCP socket, or TLS over it for an https:// proxy. */
  proxyStream?: Duplex;
  /** The proxy's answer to CONNECT or to the forwarded request. */
  proxyAnswer?: HttpHead;
  /** The stream to the target: the CONNECT tunnel, or the TCP socket when going direct. */
  tunnel?: Duplex;
  targetTls?: TLSSocket;
  interception?: { issuer: string; egresskit: boolean };
  egresskit: EgresskitFacts;
  response?: { status: number; protocol: string };
}

export interface Check {
  id: string;
  title: (ctx: DoctorContext) => string;
  run: (ctx: DoctorContext) => Promise<Outcome>;
}
