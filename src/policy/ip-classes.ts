import { isIP } from 'node:net';
import { ipv4Word, ipv6InNetwork, ipv6Words, topBits } from './ip-bits.js';

/**
 * Address classes that an egress proxy must not reach unless told to: the SSRF surface of a
 * cluster (pod and service ranges, node-local services, the cloud metadata endpoint).
 */
export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'metadata'
  | 'cgnat'
  | 'ula'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'site-local';

const V4: Array<[string, number, AddressClass]> = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const V6: Array<[string, number, AddressClass]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['::', 96, 'reserved'],
  ['100::', 64, 'reserved'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'ula'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

/** Well-known cloud metadata endpoints get their own class so log lines say what was at stake. */
const METADATA_V4 = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200'].map((ip) => ipv4Word(ip)));
// Compared as numbers, not spellings: fd00:ec2:0:0:0:0:0:254 matches too.
const METADATA_V6 = words('fd00:ec2::254');

// Numbers rather than a BlockList: BlockList.check builds a SocketAddress per call, which
// cost microseconds on every connection's address, twenty times over.
function words(ip: string): Uint32Array {
  const out = new Uint32Array(4);
  ipv6Words(ip, out);
  return out;
}
const V4_NETS = V4.map(([net, prefix, cls]) => ({ key: topBits(ipv4Word(net), prefix), prefix, cls }));
const V6_NETS = V6.map(([net, prefix, cls]) => ({ net: words(net), prefix, cls }));
const scratch = new Uint32Array(4);

/** Expands an IPv6 address to its eight 16-bit groups (from the same parser the classifier uses). */
export function ipv6Groups(ip: string): number[] {
  const w = words(ip);
  return Array.from(w).flatMap((word) => [word >>> 16, word & 0xffff]);
}

function dotted(word: number): string {
  return `${word >>> 24}.${(word >>> 16) & 0xff}.${(word >>> 8) & 0xff}.${word & 0xff}`;
}

/**
 * IPv6 forms that carry an IPv4 address: a guard that only looks at the IPv6 class would let
 * ::ffff:127.0.0.1 or 64:ff9b::a9fe:a9fe (NAT64 to the metadata address) through.
 * The IPv4 address as a word (ip-bits.ts), or -1.
 */
export function embeddedIpv4Word(words: Uint32Array): number {
  const [w0, w1, w2, w3] = words as unknown as [number, number, number, number];
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (deprecated compatible form), not :: or ::1
  if (w0 === 0 && w1 === 0 && (w2 === 0xffff || (w2 === 0 && w3 >>> 16 !== 0))) return w3;
  // ::ffff:0:a.b.c.d (SIIT translated form)
  if (w0 === 0 && w1 === 0 && w2 === 0xffff0000) return w3;
  // 64:ff9b::/96 well-known NAT64 prefix, 64:ff9b:1::/48 local-use NAT64
  if (w0 === 0x0064ff9b) return w3;
  // 2002::/16 6to4
  if (w0 >>> 16 === 0x2002) return (((w0 & 0xffff) << 16) | (w1 >>> 16)) >>> 0;
  // 2001:0::/32 Teredo: the client address is stored inverted in the last 32 bits
  if (w0 === 0x20010000) return (w3 ^ 0xffffffff) >>> 0;
  return -1;
}

/** The IPv4 address an IPv6 address carries (embeddedIpv4Word), dotted. */
export function embeddedIpv4(ip: string): string | undefined {
  if (isIP(ip) !== 6 || !ipv6Words(ip, scratch)) return undefined;
  const word = embeddedIpv4Word(scratch);
  return word < 0 ? undefined : dotted(word);
}

export interface AddressClassification {
  cls: AddressClass;
  /** The IPv4 address that decided the class when it was embedded in an IPv6 address. */
  via?: string;
}

function classifyIpv4(word: number): AddressClass {
  if (METADATA_V4.has(word)) return 'metadata';
  if (word === 0xffffffff) return 'broadcast';
  for (const { key, prefix, cls } of V4_NETS) if (topBits(word, prefix) === key) return cls;
  return 'public';
}

export function classifyAddress(ip: string): AddressClassification {
  const family = isIP(ip);
  if (family === 4) return { cls: classifyIpv4(ipv4Word(ip)) };
  if (family === 6) {
    // One parse: the embedded IPv4 address and the IPv6 ranges are read from the same words.
    ipv6Words(ip, scratch);
    const v4 = embeddedIpv4Word(scratch);
    if (v4 >= 0) {
      const cls = classifyIpv4(v4);
      if (cls !== 'public') return { cls, via: dotted(v4) };
    }
    if (ipv6InNetwork(scratch, METADATA_V6, 128)) return { cls: 'metadata' };
    for (const { net, prefix, cls } of V6_NETS) if (ipv6InNetwork(scratch, net, prefix)) return { cls };
    return { cls: 'public' };
  }
  throw new TypeError(`not an IP address: ${ip}`);
}
