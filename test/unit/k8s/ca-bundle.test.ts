import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { rootCertificates } from 'node:tls';
import { parseDocument } from 'yaml';
import { createCA } from '../../../src/certs/index.js';
import { caBundle, caConfigMap, caConfigMapYaml } from '../../../src/k8s/ca-bundle.js';
import { K8sError } from '../../../src/k8s/errors.js';

const certCount = (pem: string): number => pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
const proxyCa = createCA({ cn: 'egresskit test proxy CA' });
const otherCa = createCA({ cn: 'egresskit other CA' });

test('the bundle is Node\'s roots plus the proxy CA, every one a valid certificate', async () => {
  const { certPem } = await proxyCa;
  const bundle = caBundle(certPem);
  assert.equal(certCount(bundle), rootCertificates.length + 1);
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!;
  assert.equal(blocks.join(''), bundle, 'nothing but PEM blocks (some clients choke on text between them)');
  assert.equal(new X509Certificate(blocks.at(-1)!).subject, 'CN=egresskit test proxy CA');
});

test('--system-roots replaces Node\'s roots; duplicates are listed once', async () => {
  const [{ certPem }, other] = await Promise.all([proxyCa, otherCa]);
  const bundle = caBundle(`${certPem}\n${certPem}`, `junk before\n${other.certPem}${certPem}`);
  assert.equal(certCount(bundle), 2);
  assert.ok(bundle.startsWith(new X509Certificate(other.certPem).toString()));
});

const bad: [string, string, string | undefined, RegExp][] = [
  ['a CA file without certificates', 'not a pem', undefined, /--ca contains no PEM certificate.*openssl x509 -inform der/],
  ['a key instead of a certificate', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', undefined, /--ca contains no PEM certificate/],
  ['a corrupt certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', undefined, /--ca: certificate 1 is not a valid X\.509 certificate/],
  ['empty system roots', 'PROXY', '', /--system-roots contains no PEM certificate/],
];
for (const [name, ca, roots, pattern] of bad) {
  test(`ca bundle refuses ${name}`, async () => {
    const caPem = ca === 'PROXY' ? (await proxyCa).certPem : ca;
    assert.throws(
      () => caBundle(caPem, roots),
      (err: unknown) => err instanceof K8sError && pattern.test(err.message),
    );
  });
}

test('ca-configmap: a valid ConfigMap with ca-bundle.crt and a comment saying why the roots are in it', async () => {
  const { certPem } = await proxyCa;
  const object = caConfigMap({ caPem: certPem, namespace: 'team-a' });
  assert.doesNotThrow(() => object.validate());
  const yaml = caConfigMapYaml({ caPem: certPem, namespace: 'team-a' });
  const doc = parseDocument(yaml);
  assert.deepEqual(doc.errors, []);
  const js = doc.toJS() as { kind: string; metadata: { name: string; namespace: string }; data: Record<string, string> };
  assert.equal(js.kind, 'ConfigMap');
  assert.deepEqual(js.metadata.name, 'egresskit-ca-bundle');
  assert.deepEqual(js.metadata.namespace, 'team-a');
  assert.deepEqual(Object.keys(js.data), ['ca-bundle.crt']);
  assert.equal(certCount(js.data['ca-bundle.crt']!), rootCertificates.length + 1);
  assert.match(yaml, /^# .*system roots plus the proxy CA/);
  assert.match(yaml, /REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE replace the\n# trust store \(NODE_EXTRA_CA_CERTS only adds to it\)/);
  assert.ok(Buffer.byteLength(yaml) < 256 * 1024, 'must fit the last-applied annotation of client-side kubectl apply');
});

test('ca-configmap refuses bad names', async () => {
  const { certPem } = await proxyCa;
  assert.throws(() => caConfigMap({ caPem: certPem, name: 'CA Bundle' }), /--name 'CA Bundle' is not a valid Kubernetes name/);
  assert.throws(() => caConfigMap({ caPem: certPem, namespace: 'Team' }), /--namespace 'Team' is not a valid namespace/);
});
