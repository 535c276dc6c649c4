import type { CertBundle, PemPair } from './bundle.js';
import { assertUsableCA, parseCertificatePem } from './ca.js';
import { invalidInput } from './errors.js';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, isRsaKey, signingAlgorithmFor, type KeyType } from './keys.js';
import { toPem } from './pem.js';
import { parseSan, parseSans, sanCount, type SanSet } from './sans.js';
import { assertCommonName, assertDays, randomSerialHex, validityWindow } from './template.js';
import { x509 } from './x509.js';

export type CertKind = 'server' | 'client';

export interface IssueCertOptions {
  ca: CertBundle | PemPair;
  kind: CertKind;
  cn: string;
  sans?: readonly string[];
  /** Default 825 for servers (Apple's ceiling for TLS server certificates), 365 for clients. */
  days?: number;
  keyType?: KeyType;
  rsaBits?: number;
}

export const DEFAULT_DAYS: Record<CertKind, number> = { server: 825, client: 365 };

export async function issueCert(options: IssueCertOptions): Promise<CertBundle> {
  const { ca, kind, cn, sans = [], keyType = 'ec', rsaBits } = options;
  if (kind !== 'server' && kind !== 'client') {
    throw invalidInput(`unknown certificate kind '${String(kind)}': use 'server' or 'client'`);
  }
  const days = options.days ?? DEFAULT_DAYS[kind];
  assertCommonName(cn);
  assertDays(days);
  const names = serverNames(kind, cn, parseSans(sans));

  const caCert = 'cert' in ca ? ca.cert : parseCertificatePem(ca.certPem, 'the CA certificate');
  assertUsableCA(caCert, ca.keyPem);
  const caKey = await importPrivateKeyPem(ca.keyPem, 'the CA key');
  const keys = await generateKeyPair(keyType, rsaBits);
  const { notBefore, notAfter } = validityWindow(days, caCert);

  const usage = x509.KeyUsageFlags.digitalSignature | (isRsaKey(keys.privateKey) ? x509.KeyUsageFlags.keyEncipherment : 0);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usage, true),
    new x509.ExtendedKeyUsageExtension([kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await authorityKeyIdentifier(caCert),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (sanCount(names) > 0) extensions.push(new x509.SubjectAlternativeNameExtension(toGeneralNames(names)));

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: new x509.Name([{ CN: [cn] }]),
    issuer: caCert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: signingAlgorithmFor(caKey),
    extensions,
  });
  return { cert, certPem: toPem(cert.rawData, 'CERTIFICATE'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * Go's crypto/tls (and so most Kubernetes clients) ignores the CN and refuses a server
 * certificate without SANs, so a bare server CN is copied into a DNS SAN.
 */
function serverNames(kind: CertKind, cn: string, names: SanSet): SanSet {
  if (kind !== 'server' || sanCount(names) > 0) return names;
  let san;
  try {
    san = parseSan(cn);
  } catch {
    throw invalidInput(`a server certificate needs at least one SAN, and its CN '${cn}' is not a host name to copy into one; add --san with the names clients connect to`);
  }
  return parseSans([san.value]);
}

export function toGeneralNames(names: SanSet): { type: 'dns' | 'ip' | 'url'; value: string }[] {
  return [
    ...names.dns.map((value) => ({ type: 'dns' as const, value })),
    ...names.ip.map((value) => ({ type: 'ip' as const, value })),
    ...names.uri.map((value) => ({ type: 'url' as const, value })),
  ];
}

/**
 * Copies the CA's own SKI when it has one, so chain building works for CAs made by other tools
 * whose SKI is not the SHA-1 of the key (RFC 7093 allows other methods).
 */
export async function authorityKeyIdentifier(caCert: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey);
}
