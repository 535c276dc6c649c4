import type { IncomingMessage } from 'node:http';
import { admissionError } from './admission.js';
import type { ProxyContext } from './context.js';
import { formatHostPort, parseAbsoluteUri, type Destination } from '../model/destination.js';
import { ProxyError } from '../model/errors.js';
import { identify } from './identify.js';
import type { ClientIdentity } from '../model/identity.js';
import type { ProxyRecord } from '../model/record.js';

/**
 * The first steps for a request that names its destination in an absolute URI (plain-HTTP
 * forwarding and Upgrade): admission, the origin-form check, identify, parse the target, and
 * fill the record. CONNECT's authority-form goes through the same steps in connect-handler.
 */
export async function absoluteTarget(
  ctx: ProxyContext,
  req: IncomingMessage,
  record: ProxyRecord,
  what: string,
): Promise<{ dest: Destination; url: URL; identity: ClientIdentity }> {
  const refused = admissionError(ctx);
  if (refused) throw refused;
  const target = req.url ?? '';
  if (target.startsWith('/')) throw new ProxyError('not_a_proxy_request', `got ${what} for ${target.slice(0, 100)}`);
  const identity = await identify(req, ctx);
  record.identity = identity;
  const { dest, url } = parseAbsoluteUri(target);
  record.target = formatHostPort(dest.host, dest.port);
  record.url = `${url.protocol}//${url.host}${url.pathname}`;
  return { dest, url, identity };
}
