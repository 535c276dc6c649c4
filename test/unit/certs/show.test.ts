import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { concatPem, createCA, describeCert, describeCerts, formatCertDescription, issueCert, type CertBundle } from '../../../src/certs/index.js';
import { errorWith } from './helpers.js';

let ca: CertBundle;
let server: CertBundle;
let serverPem: string;

before(async () => {
  ca = await createCA();
  server = await issueCert({ ca, kind: 'server', cn: 'egresskit proxy', sans: ['localhost', '127.0.0.1', '::1', 'spiffe://td/proxy'] });
  serverPem = concatPem(server.certPem, ca.certPem, server.keyPem);
});

test('describeCerts describes every certificate of a cert+CA+key file, in order', () => {
  const [leaf, root, ...rest] = describeCerts(serverPem);
  assert.equal(rest.length, 0);
  assert.ok(leaf && root);

  assert.equal(leaf.subject, 'CN=egresskit proxy');
  assert.equal(leaf.issuer, 'CN=egresskit CA');
  assert.deepEqual(leaf.sans, { dns: ['localhost'], ip: ['127.0.0.1', '::1'], uri: ['spiffe://td/proxy'] });
  assert.equal(leaf.isCA, false);
  assert.equal(leaf.keyType, 'EC P-256');
  assert.deepEqual(leaf.keyUsage, ['digitalSignature']);
  assert.deepEqual(leaf.extKeyUsage, ['serverAuth']);
  assert.equal(leaf.notAfter.getTime(), server.cert.notAfter.getTime());
  assert.equal(leaf.notBefore.getTime(), server.cert.notBefore.getTime());

  const node = new X509Certificate(server.certPem);
  assert.equal(leaf.serial, node.serialNumber.toUpperCase());
  assert.equal(leaf.sha256Fingerprint, node.fingerprint256);
  assert.equal(leaf.sha256Fingerprint.replace(/:/g, ''), createHash('sha256').update(node.raw).digest('hex').toUpperCase());
  assert.match(leaf.sha256Fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);

  assert.equal(root.isCA, true);
  assert.deepEqual(root.keyUsage, ['keyCertSign', 'cRLSign']);
  assert.deepEqual(root.extKeyUsage, []);
  assert.deepEqual(root.sans, { dns: [], ip: [], uri: [] });

  assert.deepEqual(describeCert(serverPem), leaf);
});

test('describeCert reports RSA keys and client usage', async () => {
  const client = await issueCert({ ca, kind: 'client', cn: 'c', keyType: 'rsa' });
  const d = describeCert(client.certPem);
  assert.equal(d.keyType, 'RSA 2048');
  assert.deepEqual(d.keyUsage, ['digitalSignature', 'keyEncipherment']);
  assert.deepEqual(d.extKeyUsage, ['clientAuth']);
});

const notPem: [string, string][] = [
  ['plain text', 'hello world'],
  ['a key only', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'],
  ['empty', ''],
];
for (const [name, input] of notPem) {
  test(`describeCerts rejects ${name}`, () => {
    assert.throws(() => describeCerts(input, 'in.pem'), errorWith('NOT_PEM', /in\.pem contains no PEM certificate.*BEGIN CERTIFICATE.*openssl x509 -inform der/));
  });
}

test('describeCerts rejects DER input with the conversion hint', () => {
  const der = new X509Certificate(ca.certPem).raw.toString('latin1');
  assert.throws(() => describeCerts(der), errorWith('NOT_PEM', /-inform der/));
});

test('describeCerts rejects a PEM block that is not a certificate inside', () => {
  assert.throws(() => describeCerts('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'x.pem'), errorWith('NOT_PEM', /certificate 1 in x\.pem cannot be parsed/));
});

test('formatCertDescription renders readable lines with the validity status', () => {
  const descriptions = describeCerts(serverPem);
  const text = formatCertDescription(descriptions, { now: new Date(server.cert.notBefore.getTime() + 86_400_000 * 10) });
  const lines = text.split('\n');
  assert.equal(lines[0], 'Certificate 1 of 2');
  assert.ok(lines.includes('  Subject:       CN=egresskit proxy'));
  assert.ok(lines.includes('  SANs:          DNS:localhost, IP:127.0.0.1, IP:::1, URI:spiffe://td/proxy'));
  assert.ok(lines.includes('  Ext key usage: serverAuth'));
  assert.ok(lines.includes('  CA:            yes'));
  assert.ok(lines.includes('Certificate 2 of 2'));
  assert.match(text, /Valid until: {3}\S+ \(expires in \d+ days\)/);
  assert.match(formatCertDescription(descriptions[0]!, { now: new Date(server.cert.notAfter.getTime() + 3 * 86_400_000) }), /\(EXPIRED 3 days ago\)/);
  assert.match(formatCertDescription(descriptions[0]!, { now: new Date(server.cert.notBefore.getTime() - 86_400_000) }), /\(not valid yet/);
  assert.doesNotMatch(formatCertDescription(descriptions[0]!), /of 1/);
});
