import { createHash, createPublicKey, generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { children, integer, readTlv, sequence, TAG, time, tlv } from './der.js';
import { CertsError, invalidInput } from './errors.js';
import { toPem } from './pem.js';
import { ipToBytes, parseSan } from './sans.js';
import { assertDays, MAX_CN_LENGTH, randomSerial, validityWindow, type Validity } from './template.js';
import { x509, type CryptoKey } from './x509.js';

/**
 * Leaf certificates for TLS interception: one per intercepted host, minted on the connection's
 * critical path. Everything that depends only on the CA is computed once per CA; per leaf there
 * is one P-256 key generation, one signature and some byte concatenation, all synchronous
 * node:crypto calls (well under a millisecond, against ~5 ms through @peculiar/x509).
 */

export interface LeafCert {
  certPem: string;
  /** PKCS#8 PEM of the fresh leaf key. */
  keyPem: string;
  certDer: Buffer;
  notBefore: Date;
  /** For cache expiry: a cached leaf must be replaced before this. */
  notAfter: Date;
}

export interface IssueLeafOptions {
  caCert: x509.X509Certificate;
  caKey: CryptoKey | KeyObject;
  /** DNS name or IP literal the client asked for (SNI or CONNECT authority). */
  host: string;
  days?: number;
}

export interface LeafIssuer {
  issue(host: string, days?: number): LeafCert;
}

const VERSION_3 = Buffer.from('a003020102', 'hex');
const OID_CN = Buffer.from('0603550403', 'hex');
const OID_SAN = Buffer.from('0603551d11', 'hex');
const OID_SKI = Buffer.from('0603551d0e', 'hex');
const CRITICAL = Buffer.from('0101ff', 'hex');

const SIGNATURE_ALGORITHMS: Record<string, { hash: string; algorithmId: Buffer }> = {
  // AlgorithmIdentifier DER: ecdsa-with-SHA256/384/512 (RFC 5758, no parameters) and
  // sha256WithRSAEncryption (RFC 4055, NULL parameters).
  'ec:prime256v1': { hash: 'sha256', algorithmId: Buffer.from('300a06082a8648ce3d040302', 'hex') },
  'ec:secp384r1': { hash: 'sha384', algorithmId: Buffer.from('300a06082a8648ce3d040303', 'hex') },
  'ec:secp521r1': { hash: 'sha512', algorithmId: Buffer.from('300a06082a8648ce3d040304', 'hex') },
  rsa: { hash: 'sha256', algorithmId: Buffer.from('300d06092a864886f70d01010b0500', 'hex') },
};

let fixedExtensions: Buffer[] | undefined;
function leafExtensions(): Buffer[] {
  fixedExtensions ??= [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
  ].map((ext) => Buffer.from(ext.rawData));
  return fixedExtensions;
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
function keyIdentifier(spkiDer: Buffer): Buffer {
  const [, bitString] = children(spkiDer, readTlv(spkiDer, 0));
  if (!bitString) throw new Error('malformed SubjectPublicKeyInfo');
  return createHash('sha1').update(spkiDer.subarray(bitString.contentStart + 1, bitString.end)).digest();
}

/** The CA's subject exactly as encoded in its certificate: chain building compares bytes. */
function rawSubject(certDer: Buffer): Buffer {
  const [tbs] = children(certDer, readTlv(certDer, 0));
  if (!tbs) throw new Error('malformed certificate');
  const fields = children(certDer, tbs);
  const subject = fields[fields[0]?.tag === TAG.CONTEXT_0 ? 5 : 4];
  if (!subject) throw new Error('malformed certificate');
  return certDer.subarray(subject.start, subject.end);
}

export function createLeafIssuer(caCert: x509.X509Certificate, caKey: CryptoKey | KeyObject): LeafIssuer {
  const signingKey = caKey instanceof KeyObject ? caKey : KeyObject.from(caKey);
  if (signingKey.type !== 'private') throw invalidInput('issueLeaf needs the CA private key, got a public key');
  const caSpki = Buffer.from(caCert.publicKey.rawData);
  const signerSpki = createPublicKey(signingKey).export({ type: 'spki', format: 'der' });
  if (!signerSpki.equals(caSpki)) {
    throw new CertsError('KEY_MISMATCH', `the CA key does not belong to the CA certificate (${caCert.subject}); load ca.crt and ca.key from the same directory`);
  }
  const algKey = signingKey.asymmetricKeyType === 'ec' ? `ec:${signingKey.asymmetricKeyDetails?.namedCurve}` : `${signingKey.asymmetricKeyType}`;
  const algorithm = SIGNATURE_ALGORITHMS[algKey];
  if (!algorithm) throw new CertsError('CA_INVALID', `cannot sign leaf certificates with a ${algKey} CA key: use an EC (P-256/384/521) or RSA CA`);

  const issuer = rawSubject(Buffer.from(caCert.rawData));
  const caSki = caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? keyIdentifier(caSpki).toString('hex');
  const aki = Buffer.from(new x509.AuthorityKeyIdentifierExtension(caSki).rawData);
  const bounds: Validity = { notBefore: caCert.notBefore, notAfter: caCert.notAfter };

  return {
    issue(host: string, days = 7): LeafCert {
      assertDays(days);
      const san = parseSan(host);
      if (san.type === 'uri') throw invalidInput(`leaf host '${host}' is a URI; pass a host name or IP address`);
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const spki = publicKey.export({ type: 'spki', format: 'der' });
      const validity = validityWindow(days, bounds);

      // A name longer than the CN limit goes in the SAN alone; with an empty subject the SAN
      // must then be critical (RFC 5280 4.2.1.6).
      const fitsCn = san.value.length <= MAX_CN_LENGTH;
      const subject = fitsCn ? sequence(tlv(TAG.SET, sequence(OID_CN, tlv(TAG.UTF8_STRING, Buffer.from(san.value))))) : sequence();
      const generalName = san.type === 'ip' ? tlv(TAG.SAN_IP, ipToBytes(san.value)) : tlv(TAG.SAN_DNS, Buffer.from(san.value, 'ascii'));
      const sanExt = sequence(OID_SAN, ...(fitsCn ? [] : [CRITICAL]), tlv(TAG.OCTET_STRING, sequence(generalName)));
      const skiExt = sequence(OID_SKI, tlv(TAG.OCTET_STRING, tlv(TAG.OCTET_STRING, keyIdentifier(spki))));

      const tbs = sequence(
        VERSION_3,
        integer(randomSerial()),
        algorithm.algorithmId,
        issuer,
        sequence(time(validity.notBefore), time(validity.notAfter)),
        subject,
        spki,
        tlv(TAG.CONTEXT_3, sequence(...leafExtensions(), sanExt, aki, skiExt)),
      );
      const signature = sign(algorithm.hash, tbs, signingKey);
      const certDer = sequence(tbs, algorithm.algorithmId, tlv(TAG.BIT_STRING, Buffer.from([0]), signature));
      return {
        certDer,
        certPem: toPem(certDer, 'CERTIFICATE'),
        keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        ...validity,
      };
    },
  };
}

// Keyed by the CA certificate object so a long-lived CA is prepared once (pass the same caKey
// object each time too); entries go away with the certificate.
const issuers = new WeakMap<x509.X509Certificate, { caKey: CryptoKey | KeyObject; issuer: LeafIssuer }>();

export function issueLeaf(options: IssueLeafOptions): LeafCert {
  const { caCert, caKey, host, days } = options;
  let entry = issuers.get(caCert);
  if (entry?.caKey !== caKey) {
    entry = { caKey, issuer: createLeafIssuer(caCert, caKey) };
    issuers.set(caCert, entry);
  }
  return entry.issuer.issue(host, days);
}
