import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, importPrivateKeyPem, signingAlgorithmFor, exportPrivateKeyPem } from '../../src/certs/keys.js';
import { x509 } from '../../src/certs/x509.js';

/** Certificates the CLI refuses to make on purpose (expired), and CRLs, for negative tests. */
export async function expiredClientCert(caDir: string): Promise<{ certPem: string; keyPem: string }> {
  const caCert = new x509.X509Certificate(await readFile(join(caDir, 'ca.crt'), 'utf8'));
  const caKey = await importPrivateKeyPem(await readFile(join(caDir, 'ca.key'), 'utf8'));
  const keys = await generateKeyPair('ec');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0badc0de01',
    subject: 'CN=expired client',
    issuer: caCert.subjectName,
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: signingAlgorithmFor(caKey),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

export async function crlRevoking(caDir: string, certPems: string[]): Promise<string> {
  const caCert = new x509.X509Certificate(await readFile(join(caDir, 'ca.crt'), 'utf8'));
  const caKey = await importPrivateKeyPem(await readFile(join(caDir, 'ca.key'), 'utf8'));
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCert.subjectName,
    thisUpdate: new Date(Date.now() - 60_000),
    nextUpdate: new Date(Date.now() + 86_400_000),
    entries: certPems.map((pem) => ({ serialNumber: new x509.X509Certificate(pem).serialNumber, revocationDate: new Date(Date.now() - 60_000) })),
    signingKey: caKey,
    signingAlgorithm: signingAlgorithmFor(caKey),
  });
  return crl.toString('pem');
}

/** A client certificate that is valid now and expires `ms` from now (whole seconds: X.509 times have no finer grain). */
export async function shortLivedClientCert(caDir: string, ms: number): Promise<{ certPem: string; keyPem: string; notAfter: Date }> {
  const caCert = new x509.X509Certificate(await readFile(join(caDir, 'ca.crt'), 'utf8'));
  const caKey = await importPrivateKeyPem(await readFile(join(caDir, 'ca.key'), 'utf8'));
  const keys = await generateKeyPair('ec');
  const notAfter = new Date(Math.ceil((Date.now() + ms) / 1000) * 1000);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0badc0de02',
    subject: 'CN=short-lived client',
    issuer: caCert.subjectName,
    notBefore: new Date(Date.now() - 60_000),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: signingAlgorithmFor(caKey),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey), notAfter };
}
