import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { invalidInput } from './errors.js';

/** Subject Alternative Names by kind, as written into (and read back from) a certificate. */
export interface SanSet {
  dns: string[];
  ip: string[];
  uri: string[];
}

export type San = { type: 'dns' | 'ip' | 'uri'; value: string };

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function bad(entry: string, why: string): Error {
  return invalidInput(`invalid SAN '${entry}': ${why}`);
}

/**
 * One SAN entry: an IP literal (IPv6 may be bracketed), anything with "://" as a URI (SPIFFE
 * IDs), everything else a DNS name or wildcard. Unicode names become punycode, as clients
 * compare the ASCII form.
 */
export function parseSan(entry: string): San {
  const raw = entry.trim();
  if (raw === '') throw bad(entry, 'empty entry (check for a stray comma)');

  const unbracketed = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (isIP(unbracketed) !== 0) {
    if (unbracketed.includes('%')) throw bad(entry, 'an IPv6 zone index (%...) cannot appear in a certificate');
    return { type: 'ip', value: canonicalIp(unbracketed) };
  }

  if (raw.includes('://')) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw bad(entry, 'contains "://" but is not a valid URI (e.g. spiffe://cluster.local/ns/NS/sa/SA)');
    }
    if (!/^[\x21-\x7e]+$/.test(raw)) throw bad(entry, 'URI SANs must be ASCII without spaces (percent-encode other characters)');
    if (url.hostname === '') throw bad(entry, 'the URI has no authority (host) part');
    return { type: 'uri', value: raw };
  }

  return { type: 'dns', value: normalizeDnsName(raw, entry) };
}

function normalizeDnsName(raw: string, entry: string): string {
  let name = raw.toLowerCase().replace(/\.$/, '');
  if (/[^ -~]/.test(name)) {
    const ascii = domainToASCII(name);
    if (ascii === '') throw bad(entry, 'not a valid internationalized domain name');
    name = ascii;
  }
  if (name.length > 253) throw bad(entry, `DNS names are at most 253 characters (this one has ${name.length})`);
  const labels = name.split('.');
  let checked = labels;
  if (labels[0] === '*') {
    if (labels.length < 3) throw bad(entry, 'a wildcard must cover at least two labels, e.g. *.example.com');
    checked = labels.slice(1);
  }
  for (const label of checked) {
    if (label.includes('*')) throw bad(entry, "a wildcard is only allowed as the whole leftmost label ('*.example.com')");
    if (!LABEL.test(label)) {
      throw bad(entry, "not an IP address, a URI (with '://') or a DNS name (labels of letters, digits, '-', at most 63 characters, no leading or trailing '-')");
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) {
    throw bad(entry, 'looks like an IPv4 address in a short form; write all four octets (e.g. 10.0.0.1)');
  }
  return name;
}

/** Lower-case, compressed IPv6 (and embedded IPv4 turned into hex groups) so it round-trips. */
function canonicalIp(ip: string): string {
  if (isIP(ip) === 4) return ip;
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

export function parseSans(list: readonly string[]): SanSet {
  const set: SanSet = { dns: [], ip: [], uri: [] };
  for (const entry of list) {
    const san = parseSan(entry);
    if (!set[san.type].includes(san.value)) set[san.type].push(san.value);
  }
  return set;
}

export function sanCount(set: SanSet): number {
  return set.dns.length + set.ip.length + set.uri.length;
}

/** Network-order bytes of a canonical IP literal from parseSan. */
export function ipToBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  const [head = '', tail = ''] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = ip.includes('::') && tail !== '' ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
