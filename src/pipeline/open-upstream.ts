import type { Socket } from 'node:net';
import { dialAddress } from '../upstream/dial.js';
import { connectViaParent } from '../upstream/parent-proxy.js';
import type { Destination } from '../model/destination.js';
import { formatHostPort } from '../model/destination.js';
import { ProxyError, toProxyError } from '../model/errors.js';
import type { ProxyRecord } from '../model/record.js';
import type { Route } from './route.js';

/**
 * Opens the byte stream to the destination for a route: the first candidate address that
 * answers, or a CONNECT tunnel through the parent proxy. Dialing happens before the client is
 * told 200, so a failure here can still become an HTTP status.
 */
export async function openUpstream(r: Route, dest: Destination, timeoutMs: number, record: ProxyRecord): Promise<Socket> {
  if (r.via === 'parent') {
    record.via = 'parent';
    record.resolved = r.parent.display;
    return connectViaParent(r.parent, dest, timeoutMs);
  }
  record.via = 'direct';
  let last: ProxyError | undefined;
  for (const { ip, decision } of r.candidates) {
    record.resolved = formatHostPort(ip, dest.port);
    record.decision = decision;
    try {
      return await dialAddress(ip, dest.port, timeoutMs);
    } catch (err) {
      last = toProxyError(err);
      // Try the next address only when this one is unreachable or refusing, as browsers do.
      if (last.code !== 'connect_refused' && last.code !== 'connect_unreachable') break;
    }
  }
  throw last ?? new ProxyError('internal', 'no address to dial');
}
