import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parse, parseAllDocuments } from 'yaml';
import { MODE_PROFILES, RENDER_MODES, type RenderMode } from '../../../src/k8s/modes.js';
import { defaultReplicas } from '../../../src/k8s/options.js';
import { renderYaml } from '../../../src/k8s/render.js';
import { one, ofKind, render } from './helpers.js';

const variants: { name: string; mode: RenderMode; certManager?: boolean; createNamespace?: boolean }[] = [
  { name: 'forward', mode: 'forward' },
  { name: 'forward with namespace', mode: 'forward', createNamespace: true },
  { name: 'mtls', mode: 'mtls' },
  { name: 'mtls with cert-manager', mode: 'mtls', certManager: true },
  { name: 'inspect', mode: 'inspect' },
  { name: 'inspect with namespace', mode: 'inspect', createNamespace: true },
];

for (const v of variants) {
  const options = { mode: v.mode, certManager: v.certManager ? {} : undefined, createNamespace: v.createNamespace };

  test(`render ${v.name}: every object passes the Kubernetes schema validator`, () => {
    const objects = render(options);
    assert.ok(objects.length >= (v.mode === 'inspect' ? 6 : 8), `only ${objects.length} objects`);
    for (const { object } of objects) assert.doesNotThrow(() => object.validate(), `${object.kind} ${object.metadata?.name}`);
  });

  test(`render ${v.name}: the YAML stream parses back to the same objects`, () => {
    const objects = render(options);
    const docs = parseAllDocuments(renderYaml({ namespace: 'egresskit', image: 'ghcr.io/egresskit/egresskit:0.1.0', replicas: defaultReplicas(v.mode), ...options }));
    assert.ok(Array.isArray(docs));
    for (const doc of docs) assert.deepEqual(doc.errors, []);
    assert.deepEqual(
      docs.map((d) => d.toJS()),
      objects.map((o) => JSON.parse(JSON.stringify(o.object))),
    );
  });

  test(`render ${v.name}: every object carries the app and component labels`, () => {
    for (const { object } of render(options)) {
      const labels = (object.toJSON() as { metadata: { labels?: Record<string, string> } }).metadata.labels ?? {};
      assert.equal(labels['app.kubernetes.io/part-of'], 'egresskit', object.kind);
      if (object.kind === 'Namespace') continue;
      assert.equal(labels['app.kubernetes.io/name'], 'egresskit', object.kind);
      assert.equal(labels['app.kubernetes.io/component'], v.mode, object.kind);
    }
  });
}

const modePorts: [RenderMode, number][] = [
  ['forward', 8888],
  ['mtls', 8443],
];
for (const [mode, port] of modePorts) {
  test(`render ${mode}: proxy port ${port} and metrics 9090 on the container, Service and NetworkPolicies`, () => {
    const objects = render({ mode });
    const container = one<IDeployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!;
    assert.deepEqual(container.ports, [
      { name: 'proxy', containerPort: port, protocol: 'TCP' },
      { name: 'admin', containerPort: 9090, protocol: 'TCP' },
    ]);
    const service = one<IService>(objects, 'Service');
    assert.deepEqual(service.spec!.ports, [
      { name: 'proxy', port, targetPort: 'proxy', protocol: 'TCP' },
      { name: 'metrics', port: 9090, targetPort: 'admin', protocol: 'TCP' },
    ]);
    assert.deepEqual(service.spec!.selector, { 'app.kubernetes.io/name': 'egresskit', 'app.kubernetes.io/component': mode });
    const proxyPolicy = one<INetworkPolicy>(objects, 'NetworkPolicy', `egresskit-${mode}`);
    assert.deepEqual(proxyPolicy.spec!.ingress![0]!.ports, [{ protocol: 'TCP', port }]);
    assert.deepEqual(proxyPolicy.spec!.ingress![1]!.ports, [{ protocol: 'TCP', port: 9090 }]);
    const workloadPolicy = one<INetworkPolicy>(objects, 'NetworkPolicy', `egresskit-${mode}-workloads`);
    assert.deepEqual(workloadPolicy.spec!.egress![0]!.ports, [{ protocol: 'TCP', port }]);
  });
}

