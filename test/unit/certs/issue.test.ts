import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { createCA, issueCert, x509, type CertBundle, type KeyType } from '../../../src/certs/index.js';
import { errorWith } from './helpers.js';

const DAY = 86_400_000;
let ecCA: CertBundle;
let rsaCA: CertBundle;

before(async () => {
  [ecCA, rsaCA] = await Promise.all([createCA(), createCA({ keyType: 'rsa' })]);
});

const matrix: { kind: 'server' | 'client'; keyType: KeyType; ca: () => CertBundle; eku: string; days: number }[] = [
  { kind: 'server', keyType: 'ec', ca: () => ecCA, eku: x509.ExtendedKeyUsage.serverAuth, days: 825 },
  { kind: 'client', keyType: 'ec', ca: () => ecCA, eku: x509.ExtendedKeyUsage.clientAuth, days: 365 },
  { kind: 'server', keyType: 'rsa', ca: () => rsaCA, eku: x509.ExtendedKeyUsage.serverAuth, days: 825 },
  { kind: 'client', keyType: 'rsa', ca: () => ecCA, eku: x509.ExtendedKeyUsage.clientAuth, days: 365 },
];

for (const m of matrix) {
  test(`issueCert ${m.kind} (${m.keyType} key) has leaf extensions and chains to the CA`, async () => {
    const ca = m.ca();
    const leaf = await issueCert({ ca, kind: m.kind, cn: `test ${m.kind}`, sans: ['svc.example', '10.0.0.7'], keyType: m.keyType });
    const cert = new x509.X509Certificate(leaf.certPem);

    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc);
    assert.equal(bc.ca, false);
    assert.equal(bc.critical, true);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    assert.ok(ku);
    assert.equal(ku.critical, true);
    const expectedUsage = x509.KeyUsageFlags.digitalSignature | (m.keyType === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0);
    assert.equal(ku.usages, expectedUsage);
    assert.deepEqual([...(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [m.eku]);
    assert.equal(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
    assert.equal(cert.issuer, ca.cert.subject);
    assert.equal(cert.subject, `CN=test ${m.kind}`);
    assert.ok(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }));
    assert.ok(Math.abs(cert.notAfter.getTime() - (Date.now() + m.days * DAY)) < 5_000);

    const node = new X509Certificate(leaf.certPem);
    const nodeCA = new X509Certificate(ca.certPem);
    assert.equal(node.ca, false);
    assert.ok(node.checkIssued(nodeCA));
    assert.ok(node.verify(nodeCA.publicKey));
    assert.equal(node.subjectAltName, 'DNS:svc.example, IP Address:10.0.0.7');
    assert.deepEqual(node.keyUsage, [m.eku]);
    assert.equal(node.publicKey.asymmetricKeyType, m.keyType);
    assert.ok(node.checkPrivateKey(createPrivateKey(leaf.keyPem)));
  });
}

test('a server certificate without SANs gets its CN as a DNS SAN', async () => {
  const leaf = await issueCert({ ca: ecCA, kind: 'server', cn: 'Proxy.Example' });
  assert.equal(new X509Certificate(leaf.certPem).subjectAltName, 'DNS:proxy.example');
});

test('a server certificate needs a SAN when its CN is not a host name', async () => {
  await assert.rejects(issueCert({ ca: ecCA, kind: 'server', cn: 'egresskit proxy' }), errorWith('INVALID_INPUT', /CN 'egresskit proxy'.*--san/));
});

test('a client certificate may have no SANs, or a SPIFFE ID', async () => {
  const bare = await issueCert({ ca: ecCA, kind: 'client', cn: 'batch job' });
  assert.equal(new X509Certificate(bare.certPem).subjectAltName, undefined);
  const spiffe = await issueCert({ ca: ecCA, kind: 'client', cn: 'api', sans: ['spiffe://cluster.local/ns/payments/sa/api'] });
  assert.equal(new X509Certificate(spiffe.certPem).subjectAltName, 'URI:spiffe://cluster.local/ns/payments/sa/api');
});

test('issueCert accepts a CA as PEM text only', async () => {
  const leaf = await issueCert({ ca: { certPem: ecCA.certPem, keyPem: ecCA.keyPem }, kind: 'client', cn: 'c' });
  assert.ok(new X509Certificate(leaf.certPem).checkIssued(new X509Certificate(ecCA.certPem)));
});

test('a leaf never outlives its CA', async () => {
  const shortCA = await createCA({ days: 10 });
  const leaf = await issueCert({ ca: shortCA, kind: 'server', cn: 'x.example' });
  assert.equal(leaf.cert.notAfter.getTime(), shortCA.cert.notAfter.getTime());
});

test('issueCert refuses a key from another CA, a non-CA issuer, bad SANs and unknown kinds', async () => {
  await assert.rejects(
    issueCert({ ca: { certPem: ecCA.certPem, keyPem: rsaCA.keyPem }, kind: 'client', cn: 'c' }),
    errorWith('KEY_MISMATCH', /does not match the certificate/),
  );
  const leaf = await issueCert({ ca: ecCA, kind: 'client', cn: 'c' });
  await assert.rejects(issueCert({ ca: leaf, kind: 'client', cn: 'd' }), errorWith('CA_INVALID', /is not a CA/));
  await assert.rejects(issueCert({ ca: ecCA, kind: 'server', cn: 'x', sans: ['ok.example', 'bad name'] }), errorWith('INVALID_INPUT', /invalid SAN 'bad name'/));
  await assert.rejects(issueCert({ ca: ecCA, kind: 'peer' as 'server', cn: 'x' }), errorWith('INVALID_INPUT', /unknown certificate kind 'peer'/));
});
