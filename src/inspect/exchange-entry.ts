import type { Entry } from '../pipeline/entry.js';
import { ANONYMOUS } from '../model/identity.js';
import type { ProxyRecord } from '../model/record.js';
import type { Tunnel } from './tunnel.js';

/** What an exchange inside interception adds to the pipeline: how its target is checked and how it is relayed. */
export type ExchangeParts<U> = Pick<Entry<U>, 'dial' | 'clientGone' | 'close' | 'handOff' | 'reply'> & {
  /** Checks the request names the tunnel's destination (Host, :authority, absolute target); throws misdirected. */
  checkTarget(): void;
};

/**
 * The entry adapter for an exchange inside an intercepted tunnel (an HTTP/1.1 request, an
 * HTTP/2 stream, a WebSocket upgrade): the tunnel was admitted, identified and decided when it
 * was opened, so the exchange inherits who is asking and where it may go; it only checks that
 * it names the same destination, and uses the tunnel's upstream.
 */
export function exchangeEntry<U>(t: Tunnel, record: ProxyRecord, parts: ExchangeParts<U>): Entry<U> {
  const { checkTarget, ...rest } = parts;
  // Decided when the tunnel was: under the tunnel's version, whatever was reloaded since.
  record.configVersion = t.record.configVersion;
  return {
    record,
    admit: false,
    method: record.method ?? 'GET',
    identify: () => t.record.identity ?? ANONYMOUS,
    target: () => {
      checkTarget();
      return t.dest;
    },
    decided: () => t.route,
    // The tunnel's own record has its connect and TLS phases; an exchange reuses that connection.
    reused: () => true,
    ...rest,
  };
}
