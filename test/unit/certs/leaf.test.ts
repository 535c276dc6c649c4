import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { createCA, createLeafIssuer, issueLeaf, x509, type CertBundle } from '../../../src/certs/index.js';
import { importPrivateKeyPem } from '../../../src/certs/keys.js';
import { errorWith } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
let ca: CertBundle;
let nodeCA: X509Certificate;

before(async () => {
  ca = await createCA();
  nodeCA = new X509Certificate(ca.certPem);
});

const hosts: [string, string, string][] = [
  ['api.example.com', 'CN=api.example.com', 'DNS:api.example.com'],
  ['API.Example.com.', 'CN=api.example.com', 'DNS:api.example.com'],
  ['203.0.113.9', 'CN=203.0.113.9', 'IP Address:203.0.113.9'],
  ['[2001:db8::5]', 'CN=2001:db8::5', 'IP Address:2001:DB8:0:0:0:0:0:5'],
];

for (const [host, subject, san] of hosts) {
  test(`issueLeaf(${host}) is a serverAuth leaf signed by the CA`, async () => {
    const started = Date.now();
    const leaf = issueLeaf({ caCert: ca.cert, caKey: createPrivateKey(ca.keyPem), host });
    const node = new X509Certificate(leaf.certPem);
    assert.equal(node.subject, subject);
    assert.equal(node.subjectAltName, san);
    assert.equal(node.issuer, nodeCA.subject);
    assert.equal(node.ca, false);
    assert.ok(node.checkIssued(nodeCA));
    assert.ok(node.verify(nodeCA.publicKey));
    assert.deepEqual(node.keyUsage, [x509.ExtendedKeyUsage.serverAuth]);
    assert.ok(node.checkPrivateKey(createPrivateKey(leaf.keyPem)));
    assert.deepEqual(leaf.certDer, node.raw);
    assert.equal(node.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');

    const cert = new x509.X509Certificate(leaf.certDer);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.critical, true);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
    assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.critical, true);
    assert.equal(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    assert.equal(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex'));
    assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)?.critical, false);
    assert.ok(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }));
    assert.match(cert.serialNumber, /^[0-7][0-9a-f]{31}$/);

    assert.ok(Math.abs(leaf.notBefore.getTime() - (started - HOUR)) < 5_000);
    assert.ok(Math.abs(leaf.notAfter.getTime() - (started + 7 * DAY)) < 5_000);
    assert.equal(new Date(node.validTo).getTime(), leaf.notAfter.getTime());
    assert.equal(new Date(node.validFrom).getTime(), leaf.notBefore.getTime());
  });
}

test('a host name longer than the CN limit goes in a critical SAN with an empty subject', () => {
  const host = `${'a'.repeat(60)}.${'b'.repeat(60)}.example`;
  const leaf = issueLeaf({ caCert: ca.cert, caKey: createPrivateKey(ca.keyPem), host });
  const node = new X509Certificate(leaf.certPem);
  assert.ok(!node.subject, 'empty subject');
  assert.equal(node.subjectAltName, `DNS:${host}`);
  assert.ok(node.verify(nodeCA.publicKey));
  assert.equal(new x509.X509Certificate(leaf.certDer).getExtension(x509.SubjectAlternativeNameExtension)?.critical, true);
});

test('each leaf has a fresh key and serial', () => {
  const caKey = createPrivateKey(ca.keyPem);
  const a = new X509Certificate(issueLeaf({ caCert: ca.cert, caKey, host: 'same.example' }).certPem);
  const b = new X509Certificate(issueLeaf({ caCert: ca.cert, caKey, host: 'same.example' }).certPem);
  assert.notEqual(a.serialNumber, b.serialNumber);
  assert.notDeepEqual(a.publicKey.export({ type: 'spki', format: 'der' }), b.publicKey.export({ type: 'spki', format: 'der' }));
});

test('issueLeaf takes the CA key as a CryptoKey too, and works with an RSA CA', async () => {
  const fromCryptoKey = issueLeaf({ caCert: ca.cert, caKey: await importPrivateKeyPem(ca.keyPem), host: 'ck.example' });
  assert.ok(new X509Certificate(fromCryptoKey.certPem).verify(nodeCA.publicKey));

  const rsaCA = await createCA({ keyType: 'rsa' });
  const leaf = issueLeaf({ caCert: rsaCA.cert, caKey: createPrivateKey(rsaCA.keyPem), host: 'rsa.example' });
  const node = new X509Certificate(leaf.certPem);
  assert.ok(node.verify(new X509Certificate(rsaCA.certPem).publicKey));
  assert.equal((new x509.X509Certificate(leaf.certDer).signatureAlgorithm as unknown as { name: string }).name, 'RSASSA-PKCS1-v1_5');
});

test('issueLeaf stays inside the CA validity and honours days', async () => {
  const shortCA = await createCA({ days: 2 });
  const leaf = issueLeaf({ caCert: shortCA.cert, caKey: createPrivateKey(shortCA.keyPem), host: 'x.example' });
  assert.equal(leaf.notAfter.getTime(), shortCA.cert.notAfter.getTime());
  const oneDay = issueLeaf({ caCert: ca.cert, caKey: createPrivateKey(ca.keyPem), host: 'x.example', days: 1 });
  assert.ok(Math.abs(oneDay.notAfter.getTime() - (Date.now() + DAY)) < 5_000);
});

test('issueLeaf rejects a foreign key, URIs and bad hosts', async () => {
  const other = await createCA();
  assert.throws(() => issueLeaf({ caCert: ca.cert, caKey: createPrivateKey(other.keyPem), host: 'a.example' }), errorWith('KEY_MISMATCH', /does not belong/));
  const caKey = createPrivateKey(ca.keyPem);
  assert.throws(() => issueLeaf({ caCert: ca.cert, caKey, host: 'spiffe://td/x' }), errorWith('INVALID_INPUT', /is a URI/));
  assert.throws(() => issueLeaf({ caCert: ca.cert, caKey, host: 'bad host' }), errorWith('INVALID_INPUT', /invalid SAN 'bad host'/));
  assert.throws(() => issueLeaf({ caCert: ca.cert, caKey, host: 'a.example', days: 0 }), errorWith('INVALID_INPUT', /days/));
});

test('issueLeaf timing (reported, not asserted)', (t) => {
  const caKey = createPrivateKey(ca.keyPem);
  const issuer = createLeafIssuer(ca.cert, caKey);
  for (let i = 0; i < 50; i++) issuer.issue(`warm${i}.example`);
  const n = 1000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) issueLeaf({ caCert: ca.cert, caKey, host: `host${i}.example.com` });
  const perLeaf = (performance.now() - t0) / n;
  t.diagnostic(`issueLeaf: ${perLeaf.toFixed(3)} ms per certificate (${n} leaves, EC P-256 CA)`);
  console.log(`issueLeaf: ${perLeaf.toFixed(3)} ms per certificate over ${n} leaves`);
});

test('validity past 2049 is encoded as GeneralizedTime and parses back', async () => {
  const longCA = await createCA({ days: 36_500 });
  const leaf = issueLeaf({ caCert: longCA.cert, caKey: createPrivateKey(longCA.keyPem), host: 'far.example', days: 30_000 });
  const node = new X509Certificate(leaf.certPem);
  assert.ok(leaf.notAfter.getUTCFullYear() > 2050);
  assert.equal(new Date(node.validTo).getTime(), leaf.notAfter.getTime());
  assert.equal(new x509.X509Certificate(leaf.certDer).notAfter.getTime(), leaf.notAfter.getTime());
  assert.ok(node.verify(new X509Certificate(longCA.certPem).publicKey));
});
