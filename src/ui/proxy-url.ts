import { isIP } from 'node:net';
import { formatHostPort } from '../model/destination.js';
import { hostName } from './guard.js';
import type { ProxyEndpoint } from './resend.js';

/**
 * The proxy URL a client of this UI should use. A proxy bound to every interface is named by
 * the host the browser reached the UI at when that is an address or localhost (kubectl
 * port-forward, a node IP); a name (an ingress) says nothing about the proxy port: 127.0.0.1.
 */
export function proxyUrlFor(proxy: ProxyEndpoint | undefined, uiHost: string | undefined): string {
  if (!proxy) return 'http://127.0.0.1:8080';
  let host = proxy.host;
  if (host === '0.0.0.0' || host === '::') {
    const seen = uiHost ? hostName(uiHost) : '';
    host = seen === 'localhost' || isIP(seen) !== 0 ? seen : '127.0.0.1';
  }
  return `${proxy.scheme}://${formatHostPort(host, proxy.port)}`;
}