for (const mode of RENDER_MODES) {
  test(`render ${mode}: locked-down security context and probes on the admin port`, () => {
    const pod = one<IDeployment>(render({ mode }), 'Deployment').spec!.template.spec!;
    const container = pod.containers[0]!;
    assert.equal(pod.securityContext?.runAsNonRoot, true);
    assert.equal(typeof pod.securityContext?.runAsUser, 'number');
    assert.ok(pod.securityContext!.runAsUser! > 0);
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(container.securityContext, {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(container.readinessProbe?.httpGet, { path: '/readyz', port: 'admin' });
    assert.deepEqual(container.livenessProbe?.httpGet, { path: '/healthz', port: 'admin' });
    assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory);
    assert.ok(container.resources?.limits?.cpu && container.resources.limits.memory);
    // Drain is 30s by default; the kubelet must not kill the Pod before it ends.
    assert.equal(pod.terminationGracePeriodSeconds, 45);
    assert.ok(container.volumeMounts?.some((m) => m.mountPath === '/tmp'));
    assert.ok(pod.volumes?.some((v) => v.name === 'tmp' && v.emptyDir));
    const anti = pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0];
    assert.equal(anti?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  });

  test(`render ${mode}: container runs egresskit ${mode} with the mounted config`, () => {
    const objects = render({ mode });
    const deployment = one<IDeployment>(objects, 'Deployment');
    const container = deployment.spec!.template.spec!.containers[0]!;
    const tls = mode === 'mtls' ? ['--tls-dir', '/etc/egresskit/tls'] : [];
    assert.deepEqual(container.args, [mode, '--config', '/etc/egresskit/config.yaml', ...tls]);
    assert.ok(container.volumeMounts?.some((m) => m.mountPath === '/etc/egresskit/config.yaml' && m.subPath === 'config.yaml' && m.readOnly));
    const configMap = one<IConfigMap>(objects, 'ConfigMap');
    assert.equal(deployment.spec!.template.spec!.volumes!.find((v) => v.name === 'config')?.configMap?.name, configMap.metadata!.name);
    assert.match(deployment.spec!.template.metadata!.annotations!['egresskit.io/config-sha256']!, /^[0-9a-f]{64}$/);
    assert.equal(deployment.spec!.template.spec!.serviceAccountName, one<IServiceAccount>(objects, 'ServiceAccount').metadata!.name);
  });

  // inspect runs one replica, without either (tested below).
  if (!MODE_PROFILES[mode].singleReplica) {
    test(`render ${mode}: PodDisruptionBudget and CPU autoscaler own the replica count`, () => {
      const objects = render({ mode, replicas: 3 });
      const pdb = one<IPodDisruptionBudget>(objects, 'PodDisruptionBudget');
      assert.equal(pdb.spec!.minAvailable, 1);
      const hpa = one<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler');
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      assert.equal(hpa.spec!.minReplicas, 3);
      assert.ok(hpa.spec!.maxReplicas >= 3);
      assert.deepEqual(hpa.spec!.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: `egresskit-${mode}` });
      assert.equal(hpa.spec!.metrics![0]!.resource!.name, 'cpu');
      // A replicas field next to an HPA would reset the scale on every kubectl apply.
      assert.equal(one<IDeployment>(objects, 'Deployment').spec!.replicas, undefined);
    });
  }

  test(`render ${mode}: proxy NetworkPolicy admits labelled workloads and reaches only allowed ports and DNS`, () => {
    const policy = one<INetworkPolicy>(render({ mode }), 'NetworkPolicy', `egresskit-${mode}`);
    assert.deepEqual(policy.spec!.policyTypes, ['Ingress', 'Egress']);
    assert.deepEqual(policy.spec!.podSelector.matchLabels, { 'app.kubernetes.io/name': 'egresskit', 'app.kubernetes.io/component': mode });
    assert.deepEqual(policy.spec!.ingress![0]!.from, [{ namespaceSelector: {}, podSelector: { matchLabels: { 'egresskit.io/egress': 'true' } } }]);
    assert.deepEqual(policy.spec!.egress, [
      { ports: [{ protocol: 'TCP', port: 80 }, { protocol: 'TCP', port: 443 }] },
      { ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }] },
    ]);
  });

  test(`render ${mode}: example workload NetworkPolicy allows egress only to the proxy and kube-dns`, () => {
    const objects = render({ mode, namespace: 'proxies' });
    const policy = one<INetworkPolicy>(objects, 'NetworkPolicy', `egresskit-${mode}-workloads`);
    assert.equal(policy.metadata!.namespace, undefined);
    assert.deepEqual(policy.spec!.podSelector.matchLabels, { 'egresskit.io/egress': 'true' });
    assert.deepEqual(policy.spec!.policyTypes, ['Egress']);
    assert.equal(policy.spec!.egress!.length, 2);
    assert.deepEqual(policy.spec!.egress![0]!.to, [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'proxies' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'egresskit', 'app.kubernetes.io/component': mode } },
      },
    ]);
    assert.deepEqual(policy.spec!.egress![1], {
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
      ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
    });
    const placed = one<INetworkPolicy>(render({ mode, workloadNamespace: 'team-a' }), 'NetworkPolicy', `egresskit-${mode}-workloads`);
    assert.equal(placed.metadata!.namespace, 'team-a');
  });
}

