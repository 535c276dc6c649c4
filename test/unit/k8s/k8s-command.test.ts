import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Command } from 'commander';
import { parse, parseAllDocuments } from 'yaml';
import { registerK8sCommands } from '../../../src/cli/k8s-command.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import { withTempDir } from './helpers.js';

const POD = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: a\n';

async function run(args: string[], stdin = ''): Promise<{ out: string; notes: string }> {
  let out = '';
  let notes = '';
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerK8sCommands(program, { write: (s) => (out += s), note: (s) => (notes += s), stdin: async () => stdin });
  await program.parseAsync(['k8s', ...args], { from: 'user' });
  return { out, notes };
}

function noProxyOf(yaml: string): string {
  const pod = parse(yaml) as { spec: { containers: { env: { name: string; value: string }[] }[] } };
  return pod.spec.containers[0]!.env.find((e) => e.name === 'NO_PROXY')!.value;
}

function usageError(pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof UsageError, `expected UsageError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  };
}

// commander would read --no-proxy as "negate --proxy"; these prove it is a real option with a value.
const noProxyForms: [string, string[], string][] = [
  ['--no-proxy LIST', ['--no-proxy', '.corp.example,10.0.0.0/8'], '.corp.example,10.0.0.0/8'],
  ['--no-proxy=LIST', ['--no-proxy=.corp.example'], '.corp.example'],
  ['repeated', ['--no-proxy', 'a.example', '--no-proxy', 'b.example'], 'a.example,b.example'],
  ['before --proxy', ['--no-proxy', 'x.example'], 'x.example'],
];
for (const [name, flags, extra] of noProxyForms) {
  test(`k8s inject ${name}`, async () => {
    const args = name === 'before --proxy' ? [...flags, '--proxy', 'http://p:8888'] : ['--proxy', 'http://p:8888', ...flags];
    const { out, notes } = await run(['inject', ...args], POD);
    assert.ok(noProxyOf(out).endsWith(`,kubernetes.default.svc,${extra}`), noProxyOf(out));
    assert.equal(notes, 'pod/p injected\n');
  });
}

test('k8s inject -f FILE reads the file, --ca-configmap adds the bundle', () =>
  withTempDir(async (dir) => {
    const file = join(dir, 'pod.yaml');
    await writeFile(file, POD);
    const { out } = await run(['inject', '--proxy', 'http://p:8888', '--ca-configmap', 'egresskit-ca-bundle', '-f', file]);
    assert.match(out, /SSL_CERT_FILE\n\s+value: \/etc\/egresskit\/ca\/ca-bundle\.crt/);
    await assert.rejects(run(['inject', '--proxy', 'http://p:8888', '-f', join(dir, 'nope.yaml')]), usageError(/cannot read -f file '.*nope\.yaml': no such file/));
  }));

test('k8s inject says so when the input has no workloads', async () => {
  const { out, notes } = await run(['inject', '--proxy', 'http://p:8888'], 'kind: Service\n');
  assert.equal(out, 'kind: Service\n');
  assert.match(notes, /no workloads found/);
});

test('k8s inject: a bad proxy URL is a UsageError', async () => {
  await assert.rejects(run(['inject', '--proxy', 'p:8888'], POD), usageError(/--proxy 'p:8888' is not a proxy URL/));
});

test('k8s render prints a YAML stream; --create-namespace adds the Namespace', async () => {
  const { out } = await run(['render', 'forward', '--create-namespace', '--namespace', 'egress', '--replicas', '3']);
  const docs = parseAllDocuments(out);
  assert.deepEqual(
    docs.map((d) => (d.toJS() as { kind: string }).kind),
    ['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'NetworkPolicy'],
  );
});

test('k8s render inspect: one replica without --replicas, no HPA or PDB; --replicas 1 is fine', async () => {
  const { out } = await run(['render', 'inspect']);
  assert.deepEqual(
    parseAllDocuments(out).map((d) => (d.toJS() as { kind: string }).kind),
    ['ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy', 'NetworkPolicy'],
  );
  assert.match(out, /\n {2}replicas: 1\n/);
  assert.equal((await run(['render', 'inspect', '--replicas', '1'])).out, out);
});

test('k8s render --config ships the file in the ConfigMap', () =>
  withTempDir(async (dir) => {
    const file = join(dir, 'egresskit.yaml');
    await writeFile(file, 'policy:\n  rules:\n    - { id: stripe, action: allow, hosts: ["*.stripe.com"] }\n');
    const { out } = await run(['render', 'forward', '--config', file]);
    assert.match(out, /id: stripe/);
    await writeFile(file, 'policy:\n  rules: [ { action: maybe, hosts: [x] } ]\n');
    await assert.rejects(run(['render', 'forward', '--config', file]), usageError(/invalid configuration in .*egresskit\.yaml:\n {2}policy\.rules\[0\]\.action/));
    await assert.rejects(run(['render', 'forward', '--config', join(dir, 'missing.yaml')]), usageError(/cannot read config file/));
  }));

const renderErrors: [string, string[], RegExp][] = [
  ['an unknown mode', ['socks'], /unknown mode 'socks': use egresskit k8s render forward, egresskit k8s render inspect, egresskit k8s render mtls/],
  ['--replicas 2 for inspect', ['inspect', '--replicas', '2'], /inspect keeps its flows in one process's memory, so it runs exactly one replica/],
  ['--issuer without --cert-manager', ['mtls', '--issuer', 'corp'], /--issuer only applies with --cert-manager/],
  ['--cert-manager for forward', ['forward', '--cert-manager'], /--cert-manager only applies to mtls/],
  ['--replicas 0', ['forward', '--replicas', '0'], /--replicas '0' must be a whole number/],
];
for (const [name, args, pattern] of renderErrors) {
  test(`k8s render: ${name} is a UsageError`, async () => {
    await assert.rejects(run(['render', ...args]), usageError(pattern));
  });
}

test('k8s render mtls --cert-manager --issuer corp --issuer-kind ClusterIssuer', async () => {
  const { out } = await run(['render', 'mtls', '--cert-manager', '--issuer', 'corp', '--issuer-kind', 'ClusterIssuer']);
  assert.match(out, /issuerRef:\n\s+name: corp\n\s+kind: ClusterIssuer/);
  assert.doesNotMatch(out, /kind: Issuer\n/);
});

test('k8s bases --out DIR, then --check passes', () =>
  withTempDir(async (dir) => {
    const { notes } = await run(['bases', '--out', dir]);
    assert.match(notes, /wrote forward\/deployment\.yaml/);
    const before = process.exitCode;
    await run(['bases', '--out', dir, '--check']);
    assert.equal(process.exitCode, before);
    assert.equal((await run(['bases', '--out', dir])).notes, `${dir}: up to date\n`);
  }));

test('k8s ca-configmap: a missing --ca file is a UsageError', async () => {
  await assert.rejects(run(['ca-configmap', '--ca', '/nonexistent/ca.crt']), usageError(/cannot read --ca file '\/nonexistent\/ca\.crt': no such file/));
});
