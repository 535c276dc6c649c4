import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { CertBundle } from './bundle.js';
import { CertsError } from './errors.js';
import { exportPrivateKeyPem, generateKeyPair, signingAlgorithmFor, type KeyType } from './keys.js';
import { certificateDers, toPem } from './pem.js';
import { assertCommonName, assertDays, randomSerialHex, validityWindow } from './template.js';
import { x509 } from './x509.js';

export interface CreateCAOptions {
  cn?: string;
  days?: number;
  keyType?: KeyType;
  rsaBits?: number;
}

export async function createCA(options: CreateCAOptions = {}): Promise<CertBundle> {
  const { cn = 'egresskit CA', days = 3650, keyType = 'ec', rsaBits } = options;
  assertCommonName(cn, 'CA common name');
  assertDays(days);
  const keys = await generateKeyPair(keyType, rsaBits);
  const { notBefore, notAfter } = validityWindow(days);
  const name = new x509.Name([{ CN: [cn] }]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: name,
    issuer: name,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: signingAlgorithmFor(keys.privateKey),
    extensions: [
      // pathLen 0: this CA signs leaves only; a leaked leaf key can never act as an intermediate.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, certPem: toPem(cert.rawData, 'CERTIFICATE'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/**
 * Fails early, with the file names, on the two mistakes that otherwise surface as an opaque
 * handshake error much later: a certificate that is not a CA, and a key from another pair.
 */
export function assertUsableCA(cert: x509.X509Certificate, keyPem: string, where = 'the CA'): void {
  const nodeCert = new X509Certificate(Buffer.from(cert.rawData));
  if (!nodeCert.ca) {
    throw new CertsError('CA_INVALID', `${where}: the certificate (${cert.subject}) is not a CA (basicConstraints CA:false); create a CA with: egresskit certs ca --out DIR`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new CertsError('NOT_PEM', `${where}: the key is not an unencrypted PEM private key (${(err as Error).message})`, { cause: err });
  }
  if (!nodeCert.checkPrivateKey(key)) {
    throw new CertsError('KEY_MISMATCH', `${where}: the private key does not match the certificate (${cert.subject}); ca.crt and ca.key must come from the same 'egresskit certs ca' run`);
  }
}

/** Parses the first certificate of a PEM text, naming `where` if it is not one. */
export function parseCertificatePem(certPem: string, where: string): x509.X509Certificate {
  const [der] = certificateDers(certPem, where);
  try {
    return new x509.X509Certificate(der ?? Buffer.alloc(0));
  } catch (err) {
    throw new CertsError('CA_INVALID', `${where} is not a valid X.509 certificate (${(err as Error).message})`, { cause: err });
  }
}
