import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { formatDuration } from '../../../src/k8s/durations.js';
import { K8sError } from '../../../src/k8s/errors.js';
import { RENDER_MODES } from '../../../src/k8s/modes.js';
import { buildProxyConfig } from '../../../src/k8s/proxy-config.js';
import { one, render } from './helpers.js';

for (const mode of RENDER_MODES) {
  test(`ConfigMap for ${mode} is a config egresskit itself accepts, with nothing lost`, () => {
    const configMap = one<IConfigMap>(render({ mode }), 'ConfigMap');
    const text = configMap.data!['config.yaml']!;
    const raw = parse(text) as Record<string, unknown>;
    assert.equal(raw.mode, mode);
    assert.equal(raw.admin, '0.0.0.0:9090');
    assert.equal((raw.timeouts as Record<string, unknown>).drain, '30s');
    const reparsed = parseConfig(raw, 'config.yaml');
    assert.deepEqual(reparsed, buildProxyConfig(mode).config);
    assert.equal(reparsed.listen, { forward: '0.0.0.0:8888', inspect: '0.0.0.0:8080', mtls: '0.0.0.0:8443' }[mode]);
    if (mode === 'mtls') assert.equal(reparsed.tls?.dir, '/etc/egresskit/tls');
    if (mode === 'inspect') assert.equal(reparsed.inspect?.caCert, '/etc/egresskit/inspect-ca/ca.crt');
  });
}

const durations: [number, string][] = [
  [30_000, '30s'],
  [300_000, '5m'],
  [3_600_000, '1h'],
  [250, '250ms'],
  [1500, '1500ms'],
  [0, '0ms'],
];
for (const [ms, text] of durations) test(`formatDuration(${ms}) = ${text}`, () => assert.equal(formatDuration(ms), text));

test('--config: the file shapes the manifests (ports, drain, policy ports, parent proxy)', () => {
  const config = {
    listen: '0.0.0.0:3128',
    admin: ':9191',
    timeouts: { drain: '2m' },
    policy: { connectPorts: [443, 8443], rules: [{ id: 'stripe', action: 'allow', hosts: ['*.stripe.com'] }] },
    upstreamProxy: { url: 'http://squid.corp:3129' },
  };
  const objects = render({ mode: 'forward', config, configSource: 'corp.yaml' });
  const pod = one<IDeployment>(objects, 'Deployment').spec!.template.spec!;
  assert.equal(pod.terminationGracePeriodSeconds, 135);
  assert.deepEqual(
    pod.containers[0]!.ports!.map((p) => p.containerPort),
    [3128, 9191],
  );
  assert.deepEqual(
    one<IService>(objects, 'Service').spec!.ports!.map((p) => p.port),
    [3128, 9191],
  );
  const policy = one<INetworkPolicy>(objects, 'NetworkPolicy', 'egresskit-forward');
  assert.deepEqual(
    policy.spec!.egress![0]!.ports!.map((p) => p.port),
    [443, 3129, 8443],
  );
  const shipped = parse(one<IConfigMap>(objects, 'ConfigMap').data!['config.yaml']!) as { policy: { rules: unknown[] } };
  assert.deepEqual(shipped.policy.rules, [{ id: 'stripe', action: 'allow', hosts: ['*.stripe.com'] }]);
});

test('--config: a different config gives a different hash, so the Deployment rolls', () => {
  const hash = (config: unknown) =>
    one<IDeployment>(render({ mode: 'forward', config }), 'Deployment').spec!.template.metadata!.annotations!['egresskit.io/config-sha256'];
  assert.equal(hash({}), hash(undefined));
  assert.notEqual(hash({}), hash({ policy: { allowPrivate: true } }));
});

const badConfigs: [string, 'forward' | 'mtls' | 'inspect', unknown, RegExp][] = [
  ['another mode', 'forward', { mode: 'mtls' }, /says mode: mtls, but you are rendering forward/],
  ['admin off', 'forward', { admin: 'off' }, /admin is off.*probes.*admin: 0\.0\.0\.0:9090/],
  ['loopback listen', 'forward', { listen: '127.0.0.1:8888' }, /listen is '127\.0\.0\.1:8888', which a Service cannot reach/],
  ['port 0', 'forward', { listen: '0.0.0.0:0' }, /fixed port/],
  ['same ports', 'forward', { listen: '0.0.0.0:9090' }, /listen and admin both use port 9090/],
  ['file paths for mtls', 'mtls', { tls: { cert: '/x.crt', key: '/x.key' } }, /tls\.cert, tls\.key point at files that do not exist in the Pod.*remove tls\.cert, tls\.key/],
  ['interception for mtls', 'mtls', { inspect: {} }, /an inspect section turns mtls into mtls with interception, which the rendered manifests do not support yet.*remove inspect, or render inspect/],
  ['CA paths for inspect', 'inspect', { inspect: { caCert: '/x.crt', caKey: '/x.key' } }, /inspect\.caCert, inspect\.caKey would point at paths the manifests decide.*Secret \(ca\.crt, ca\.key\) at \/etc\/egresskit\/inspect-ca.*remove inspect\.caCert, inspect\.caKey/],
  ['caDir for inspect', 'inspect', { inspect: { caDir: '/data' } }, /inspect\.caDir would point at paths the manifests decide.*emptyDir at \/var\/lib\/egresskit/],
  ['a loopback UI for inspect', 'inspect', { inspect: { ui: '127.0.0.1:8081' } }, /inspect\.ui is '127\.0\.0\.1:8081', which a Service cannot reach.*inspect\.ui: 0\.0\.0\.0:8081/],
  ['the UI on the proxy port', 'inspect', { inspect: { ui: '0.0.0.0:8080' } }, /inspect\.ui uses port 8080, which listen or admin already use/],
  ['invalid field', 'forward', { policy: { conectPorts: [1] } }, /invalid configuration in corp\.yaml:\n {2}policy: unknown field "conectPorts"/],
  ['not a mapping', 'forward', ['a'], /must be a YAML mapping/],
];
for (const [name, mode, config, pattern] of badConfigs) {
  test(`--config with ${name} is refused with a fix`, () => {
    assert.throws(
      () => buildProxyConfig(mode, config, 'corp.yaml'),
      (err: unknown) => err instanceof K8sError && pattern.test(err.message),
    );
  });
}
