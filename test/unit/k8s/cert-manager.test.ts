import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ICertificate } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate';
import type { IIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/Issuer';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { one, ofKind, render } from './helpers.js';

const SERVICE_NAMES = ['egresskit-mtls', 'egresskit-mtls.egress', 'egresskit-mtls.egress.svc', 'egresskit-mtls.egress.svc.cluster.local'];

const cases: { name: string; issuer?: { name: string; kind: 'Issuer' | 'ClusterIssuer' }; issuers: string[]; ref: { name: string; kind: string } }[] = [
  {
    name: 'without --issuer: a self-signed bootstrap CA and its Issuer',
    issuers: ['egresskit-mtls-selfsigned', 'egresskit-mtls-ca'],
    ref: { name: 'egresskit-mtls-ca', kind: 'Issuer' },
  },
  { name: 'with --issuer corp-ca', issuer: { name: 'corp-ca', kind: 'Issuer' }, issuers: [], ref: { name: 'corp-ca', kind: 'Issuer' } },
  { name: 'with a ClusterIssuer', issuer: { name: 'corp-ca', kind: 'ClusterIssuer' }, issuers: [], ref: { name: 'corp-ca', kind: 'ClusterIssuer' } },
];

for (const c of cases) {
  test(`render mtls --cert-manager ${c.name}`, () => {
    const objects = render({ mode: 'mtls', namespace: 'egress', certManager: { issuer: c.issuer } });
    for (const { object } of objects) assert.doesNotThrow(() => object.validate(), object.kind);
    assert.deepEqual(
      ofKind<IIssuer>(objects, 'Issuer').map((i) => i.metadata!.name),
      c.issuers,
    );
    const server = one<ICertificate>(objects, 'Certificate', 'egresskit-mtls');
    assert.deepEqual(server.spec.dnsNames, SERVICE_NAMES);
    assert.deepEqual(server.spec.usages, ['server auth', 'digital signature']);
    assert.deepEqual(server.spec.issuerRef, { ...c.ref, group: 'cert-manager.io' });
    // The Deployment mounts exactly the Secret cert-manager writes.
    const pod = one<IDeployment>(objects, 'Deployment').spec!.template.spec!;
    assert.equal(pod.volumes!.find((v) => v.name === 'tls')?.secret?.secretName, server.spec.secretName);

    const client = one<ICertificate>(objects, 'Certificate', 'egresskit-mtls-example-client');
    assert.deepEqual(client.spec.usages, ['client auth', 'digital signature']);
    assert.deepEqual(client.spec.uris, ['spiffe://cluster.local/ns/egress/sa/example-client']);
    assert.deepEqual(client.spec.issuerRef, server.spec.issuerRef);
    assert.notEqual(client.spec.secretName, server.spec.secretName);
  });
}

test('render mtls --cert-manager: the bootstrap CA is a CA signed by the self-signed Issuer, and the CA Issuer uses its Secret', () => {
  const objects = render({ mode: 'mtls', certManager: {} });
  const ca = one<ICertificate>(objects, 'Certificate', 'egresskit-mtls-ca');
  assert.equal(ca.spec.isCA, true);
  assert.equal(ca.spec.issuerRef.name, 'egresskit-mtls-selfsigned');
  assert.deepEqual(one<IIssuer>(objects, 'Issuer', 'egresskit-mtls-selfsigned').spec, { selfSigned: {} });
  assert.deepEqual(one<IIssuer>(objects, 'Issuer', 'egresskit-mtls-ca').spec, { ca: { secretName: ca.spec.secretName } });
  // Issuers and Certificates come before the Deployment that waits for their Secret.
  const kinds = objects.map((o) => o.object.kind);
  assert.ok(kinds.lastIndexOf('Certificate') < kinds.indexOf('Deployment'));
});