test('render: namespace, image and replicas flags reach every object', () => {
  const objects = render({ mode: 'forward', namespace: 'egress', image: 'registry.corp/egresskit@sha256:abc', replicas: 4, createNamespace: true });
  for (const { object } of objects) {
    if (object.kind === 'Namespace') assert.equal(object.metadata?.name, 'egress');
    else if (object.kind !== 'NetworkPolicy' || object.metadata?.name === 'egresskit-forward') assert.equal(object.metadata?.namespace, 'egress', object.kind);
  }
  assert.equal(one<IDeployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!.image, 'registry.corp/egresskit@sha256:abc');
  assert.equal(one<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler').spec!.minReplicas, 4);
  assert.equal(ofKind(render({ mode: 'forward' }), 'Namespace').length, 0);
});

test('render mtls: mounts the cert-manager Secret layout read-only, as a directory', () => {
  const pod = one<IDeployment>(render({ mode: 'mtls' }), 'Deployment').spec!.template.spec!;
  assert.deepEqual(pod.volumes!.find((v) => v.name === 'tls'), { name: 'tls', secret: { secretName: 'egresskit-mtls-tls', defaultMode: 0o440 } });
  const mount = pod.containers[0]!.volumeMounts!.find((m) => m.name === 'tls');
  assert.deepEqual(mount, { name: 'tls', mountPath: '/etc/egresskit/tls', readOnly: true });
  assert.equal(ofKind(render({ mode: 'mtls' }), 'Certificate').length, 0);
  assert.equal(pod.volumes!.some((v) => v.secret), true);
  const forward = one<IDeployment>(render({ mode: 'forward' }), 'Deployment').spec!.template.spec!;
  assert.equal(forward.volumes!.some((v) => v.secret), false);
});

test('the validators are live: a broken object is rejected', async () => {
  const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
  const broken = new Deployment({ metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: Number.NaN }] }] } } } });
  assert.throws(() => broken.validate(), /containerPort/);
});

test('render inspect: proxy 8080 and ui 8081 on the container and Service; workloads reach only 8080', () => {
  const objects = render({ mode: 'inspect' });
  const container = one<IDeployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!;
  assert.deepEqual(container.ports, [
    { name: 'proxy', containerPort: 8080, protocol: 'TCP' },
    { name: 'ui', containerPort: 8081, protocol: 'TCP' },
    { name: 'admin', containerPort: 9090, protocol: 'TCP' },
  ]);
  assert.deepEqual(one<IService>(objects, 'Service').spec!.ports, [
    { name: 'proxy', port: 8080, targetPort: 'proxy', protocol: 'TCP' },
    { name: 'ui', port: 8081, targetPort: 'ui', protocol: 'TCP' },
    { name: 'metrics', port: 9090, targetPort: 'admin', protocol: 'TCP' },
  ]);
  const workloadPolicy = one<INetworkPolicy>(objects, 'NetworkPolicy', 'egresskit-inspect-workloads');
  assert.deepEqual(workloadPolicy.spec!.egress![0]!.ports, [{ protocol: 'TCP', port: 8080 }]);
});

