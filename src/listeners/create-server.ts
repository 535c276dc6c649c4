import { createServer as createHttpServer, type Server as HttpServer, type ServerOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import { checkEvery } from './plain-front.js';

/** How the proxy port accepts connections; the pipeline behind it is the same for all. */
export type ListenerSpec =
  | { kind: 'plain' }
  | {
      kind: 'tls';
      secure: SecureContextOptions;
      /** Demand a client certificate that chains to `secure.ca` (mTLS). */
      requireClientCert: boolean;
    };

export interface HttpLimits {
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export function createProxyServer(spec: ListenerSpec, limits: HttpLimits): HttpServer | HttpsServer {
  const options: ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    // Bodies may legitimately stream for hours (uploads, tunnels); idleness is what we time out.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeoutMs,
    // Node checks header deadlines on this tick; keep it a fraction of the timeout.
    connectionsCheckingInterval: checkEvery(limits.headersTimeoutMs),
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    insecureHTTPParser: false,
    // The request target names the destination; HTTP/1.0 clients send CONNECT without Host.
    requireHostHeader: false,
    noDelay: true,
  };
  if (spec.kind === 'plain') return createHttpServer(options);
  return createHttpsServer({
    ...options,
    ...spec.secure,
    minVersion: 'TLSv1.2',
    requestCert: spec.requireClientCert,
    handshakeTimeout: limits.headersTimeoutMs,
    rejectUnauthorized: spec.requireClientCert,
  });
}
