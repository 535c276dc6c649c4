import { X509Certificate } from 'node:crypto';
import { CertsError } from './errors.js';
import { keyLabel } from './keys.js';
import { certificateDers } from './pem.js';
import type { SanSet } from './sans.js';
import { x509 } from './x509.js';

export interface CertDescription {
  subject: string;
  issuer: string;
  sans: SanSet;
  notBefore: Date;
  notAfter: Date;
  /** Upper-case hex, no separators (as openssl prints it). */
  serial: string;
  /** Upper-case hex pairs separated by colons. */
  sha256Fingerprint: string;
  /** "EC P-256", "RSA 2048"... */
  keyType: string;
  isCA: boolean;
  keyUsage: string[];
  extKeyUsage: string[];
}

const KEY_USAGE_NAMES: [x509.KeyUsageFlags, string][] = [
  [x509.KeyUsageFlags.digitalSignature, 'digitalSignature'],
  [x509.KeyUsageFlags.nonRepudiation, 'nonRepudiation'],
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
  [x509.KeyUsageFlags.encipherOnly, 'encipherOnly'],
  [x509.KeyUsageFlags.decipherOnly, 'decipherOnly'],
];

const EKU_NAMES = new Map<string, string>(Object.entries(x509.ExtendedKeyUsage).map(([name, oid]) => [oid, name]));

function describeDer(der: Buffer, index: number, what: string): CertDescription {
  let cert: x509.X509Certificate;
  let nodeCert: X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
    nodeCert = new X509Certificate(der);
  } catch (err) {
    throw new CertsError('NOT_PEM', `certificate ${index + 1} in ${what} cannot be parsed (${(err as Error).message})`, { cause: err });
  }
  const sans: SanSet = { dns: [], ip: [], uri: [] };
  for (const name of cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? []) {
    if (name.type === 'dns') sans.dns.push(name.value);
    else if (name.type === 'ip') sans.ip.push(name.value);
    else if (name.type === 'url') sans.uri.push(name.value);
  }
  const usage = cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  const ekus = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    sans,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    serial: cert.serialNumber.toUpperCase(),
    sha256Fingerprint: nodeCert.fingerprint256,
    keyType: keyLabel(nodeCert.publicKey),
    isCA: nodeCert.ca,
    keyUsage: KEY_USAGE_NAMES.filter(([flag]) => (usage & flag) !== 0).map(([, name]) => name),
    // Array.from: usages is an Array subclass, and map() would keep that class.
    extKeyUsage: Array.from(ekus, (oid) => EKU_NAMES.get(String(oid)) ?? String(oid)),
  };
}

/** Every certificate in a PEM text, in file order (a chain file: leaf first). */
export function describeCerts(pem: string, what = 'the input'): CertDescription[] {
  return certificateDers(pem, what).map((der, i) => describeDer(der, i, what));
}

/** The first certificate in a PEM text: the leaf of a chain or of a cert+CA+key bundle. */
export function describeCert(pem: string, what = 'the input'): CertDescription {
  const [first] = describeCerts(pem, what);
  if (!first) throw new CertsError('NOT_PEM', `${what} contains no certificate`);
  return first;
}

const DAY_MS = 86_400_000;

function status(d: CertDescription, now: Date): string {
  if (now < d.notBefore) return `not valid yet, starts in ${Math.ceil((d.notBefore.getTime() - now.getTime()) / DAY_MS)} days`;
  if (now > d.notAfter) return `EXPIRED ${Math.floor((now.getTime() - d.notAfter.getTime()) / DAY_MS)} days ago`;
  return `expires in ${Math.floor((d.notAfter.getTime() - now.getTime()) / DAY_MS)} days`;
}

function sanText(sans: SanSet): string {
  const all = [...sans.dns.map((v) => `DNS:${v}`), ...sans.ip.map((v) => `IP:${v}`), ...sans.uri.map((v) => `URI:${v}`)];
  return all.length > 0 ? all.join(', ') : '(none)';
}

/** Human-readable lines, one block per certificate. */
export function formatCertDescription(input: CertDescription | readonly CertDescription[], options: { now?: Date } = {}): string {
  const list = Array.isArray(input) ? (input as readonly CertDescription[]) : [input as CertDescription];
  const now = options.now ?? new Date();
  const blocks = list.map((d, i) => {
    const rows: [string, string][] = [
      ['Subject', d.subject || '(empty)'],
      ['Issuer', d.issuer],
      ['SANs', sanText(d.sans)],
      ['Valid from', d.notBefore.toISOString()],
      ['Valid until', `${d.notAfter.toISOString()} (${status(d, now)})`],
      ['Key', d.keyType],
      ['CA', d.isCA ? 'yes' : 'no'],
      ['Key usage', d.keyUsage.join(', ') || '(none)'],
      ['Ext key usage', d.extKeyUsage.join(', ') || '(none)'],
      ['Serial', d.serial],
      ['SHA-256', d.sha256Fingerprint],
    ];
    const header = list.length > 1 ? `Certificate ${i + 1} of ${list.length}` : 'Certificate';
    return [header, ...rows.map(([k, v]) => `  ${`${k}:`.padEnd(15)}${v}`)].join('\n');
  });
  return blocks.join('\n\n') + '\n';
}
