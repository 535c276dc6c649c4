import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { parse } from 'yaml';
import { createCA, issueCert, k8sTlsSecretYaml, type CertBundle } from '../../../src/certs/index.js';
import { errorWith } from './helpers.js';

let ca: CertBundle;
let server: CertBundle;

before(async () => {
  ca = await createCA();
  server = await issueCert({ ca, kind: 'server', cn: 'proxy.egress.svc' });
});

const decode = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');

test('k8sTlsSecretYaml writes a kubernetes.io/tls Secret that decodes back', () => {
  const yaml = k8sTlsSecretYaml({ name: 'egress-proxy-tls', namespace: 'egress', certPem: server.certPem, keyPem: server.keyPem, caPem: ca.certPem });
  const doc = parse(yaml) as { apiVersion: string; kind: string; type: string; metadata: Record<string, string>; data: Record<string, string> };
  assert.equal(doc.apiVersion, 'v1');
  assert.equal(doc.kind, 'Secret');
  assert.equal(doc.type, 'kubernetes.io/tls');
  assert.deepEqual(doc.metadata, { name: 'egress-proxy-tls', namespace: 'egress' });
  assert.deepEqual(Object.keys(doc.data), ['tls.crt', 'tls.key', 'ca.crt']);
  assert.equal(decode(doc.data['tls.crt'] ?? ''), server.certPem);
  assert.equal(decode(doc.data['tls.key'] ?? ''), server.keyPem);
  assert.equal(decode(doc.data['ca.crt'] ?? ''), ca.certPem);
  // One line per value: base64 folded across lines makes diffs and grep useless.
  assert.ok(yaml.split('\n').some((l) => l.startsWith('  tls.crt: ') && l.length > 200));
});

test('namespace and ca.crt are optional', () => {
  const doc = parse(k8sTlsSecretYaml({ name: 'x', certPem: server.certPem, keyPem: server.keyPem })) as { metadata: object; data: object };
  assert.deepEqual(doc.metadata, { name: 'x' });
  assert.deepEqual(Object.keys(doc.data), ['tls.crt', 'tls.key']);
});

const invalid: [string, Partial<Parameters<typeof k8sTlsSecretYaml>[0]>, string, RegExp][] = [
  ['upper-case name', { name: 'Proxy' }, 'INVALID_INPUT', /Secret name 'Proxy' is not valid/],
  ['name with underscore', { name: 'a_b' }, 'INVALID_INPUT', /Secret name 'a_b'/],
  ['dotted namespace', { namespace: 'a.b' }, 'INVALID_INPUT', /namespace 'a\.b' is not valid/],
  ['swapped cert and key', { certPem: 'KEY', keyPem: 'CERT' }, 'NOT_PEM', /no PEM certificate/],
];
for (const [name, override, code, pattern] of invalid) {
  test(`k8sTlsSecretYaml rejects ${name}`, () => {
    const options = { name: 'ok', certPem: server.certPem, keyPem: server.keyPem, ...override };
    if (override.certPem === 'KEY') Object.assign(options, { certPem: server.keyPem, keyPem: server.certPem });
    assert.throws(() => k8sTlsSecretYaml(options), errorWith(code, pattern));
  });
}

test('k8sTlsSecretYaml refuses a key that does not match the certificate, like kubectl', () => {
  assert.throws(() => k8sTlsSecretYaml({ name: 'x', certPem: server.certPem, keyPem: ca.keyPem }), errorWith('KEY_MISMATCH', /does not match/));
});
