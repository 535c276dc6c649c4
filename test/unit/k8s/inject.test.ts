import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { K8sError } from '../../../src/k8s/errors.js';
import { injectManifests } from '../../../src/k8s/inject/inject.js';
import { DEFAULT_NO_PROXY, noProxyEntries, type InjectOptions } from '../../../src/k8s/inject/proxy-env.js';

const PROXY = 'http://egresskit-forward.egresskit.svc:8888';
const OPTIONS: InjectOptions = { proxy: PROXY };
const NO_PROXY = DEFAULT_NO_PROXY.join(',');

type Env = { name: string; value?: string; valueFrom?: unknown }[];
interface Container {
  name: string;
  env?: Env;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  volumes?: unknown[];
}
interface PodTemplate {
  metadata?: { annotations?: Record<string, string> };
  spec: PodSpec;
}

const POD_SPEC = `
      initContainers:
        - name: init
          image: busybox
      containers:
        - name: app
          image: app:1
        - name: sidecar
          image: side:1`;

/** Each kind, and where inject must find its Pod template. */
const kinds: { kind: string; apiVersion: string; wrap: (podSpec: string) => string; template: (o: Record<string, unknown>) => PodTemplate }[] = [
  ...['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].map((kind) => ({
    kind,
    apiVersion: 'apps/v1',
    wrap: (s: string) => `spec:\n  template:\n    spec:${s}\n`,
    template: (o: Record<string, unknown>) => (o.spec as { template: PodTemplate }).template,
  })),
  {
    kind: 'ReplicationController',
    apiVersion: 'v1',
    wrap: (s: string) => `spec:\n  template:\n    spec:${s}\n`,
    template: (o: Record<string, unknown>) => (o.spec as { template: PodTemplate }).template,
  },
  {
    kind: 'PodTemplate',
    apiVersion: 'v1',
    wrap: (s: string) => `template:\n  spec:${s.replace(/\n {2}/g, '\n')}\n`,
    template: (o: Record<string, unknown>) => o.template as PodTemplate,
  },
  {
    kind: 'Job',
    apiVersion: 'batch/v1',
    wrap: (s) => `spec:\n  template:\n    spec:${s}\n`,
    template: (o) => (o.spec as { template: PodTemplate }).template,
  },
  {
    kind: 'CronJob',
    apiVersion: 'batch/v1',
    wrap: (s) => `spec:\n  schedule: "0 3 * * *"\n  jobTemplate:\n    spec:\n      template:\n        spec:${s.replace(/\n/g, '\n    ')}\n`,
    template: (o) => (o.spec as { jobTemplate: { spec: { template: PodTemplate } } }).jobTemplate.spec.template,
  },
  {
    kind: 'Pod',
    apiVersion: 'v1',
    wrap: (s) => `spec:${s.replace(/\n {4}/g, '\n')}\n`,
    template: (o) => o as unknown as PodTemplate,
  },
];

function envOf(c: Container): Record<string, string | undefined> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
}

for (const k of kinds) {
  test(`inject ${k.kind}: every container and init container gets the proxy variables, and the template the annotation`, () => {
    const input = `apiVersion: ${k.apiVersion}\nkind: ${k.kind}\nmetadata:\n  name: web\n${k.wrap(POD_SPEC)}`;
    assert.doesNotThrow(() => parse(input));
    const result = injectManifests(input, OPTIONS);
    assert.deepEqual(result.workloads, [{ kind: k.kind, name: 'web', status: 'injected' }]);
    const template = k.template(parse(result.text) as Record<string, unknown>);
    const all = [...(template.spec.initContainers ?? []), ...template.spec.containers];
    assert.equal(all.length, 3);
    for (const c of all) {
      assert.deepEqual(envOf(c), {
        HTTP_PROXY: PROXY,
        HTTPS_PROXY: PROXY,
        NO_PROXY,
        http_proxy: PROXY,
        https_proxy: PROXY,
        no_proxy: NO_PROXY,
      });
    }
    assert.equal(template.metadata?.annotations?.['egresskit.io/injected'], 'true');
    // Byte for byte the same on a second run.
    assert.equal(injectManifests(result.text, OPTIONS).text, result.text);
  });
}

