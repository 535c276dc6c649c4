import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { parse } from 'yaml';
import { parseConfig } from '../../../src/config/load.js';
import { parseUiIngress, type UiIngressOptions } from '../../../src/k8s/options.js';
import { one, ofKind, render } from './helpers.js';

const ingress = (value: string, extra: Partial<UiIngressOptions> = {}): UiIngressOptions => ({ ...parseUiIngress(value), controllerNamespace: 'ingress-nginx', ...extra });

test('render inspect --ui-ingress HOST/PATH: an Ingress to the ui port, and the config answers under PATH to HOST', () => {
  const objects = render({ mode: 'inspect', uiIngress: ingress('Egress.Example.com/tools/egress', { className: 'nginx', tlsSecret: 'egress-tls' }), config: { inspect: { uiAllowedHosts: ['other.example'] } } });
  const rendered = objects.find((o) => o.object.kind === 'Ingress')!;
  assert.equal(rendered.file, 'ingress.yaml');
  const ing = rendered.object.toJSON() as IIngress;
  assert.deepEqual(ing.spec, {
    ingressClassName: 'nginx',
    tls: [{ hosts: ['egress.example.com'], secretName: 'egress-tls' }],
    rules: [{ host: 'egress.example.com', http: { paths: [{ path: '/tools/egress', pathType: 'Prefix', backend: { service: { name: 'egresskit-inspect', port: { name: 'ui' } } } }] } }],
  });
  const config = parseConfig(parse(one<IConfigMap>(objects, 'ConfigMap').data!['config.yaml']!), 'config.yaml');
  assert.equal(config.inspect!.uiBasePath, '/tools/egress/');
  assert.deepEqual(config.inspect!.uiAllowedHosts, ['other.example', 'egress.example.com']);
  const np = one<INetworkPolicy>(objects, 'NetworkPolicy', 'egresskit-inspect');
  const uiRule = np.spec!.ingress!.find((r) => r.ports?.some((p) => p.port === 8081))!;
  assert.deepEqual(uiRule.from![1], { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } });
});

test('without --ui-ingress: no Ingress, and the UI port admits only labelled Pods', () => {
  const objects = render({ mode: 'inspect' });
  assert.equal(ofKind(objects, 'Ingress').length, 0);
  const np = one<INetworkPolicy>(objects, 'NetworkPolicy', 'egresskit-inspect');
  assert.equal(np.spec!.ingress!.find((r) => r.ports?.some((p) => p.port === 8081))!.from!.length, 1);
});

test('--ui-ingress HOST alone serves at /; bad values are refused with the fix', () => {
  assert.deepEqual(parseUiIngress('egress.example.com'), { host: 'egress.example.com', path: '/' });
  const ing = one<IIngress>(render({ mode: 'inspect', uiIngress: ingress('egress.example.com') }), 'Ingress');
  assert.equal(ing.spec!.rules![0]!.http!.paths[0]!.path, '/');
  assert.throws(() => parseUiIngress('bad_host/x'), /'bad_host' is not a host name; use HOST\[\/PATH\]/);
  assert.throws(() => parseUiIngress('egress.example.com/a/../b'), /not a prefix an Ingress can route/);
  assert.throws(() => render({ mode: 'forward', uiIngress: ingress('egress.example.com') }), /--ui-ingress only applies to inspect/);
  assert.throws(() => render({ mode: 'inspect', uiIngress: ingress('egress.example.com'), config: { inspect: { ui: 'off' } } }), /turns the UI off/);
});
