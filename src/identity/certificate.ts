import type { PeerCertificate } from 'node:tls';
import type { ClientIdentity } from '../model/identity.js';

/** Splits Node's subjectaltname string ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4"). */
export function parseSubjectAltName(text: string | undefined): Array<{ type: string; value: string }> {
  if (!text) return [];
  const out: Array<{ type: string; value: string }> = [];
  // Node quotes a value as a JSON string when it contains a comma or quote (CVE-2021-44532).
  const re = /(DNS|URI|IP Address|email|othername|DirName|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '') break;
    let value = m[2] ?? '';
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    out.push({ type: m[1]!, value });
  }
  return out;
}

/** SAN URI (SPIFFE) first, then SAN DNS, then the subject CN: the order service meshes use. */
export function identityFromCertificate(cert: PeerCertificate): ClientIdentity {
  const sans = parseSubjectAltName(cert.subjectaltname);
  const uri = sans.find((s) => s.type === 'URI');
  const dns = sans.find((s) => s.type === 'DNS');
  const cnField = cert.subject?.CN as string | string[] | undefined;
  const cn = Array.isArray(cnField) ? cnField[0] : cnField;
  const principal = uri?.value ?? dns?.value ?? cn ?? null;
  const attributes: Record<string, string> = {};
  if (cn) attributes.cn = cn;
  if (cert.serialNumber) attributes.serial = cert.serialNumber;
  if (cert.fingerprint256) attributes.fingerprint256 = cert.fingerprint256;
  return { kind: 'certificate', principal, attributes };
}