test('render inspect: the UI port admits only Pods of the namespace labelled egresskit.io/ui=true', () => {
  const policy = one<INetworkPolicy>(render({ mode: 'inspect' }), 'NetworkPolicy', 'egresskit-inspect');
  assert.deepEqual(policy.spec!.ingress, [
    { from: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'egresskit.io/egress': 'true' } } }], ports: [{ protocol: 'TCP', port: 8080 }] },
    // No namespaceSelector: the policy's own namespace only.
    { from: [{ podSelector: { matchLabels: { 'egresskit.io/ui': 'true' } } }], ports: [{ protocol: 'TCP', port: 8081 }] },
    { ports: [{ protocol: 'TCP', port: 9090 }] },
  ]);
});

test('render inspect: one replica, no autoscaler, no PodDisruptionBudget; --replicas 2 is refused', () => {
  const objects = render({ mode: 'inspect' });
  assert.equal(one<IDeployment>(objects, 'Deployment').spec!.replicas, 1);
  assert.equal(ofKind(objects, 'HorizontalPodAutoscaler').length, 0);
  assert.equal(ofKind(objects, 'PodDisruptionBudget').length, 0);
  assert.equal(defaultReplicas('inspect'), 1);
  assert.throws(() => render({ mode: 'inspect', replicas: 2 }), /--replicas 2: inspect keeps its flows in one process's memory, so it runs exactly one replica.*drop --replicas/);
});

test('render inspect: the CA Secret mounted read-only, an emptyDir for caDir, both named in the config', () => {
  const objects = render({ mode: 'inspect' });
  const pod = one<IDeployment>(objects, 'Deployment').spec!.template.spec!;
  assert.deepEqual(pod.volumes!.find((v) => v.name === 'inspect-ca'), {
    name: 'inspect-ca',
    secret: { secretName: 'egresskit-inspect-ca', defaultMode: 0o440, items: [{ key: 'ca.crt', path: 'ca.crt' }, { key: 'ca.key', path: 'ca.key' }] },
  });
  assert.ok(pod.volumes!.find((v) => v.name === 'state')?.emptyDir);
  const mounts = pod.containers[0]!.volumeMounts!;
  assert.deepEqual(mounts.find((m) => m.name === 'inspect-ca'), { name: 'inspect-ca', mountPath: '/etc/egresskit/inspect-ca', readOnly: true });
  assert.deepEqual(mounts.find((m) => m.name === 'state'), { name: 'state', mountPath: '/var/lib/egresskit' });
  assert.equal(pod.containers[0]!.securityContext?.readOnlyRootFilesystem, true);
  const config = parse(one<IConfigMap>(objects, 'ConfigMap').data!['config.yaml']!) as { mode: string; listen: string; inspect: Record<string, unknown> };
  assert.equal(config.mode, 'inspect');
  assert.equal(config.listen, '0.0.0.0:8080');
  assert.equal(config.inspect.ui, '0.0.0.0:8081');
  assert.equal(config.inspect.caCert, '/etc/egresskit/inspect-ca/ca.crt');
  assert.equal(config.inspect.caKey, '/etc/egresskit/inspect-ca/ca.key');
  assert.equal(config.inspect.caDir, '/var/lib/egresskit');
  // The other modes mount no CA Secret.
  for (const mode of ['forward', 'mtls'] as const) {
    assert.equal(one<IDeployment>(render({ mode }), 'Deployment').spec!.template.spec!.volumes!.some((v) => v.name === 'inspect-ca'), false);
  }
});

test('render inspect --config: inspect settings ship; ui off drops the UI port everywhere', () => {
  const objects = render({ mode: 'inspect', config: { inspect: { redact: ['authorization'], ui: 'off' } } });
  const config = parse(one<IConfigMap>(objects, 'ConfigMap').data!['config.yaml']!) as { inspect: { redact: string[] } };
  assert.deepEqual(config.inspect.redact, ['authorization']);
  assert.deepEqual(one<IService>(objects, 'Service').spec!.ports!.map((p) => p.name), ['proxy', 'metrics']);
  assert.equal(one<INetworkPolicy>(objects, 'NetworkPolicy', 'egresskit-inspect').spec!.ingress!.length, 2);
  const moved = render({ mode: 'inspect', config: { inspect: { ui: '0.0.0.0:9000' } } });
  assert.deepEqual(one<IService>(moved, 'Service').spec!.ports![1], { name: 'ui', port: 9000, targetPort: 'ui', protocol: 'TCP' });
});
