import { lookup } from 'node:dns/promises';
import { ProxyError, toProxyError } from '../model/errors.js';
import type { Destination } from '../model/destination.js';

/**
 * Every address a name resolves to, in the resolver's order. The caller decides on each and
 * dials exactly the one it decided on, so nothing is resolved twice (no DNS-rebinding gap).
 */
export async function resolveDestination(dest: Destination, timeoutMs: number): Promise<string[]> {
  if (dest.hostKind !== 'name') return [dest.host];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProxyError('dns_timeout', `no answer for ${dest.host} in ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const answers = await Promise.race([lookup(dest.host, { all: true, verbatim: true }), timeout]);
    if (answers.length === 0) throw new ProxyError('dns_not_found', dest.host);
    return answers.map((a) => a.address);
  } catch (err) {
    const e = toProxyError(err);
    if (e.code === 'dns_not_found' || e.code === 'dns_timeout' || e.code === 'dns_failed') {
      throw new ProxyError(e.code, `${dest.host} (${(err as { code?: string }).code ?? e.code})`, { cause: err });
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