test('inject replaces earlier proxy variables (even valueFrom), keeps other env in place', () => {
  const input = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          env:
            - name: FIRST
              value: "1"
            - name: https_proxy
              valueFrom:
                configMapKeyRef: { name: old, key: proxy }
            - name: NO_PROXY
              value: old.example
            - name: LAST
              valueFrom:
                fieldRef: { fieldPath: metadata.name }
`;
  const out = parse(injectManifests(input, OPTIONS).text) as { spec: { template: PodTemplate } };
  const env = out.spec.template.spec.containers[0]!.env!;
  assert.deepEqual(
    env.map((e) => e.name),
    ['FIRST', 'https_proxy', 'NO_PROXY', 'LAST', 'HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'no_proxy'],
  );
  assert.deepEqual(env[0], { name: 'FIRST', value: '1' });
  assert.deepEqual(env[1], { name: 'https_proxy', value: PROXY });
  assert.deepEqual(env[2], { name: 'NO_PROXY', value: NO_PROXY });
  assert.deepEqual(env[3], { name: 'LAST', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
});

test('inject --ca-configmap mounts the bundle read-only and points the four CA variables at it', () => {
  const input = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n${kinds[0]!.wrap(POD_SPEC)}`;
  const options = { ...OPTIONS, caConfigMap: 'egresskit-ca-bundle' };
  const text = injectManifests(input, options).text;
  const template = (parse(text) as { spec: { template: PodTemplate } }).spec.template;
  assert.deepEqual(template.spec.volumes, [
    { name: 'egresskit-ca', configMap: { name: 'egresskit-ca-bundle', items: [{ key: 'ca-bundle.crt', path: 'ca-bundle.crt' }] } },
  ]);
  for (const c of [...template.spec.initContainers!, ...template.spec.containers]) {
    assert.deepEqual(c.volumeMounts, [{ name: 'egresskit-ca', mountPath: '/etc/egresskit/ca', readOnly: true }]);
    const env = envOf(c);
    for (const name of ['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE']) assert.equal(env[name], '/etc/egresskit/ca/ca-bundle.crt', name);
  }
  assert.equal(injectManifests(text, options).text, text);
  // A different ConfigMap replaces the volume rather than adding a second one.
  const moved = parse(injectManifests(text, { ...options, caConfigMap: 'other' }).text) as { spec: { template: PodTemplate } };
  assert.deepEqual(moved.spec.template.spec.volumes, [
    { name: 'egresskit-ca', configMap: { name: 'other', items: [{ key: 'ca-bundle.crt', path: 'ca-bundle.crt' }] } },
  ]);
});

test('inject reaches the items of a List, and leaves non-workload items alone', () => {
  const input = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: web }
    spec: { ports: [ { port: 80 } ] }
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: { name: db }
    spec:
      template:
        spec:
          containers: [ { name: db, image: pg } ]
  - apiVersion: batch/v1
    kind: CronJob
    metadata: { name: nightly }
    spec:
      jobTemplate:
        spec:
          template:
            spec:
              containers: [ { name: job, image: job } ]
`;
  const result = injectManifests(input, OPTIONS);
  assert.deepEqual(
    result.workloads.map((w) => `${w.kind}/${w.name}:${w.status}`),
    ['StatefulSet/db:injected', 'CronJob/nightly:injected'],
  );
  const out = parse(result.text) as { items: Record<string, unknown>[] };
  assert.deepEqual(out.items[0], { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } });
  assert.equal(envOf((out.items[1]!.spec as { template: PodTemplate }).template.spec.containers[0]!).HTTPS_PROXY, PROXY);
  assert.equal(injectManifests(result.text, OPTIONS).text, result.text);
});

test('inject copies documents it does not understand byte for byte, and keeps comments in edited ones', () => {
  const service = `# the service\napiVersion: v1\nkind: Service\nmetadata:\n  name:    web   # odd spacing stays\nspec:\n  ports: [ {port: 80} ]\n`;
  const crd = `---\napiVersion: argoproj.io/v1alpha1\nkind: Deployment\nmetadata: {name: not-apps}\nspec: {template: {spec: {containers: [{name: x}]}}}\n`;
  const empty = `---\n# nothing here\n`;
  const workload = `---\n# keep me\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web  # trailing\nspec:\n  template:\n    spec:\n      containers:\n      - name: app   # the app\n        image: app\n      volumes:\n      - name: s\n        secret: {secretName: s, defaultMode: 0644}\n`;
  const result = injectManifests(service + crd + empty + workload, OPTIONS);
  assert.ok(result.text.startsWith(service + crd + empty), result.text);
  const edited = result.text.slice((service + crd + empty).length);
  for (const kept of ['# keep me', 'name: web # trailing', '- name: app # the app', 'defaultMode: 0644', '{secretName: s, defaultMode: 0644}']) {
    assert.ok(edited.includes(kept), `lost '${kept}' in:\n${edited}`);
  }
  // The sequence style of the input (dash at the key's indentation) is kept.
  assert.match(edited, /\n {6}containers:\n {6}- name: app/);
  assert.deepEqual(
    result.workloads.map((w) => w.kind),
    ['Deployment'],
  );
});

test('inject with nothing to change returns the input unchanged', () => {
  const input = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: "1"\n';
  assert.deepEqual(injectManifests(input, OPTIONS), { text: input, workloads: [] });
  assert.deepEqual(injectManifests('', OPTIONS), { text: '', workloads: [] });
});

