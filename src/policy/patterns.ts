import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { embeddedIpv4 } from './ip-classes.js';
import { ipv4Word, ipv6PrefixKey, ipv6Words, topBits } from './ip-bits.js';

/**
 * One destination pattern from --allow/--deny or a rule's `hosts` list:
 *   example.com       that host only
 *   *.example.com     any subdomain, at any depth, not the apex
 *   .example.com      the apex and every subdomain (Squid's dstdomain spelling)
 *   *                 every host
 *   192.0.2.7, 2001:db8::1, 10.0.0.0/8, fd00::/8   addresses, matched after resolution too
 */
export type HostPattern =
  | { kind: 'any'; source: string }
  | { kind: 'exact'; source: string; host: string }
  | { kind: 'suffix'; source: string; suffix: string; apex: boolean }
  | CidrPattern;

/**
 * A network as its prefix length and the value of its first `prefix` bits (ip-bits.ts): the
 * same key the policy index hashes, so a match is one comparison.
 */
export interface CidrPattern {
  kind: 'cidr';
  source: string;
  family: 'ipv4' | 'ipv6';
  prefix: number;
  key: number | string;
}

export class PatternError extends Error {
  override readonly name = 'PatternError';
}

function normaliseName(name: string, source: string): string {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const ascii = domainToASCII(trimmed.toLowerCase());
  if (!ascii || !/^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(ascii)) {
    throw new PatternError(
      `"${source}" is not a host pattern (use example.com, *.example.com, .example.com, an IP address or a CIDR)`,
    );
  }
  return ascii;
}

export function compileHostPattern(source: string): HostPattern {
  const text = source.trim();
  if (text === '*') return { kind: 'any', source };
  const slash = text.indexOf('/');
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (slash !== -1 || isIP(bare)) {
    const [addr = '', prefixText] = slash === -1 ? [bare] : [text.slice(0, slash), text.slice(slash + 1)];
    const family = isIP(addr);
    if (family === 0) throw new PatternError(`"${source}" is not a valid address or CIDR`);
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (prefixText !== undefined && !/^\d+$/.test(prefixText))) {
      throw new PatternError(`"${source}" has a bad prefix length (0-${max})`);
    }
    if (family === 4) return { kind: 'cidr', source, family: 'ipv4', prefix, key: topBits(ipv4Word(addr), prefix) };
    const words = new Uint32Array(4);
    ipv6Words(addr, words);
    return { kind: 'cidr', source, family: 'ipv6', prefix, key: ipv6PrefixKey(words, prefix) };
  }
  if (text.startsWith('*.')) return { kind: 'suffix', source, suffix: `.${normaliseName(text.slice(2), source)}`, apex: false };
  if (text.startsWith('.')) return { kind: 'suffix', source, suffix: `.${normaliseName(text.slice(1), source)}`, apex: true };
  if (text.includes('*')) {
    throw new PatternError(`"${source}": a wildcard is only allowed as a leading "*." (e.g. *.example.com)`);
  }
  return { kind: 'exact', source, host: normaliseName(text, source) };
}

/** Matches a normalised host name (never an address). */
export function matchesName(p: HostPattern, host: string): boolean {
  switch (p.kind) {
    case 'any':
      return true;
    case 'exact':
      return p.host === host;
    case 'suffix':
      return host.endsWith(p.suffix) || (p.apex && host === p.suffix.slice(1));
    case 'cidr':
      return false;
  }
}

const scratch = new Uint32Array(4);

/** Matches an address (the target was an IP literal, or the name resolved to it). */
export function matchesAddress(p: HostPattern, ip: string): boolean {
  if (p.kind === 'any') return true;
  if (p.kind !== 'cidr') return false;
  const family = isIP(ip);
  if (family === 4) return p.family === 'ipv4' && topBits(ipv4Word(ip), p.prefix) === p.key;
  if (family !== 6) return false;
  if (p.family === 'ipv6') return ipv6Words(ip, scratch) && ipv6PrefixKey(scratch, p.prefix) === p.key;
  // An IPv4 rule also covers the IPv6 spellings of that address (::ffff:10.0.0.1, NAT64, 6to4).
  const v4 = embeddedIpv4(ip);
  return v4 !== undefined && topBits(ipv4Word(v4), p.prefix) === p.key;
}

/** Identity patterns: exact, or with "*" standing for any run of characters. */
export function compileGlob(source: string): (value: string) => boolean {
  if (!source.includes('*')) return (value) => value === source;
  const re = new RegExp(`^${source.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (value) => re.test(value);
}
