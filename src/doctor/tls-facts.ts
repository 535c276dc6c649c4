import { X509Certificate } from 'node:crypto';
import { rootCertificates, type DetailedPeerCertificate } from 'node:tls';

/** Issuers of TLS-inspecting proxies and appliances, matched against the chain's top issuer. */
const INSPECTION_ISSUERS: ReadonlyArray<{ pattern: RegExp; product: string }> = [
  // Interception CAs are named "egresskit inspect CA" (and "egresskit dev inspect CA"); "egresskit CA"
  // is what `certs` makes for a service's own certificates, which is no interception.
  { pattern: /egresskit.*inspect/i, product: 'egresskit' },
  { pattern: /mitmproxy/i, product: 'mitmproxy' },
  { pattern: /zscaler/i, product: 'Zscaler' },
  { pattern: /netskope/i, product: 'Netskope' },
  { pattern: /forti/i, product: 'Fortinet' },
  { pattern: /palo alto|pan-?os/i, product: 'Palo Alto Networks' },
  { pattern: /blue ?coat|symantec ssl visibility/i, product: 'Blue Coat / Symantec' },
  { pattern: /cisco umbrella|opendns/i, product: 'Cisco Umbrella' },
  { pattern: /forcepoint|websense/i, product: 'Forcepoint' },
  { pattern: /charles proxy/i, product: 'Charles Proxy' },
  { pattern: /do_not_trust|fiddler/i, product: 'Fiddler' },
  { pattern: /squid/i, product: 'Squid ssl-bump' },
];

export function subjectLine(name: Record<string, string | string[] | undefined> | undefined): string {
  if (!name) return '?';
  const get = (k: string) => {
    const v = name[k];
    return Array.isArray(v) ? v.join('+') : v;
  };
  return get('CN') ?? get('O') ?? Object.values(name).flat().join(', ');
}

/** The certificates the peer sent, leaf first (Node repeats the last issuer as its own issuer). */
export function chainOf(peer: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const out: DetailedPeerCertificate[] = [];
  let c: DetailedPeerCertificate | undefined = peer;
  while (c && c.raw && !out.some((x) => x.fingerprint256 === c!.fingerprint256)) {
    out.push(c);
    c = c.issuerCertificate;
  }
  return out;
}

/** The name of the CA at the top of the chain as sent (its issuer, for a chain without its root). */
export function topIssuer(peer: DetailedPeerCertificate): string {
  const chain = chainOf(peer);
  return subjectLine(chain[chain.length - 1]?.issuer);
}

export function inspectionProduct(issuer: string): string | undefined {
  return INSPECTION_ISSUERS.find((i) => i.pattern.test(issuer))?.product;
}

function pemCerts(text: string): X509Certificate[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].flatMap((m) => {
    try {
      return [new X509Certificate(m[0])];
    } catch {
      return [];
    }
  });
}

let publicRoots: X509Certificate[] | undefined;

/**
 * Whether some certificate of `anchors` signed a certificate of the chain, which tells which
 * store would have trusted it without trusting it here.
 */
export function signedByOneOf(peer: DetailedPeerCertificate, anchors: 'public' | string): boolean {
  const roots = anchors === 'public' ? (publicRoots ??= rootCertificates.flatMap(pemCerts)) : pemCerts(anchors);
  return chainOf(peer).some((c) => {
    const cert = new X509Certificate(c.raw);
    return roots.some((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
  });
}

/** One line for a certificate verification error code, as a person reads it. */
export function verifyErrorText(code: string): string {
  const known: Record<string, string> = {
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'signed by a CA that is not trusted',
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'signed by a CA that is not trusted',
    SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a CA that is not trusted',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed and not trusted',
    CERT_HAS_EXPIRED: 'expired',
    CERT_NOT_YET_VALID: 'not valid yet (check the clock)',
    ERR_TLS_CERT_ALTNAME_INVALID: 'issued for other names',
  };
  return `${known[code] ?? 'not accepted'} (${code})`;
}
