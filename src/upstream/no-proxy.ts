import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { compileHostPattern, matchesAddress, type HostPattern } from '../policy/patterns.js';
import type { Destination } from '../model/destination.js';

/**
 * NO_PROXY semantics as curl and Go read them (the common ground of clients): entries separated
 * by commas or spaces; "*" matches everything; "example.com", ".example.com" and
 * "*.example.com" all match the domain and its subdomains; IP addresses and CIDRs match
 * addresses; an optional ":port" narrows an entry to that port.
 */
export interface NoProxyEntry {
  source: string;
  port: number | undefined;
  match: (dest: Destination) => boolean;
}

export function parseNoProxy(list: string | string[]): NoProxyEntry[] {
  const items = (Array.isArray(list) ? list : [list]).flatMap((s) => s.split(/[\s,]+/)).filter(Boolean);
  return items.map((source) => {
    let text = source.trim().toLowerCase();
    let port: number | undefined;
    const portMatch = /^(.*[^:]):(\d+)$/.exec(text);
    if (portMatch && !isIP(text) && (!text.includes('::') || text.startsWith('['))) {
      text = portMatch[1]!;
      port = Number(portMatch[2]);
    }
    if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
    if (text === '*') return { source, port, match: () => true };
    if (isIP(text) || text.includes('/')) {
      let p: HostPattern;
      try {
        p = compileHostPattern(text);
      } catch {
        return { source, port, match: () => false };
      }
      return { source, port, match: (d) => d.hostKind !== 'name' && matchesAddress(p, d.host) };
    }
    const bare = text.replace(/^\*?\./, '').replace(/\.$/, '');
    // Targets are compared in punycode, so entries must be too (bücher.de -> xn--bcher-kva.de).
    const domain = domainToASCII(bare) || bare;
    return {
      source,
      port,
      match: (d) => d.hostKind === 'name' && (d.host === domain || d.host.endsWith(`.${domain}`)),
    };
  });
}

export function bypassesProxy(entries: NoProxyEntry[], dest: Destination): boolean {
  return entries.some((e) => (e.port === undefined || e.port === dest.port) && e.match(dest));
}
