import { connect, type Socket } from 'node:net';
import { ProxyError, toProxyError } from '../model/errors.js';
import { formatHostPort } from '../model/destination.js';
import { markSharedBufferReads, sharedBufferReads } from './fast-read.js';

/** Opens a TCP connection to an address already checked by policy. */
export function dialAddress(ip: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen: a tunnel must pass one side's FIN on without closing the other direction.
    const socket = connect({ host: ip, port, allowHalfOpen: true, noDelay: true, ...sharedBufferReads });
    markSharedBufferReads(socket);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProxyError('connect_timeout', `${formatHostPort(ip, port)} after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(toProxyError(err, formatHostPort(ip, port)));
    });
  });
}