test('inject reports workloads without containers and leaves them alone', () => {
  const input = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: empty\nspec:\n  template:\n    spec: {}\n';
  assert.deepEqual(injectManifests(input, OPTIONS), { text: input, workloads: [{ kind: 'Deployment', name: 'empty', status: 'no containers' }] });
});

test('inject turns JSON input (kubectl get -o json) into block YAML once, then is idempotent', () => {
  const json = JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'app', image: 'app' }] } } } }, null, 2);
  const text = injectManifests(json, OPTIONS).text;
  assert.ok(!text.includes('{'), text);
  const out = parse(text) as { spec: { template: PodTemplate } };
  assert.equal(envOf(out.spec.template.spec.containers[0]!).HTTP_PROXY, PROXY);
  assert.equal(injectManifests(text, OPTIONS).text, text);
});

test('inject keeps env: [] and annotations from growing into flow style', () => {
  const input = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {}\nspec:\n  containers:\n    - name: a\n      env: []\n';
  const text = injectManifests(input, OPTIONS).text;
  assert.match(text, /annotations:\n {4}egresskit\.io\/injected: "true"/);
  assert.match(text, /env:\n {8}- name: HTTP_PROXY/);
  for (const doc of parseAllDocuments(text)) assert.deepEqual(doc.errors, []);
});

const noProxyCases: [string, string[], string[]][] = [
  ['defaults only', [], [...DEFAULT_NO_PROXY]],
  ['extras appended', ['.corp.example,10.0.0.0/8'], [...DEFAULT_NO_PROXY, '.corp.example', '10.0.0.0/8']],
  ['repeated flags', ['a.example', 'b.example'], [...DEFAULT_NO_PROXY, 'a.example', 'b.example']],
  ['duplicates of defaults, any case', ['.SVC', 'localhost', ' .cluster.local '], [...DEFAULT_NO_PROXY]],
  ['duplicates among extras', ['x.example,X.example,,x.example'], [...DEFAULT_NO_PROXY, 'x.example']],
];
for (const [name, extras, expected] of noProxyCases) {
  test(`NO_PROXY: ${name}`, () => assert.deepEqual(noProxyEntries(extras), expected));
}

test('NO_PROXY covers loopback, Service names and the API server', () => {
  for (const entry of ['localhost', '127.0.0.1', '::1', '.svc', '.svc.cluster.local', '.cluster.local', 'kubernetes.default', 'kubernetes.default.svc']) {
    assert.ok((DEFAULT_NO_PROXY as readonly string[]).includes(entry), entry);
  }
});

const badInput: [string, string, InjectOptions, RegExp][] = [
  ['not YAML', 'a: [1,\n', OPTIONS, /input: not valid YAML/],
  ['a socks proxy', '', { proxy: 'socks5://p:1080' }, /--proxy 'socks5:\/\/p:1080' is not a proxy URL: use http:\/\/HOST:PORT/],
  ['a bare host', '', { proxy: 'proxy:8888' }, /is not a proxy URL/],
  ['a path', '', { proxy: 'http://p:8888/x' }, /has a path.*http:\/\/p:8888/],
  ['a space in NO_PROXY', '', { proxy: PROXY, noProxy: ['a b'] }, /--no-proxy entry 'a b' contains a space/],
  ['a bad ConfigMap name', '', { proxy: PROXY, caConfigMap: 'CA_Bundle' }, /--ca-configmap 'CA_Bundle' is not a valid Kubernetes name/],
];
for (const [name, input, options, pattern] of badInput) {
  test(`inject refuses ${name}`, () => {
    assert.throws(
      () => injectManifests(input, options),
      (err: unknown) => err instanceof K8sError && pattern.test(err.message),
    );
  });
}

test('inject accepts an https proxy URL (the mtls proxy) as given', () => {
  const input = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n';
  const out = parse(injectManifests(input, { proxy: 'https://egresskit-mtls.egresskit.svc:8443' }).text) as PodTemplate;
  assert.equal(envOf(out.spec.containers[0]!).HTTPS_PROXY, 'https://egresskit-mtls.egresskit.svc:8443');
});

type Labelled = { spec: { template: { metadata: { labels: Record<string, string> } } } };

test('inject --label adds egresskit.io/egress=true to the Pod template, keeping its other labels', () => {
  const input = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: a\n';
  const options = { ...OPTIONS, label: true };
  const text = injectManifests(input, options).text;
  assert.deepEqual((parse(text) as Labelled).spec.template.metadata.labels, { app: 'web', 'egresskit.io/egress': 'true' });
  assert.equal(injectManifests(text, options).text, text);
  assert.deepEqual((parse(injectManifests(input, OPTIONS).text) as Labelled).spec.template.metadata.labels, { app: 'web' });
});
