import type { Socket } from 'node:net';
import type { ProxyContext } from './context.js';
import { ProxyError } from '../model/errors.js';
import { formatHostPort } from '../model/destination.js';

/** Refuses new work while draining or over the connection limit (429 with Retry-After). */
export function admissionError(ctx: ProxyContext): ProxyError | undefined {
  if (ctx.state.draining) return new ProxyError('draining');
  if (ctx.state.connections > ctx.config.limits.maxConnections) {
    return new ProxyError('too_many_connections', `${ctx.config.limits.maxConnections} client connections are open`);
  }
  return undefined;
}

export function clientAddress(socket: Socket): string {
  return socket.remoteAddress ? formatHostPort(socket.remoteAddress, socket.remotePort ?? 0) : 'unknown';
}
