import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createCA, generateKeyPair, x509, type KeyType } from '../../../src/certs/index.js';
import { errorWith } from './helpers.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

const variants: { keyType: KeyType; nodeKeyType: string; detail: Record<string, unknown>; sigAlg: string }[] = [
  { keyType: 'ec', nodeKeyType: 'ec', detail: { namedCurve: 'prime256v1' }, sigAlg: 'ECDSA' },
  { keyType: 'rsa', nodeKeyType: 'rsa', detail: { modulusLength: 2048 }, sigAlg: 'RSASSA-PKCS1-v1_5' },
];

for (const v of variants) {
  test(`createCA (${v.keyType}) makes a constrained, self-signed CA`, async () => {
    const started = Date.now();
    const ca = await createCA({ keyType: v.keyType });

    // As @peculiar/x509 reads it.
    const cert = new x509.X509Certificate(ca.certPem);
    assert.equal(cert.subject, 'CN=egresskit CA');
    assert.equal(cert.issuer, 'CN=egresskit CA');
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    assert.ok(bc);
    assert.equal(bc.ca, true);
    assert.equal(bc.pathLength, 0);
    assert.equal(bc.critical, true);
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    assert.ok(ku);
    assert.equal(ku.critical, true);
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    assert.ok(ski);
    assert.equal(ski.keyId, Buffer.from(await cert.publicKey.getKeyIdentifier()).toString('hex'));
    assert.equal((cert.signatureAlgorithm as unknown as { name: string }).name, v.sigAlg);
    assert.equal((cert.signatureAlgorithm.hash as { name: string }).name, 'SHA-256');
    assert.ok(await cert.verify({ signatureOnly: true }));

    // Serial: 16 bytes, positive.
    assert.match(cert.serialNumber, /^[0-7][0-9a-f]{31}$/);
    assert.notEqual(cert.serialNumber, new x509.X509Certificate((await createCA()).certPem).serialNumber);

    // Backdated an hour for clock skew; ten years by default.
    assert.ok(Math.abs(cert.notBefore.getTime() - (started - HOUR)) < 5_000);
    assert.ok(Math.abs(cert.notAfter.getTime() - (started + 3650 * DAY)) < 5_000);

    // As node:crypto (OpenSSL) reads it.
    const node = new X509Certificate(ca.certPem);
    assert.equal(node.ca, true);
    assert.ok(node.checkIssued(node));
    assert.ok(node.verify(node.publicKey));
    assert.equal(node.publicKey.asymmetricKeyType, v.nodeKeyType);
    for (const [k, val] of Object.entries(v.detail)) {
      assert.equal((node.publicKey.asymmetricKeyDetails as Record<string, unknown>)[k], val);
    }
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.ok(ca.cert instanceof x509.X509Certificate);
    assert.equal(ca.cert.serialNumber, cert.serialNumber);
  });
}

test('createCA honours cn and days', async () => {
  const ca = await createCA({ cn: 'Payments, Inc. egress CA', days: 30 });
  assert.equal(ca.cert.subjectName.getField('CN')[0], 'Payments, Inc. egress CA');
  assert.ok(Math.abs(ca.cert.notAfter.getTime() - (Date.now() + 30 * DAY)) < 5_000);
});

const invalid: [string, Parameters<typeof createCA>[0], RegExp][] = [
  ['unknown key type', { keyType: 'dsa' as KeyType }, /unknown key type 'dsa'.*'ec'.*'rsa'/],
  ['RSA too small', { keyType: 'rsa', rsaBits: 1024 }, /unsupported RSA key size '1024'.*2048, 3072, 4096/],
  ['RSA odd size', { keyType: 'rsa', rsaBits: 2049 }, /unsupported RSA key size '2049'/],
  ['zero days', { days: 0 }, /days must be a whole number/],
  ['fractional days', { days: 1.5 }, /days must be a whole number/],
  ['empty cn', { cn: '' }, /must be a non-empty string/],
  ['cn over 64 chars', { cn: 'x'.repeat(65) }, /65 characters; the X.509 limit is 64/],
];
for (const [name, options, pattern] of invalid) {
  test(`createCA rejects ${name}`, async () => {
    await assert.rejects(createCA(options), errorWith('INVALID_INPUT', pattern));
  });
}

test('generateKeyPair: EC P-256 by default, RSA sizes limited', async () => {
  const ec = await generateKeyPair('ec');
  assert.deepEqual(ec.privateKey.algorithm, { name: 'ECDSA', namedCurve: 'P-256' });
  const rsa = await generateKeyPair('rsa');
  assert.equal((rsa.privateKey.algorithm as unknown as { modulusLength: number }).modulusLength, 2048);
  for (const bits of [512, 1024, 8192]) {
    await assert.rejects(generateKeyPair('rsa', bits), /unsupported RSA key size/);
  }
});
