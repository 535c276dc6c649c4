/** The address classifier as it was, on Node's BlockList: the reference the arithmetic one (src/policy/ip-classes.ts) must agree with. */
import { BlockList, isIP } from 'node:net';

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
const METADATA = new BlockList();
for (const ip of ['169.254.169.254', '169.254.170.2', '100.100.100.200']) METADATA.addAddress(ip, 'ipv4');
// A BlockList compares addresses, not spellings: fd00:ec2:0:0:0:0:0:254 matches too.
METADATA.addAddress('fd00:ec2::254', 'ipv6');

function buildLists(table: Array<[string, number, AddressClass]>, family: 'ipv4' | 'ipv6') {
  return table.map(([net, prefix, cls]) => {
    const list = new BlockList();
    list.addSubnet(net, prefix, family);
    return { list, cls };
  });
}
const V4_LISTS = buildLists(V4, 'ipv4');
const V6_LISTS = buildLists(V6, 'ipv6');

/** Expands an IPv6 address to its eight 16-bit groups. */
export function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4tail?.[1]) {
    const b = v4tail[1].split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -v4tail[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail !== undefined ? 8 - h.length - t.length : 0;
  return [...h, ...Array<string>(fill).fill('0'), ...t].map((g) => parseInt(g, 16));
}

function v4FromBits(hi: number, lo: number): string {
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/**
 * IPv6 forms that carry an IPv4 address: a guard that only looks at the IPv6 class would let
 * ::ffff:127.0.0.1 or 64:ff9b::a9fe:a9fe (NAT64 to the metadata address) through.
 */
export function referenceEmbeddedIpv4(ip: string): string | undefined {
  if (isIP(ip) !== 6) return undefined;
  const g = ipv6Groups(ip);
  if (g.length !== 8) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (deprecated compatible form)
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0) && !(g[5] === 0 && g[6] === 0)) return v4FromBits(g[6]!, g[7]!);
  // ::ffff:0:a.b.c.d (SIIT translated form)
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4FromBits(g[6]!, g[7]!);
  // 64:ff9b::/96 well-known NAT64 prefix, 64:ff9b:1::/48 local-use NAT64
  if (g[0] === 0x64 && g[1] === 0xff9b) return v4FromBits(g[6]!, g[7]!);
  // 2002::/16 6to4
  if (g[0] === 0x2002) return v4FromBits(g[1]!, g[2]!);
  // 2001:0::/32 Teredo: the client address is stored inverted in the last 32 bits
  if (g[0] === 0x2001 && g[1] === 0) return v4FromBits(g[6]! ^ 0xffff, g[7]! ^ 0xffff);
  return undefined;
}

export interface AddressClassification {
  cls: AddressClass;
  /** The IPv4 address that decided the class when it was embedded in an IPv6 address. */
  via?: string;
}

export function referenceClassify(ip: string): AddressClassification {
  const family = isIP(ip);
  if (family === 4) {
    if (METADATA.check(ip, 'ipv4')) return { cls: 'metadata' };
    if (ip === '255.255.255.255') return { cls: 'broadcast' };
    for (const { list, cls } of V4_LISTS) if (list.check(ip, 'ipv4')) return { cls };
    return { cls: 'public' };
  }
  if (family === 6) {
    const v4 = referenceEmbeddedIpv4(ip);
    if (v4 !== undefined) {
      const inner = referenceClassify(v4);
      if (inner.cls !== 'public') return { cls: inner.cls, via: v4 };
    }
    if (METADATA.check(ip, 'ipv6')) return { cls: 'metadata' };
    for (const { list, cls } of V6_LISTS) if (list.check(ip, 'ipv6')) return { cls };
    return { cls: 'public' };
  }
  throw new TypeError(`not an IP address: ${ip}`);
}
