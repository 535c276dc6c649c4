import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { createCA } from '../../src/certs/index.js';
import { runCli } from '../helpers/cli.js';
import { run } from '../helpers/exec.js';
import { BIN, REPO_ROOT } from '../helpers/paths.js';
import { needKubectl } from '../helpers/prerequisites.js';

// The real CLI (bin/egresskit k8s ...) and kubectl's built-in kustomize: the
// checked-in bases build, and so does a kustomization over inject's output. The logic itself is
// covered by test/unit/k8s; each CLI start costs most of a second, so there are few of them.

const DEPLOY = join(REPO_ROOT, 'deploy');
const PROXY = 'http://egresskit-forward.egresskit.svc:8888';
const INJECT = ['k8s', 'inject', '--proxy', PROXY, '--no-proxy', '.corp.example', '--ca-configmap', 'egresskit-ca-bundle', '--label'];

const WORKLOADS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      initContainers:
        - name: migrate
          image: migrate:1
      containers:
        - name: app
          image: app:1
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: job
              image: job:1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [ { port: 80 } ]
`;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** runCli with text on standard input (`-f -`). */
async function runCliWithInput(args: string[], input: string): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(input);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

function docs(yaml: string): { kind: string; data?: Record<string, string> }[] {
  const parsed = parseAllDocuments(yaml);
  for (const doc of parsed) assert.deepEqual(doc.errors, []);
  return parsed.map((d) => d.toJS() as { kind: string });
}

const kinds = (yaml: string): string[] => docs(yaml).map((d) => d.kind);

// kubectl is required (Debian's kubernetes-client is enough); EGRESSKIT_TEST_SKIP_KUBECTL=1 skips on purpose.
const kubectl = await needKubectl();
let dir = '';
let forward: CliResult;
let mtls: CliResult;
let inspect: CliResult;
let injected: CliResult;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'egresskit-k8s-e2e-'));
  [forward, mtls, inspect, injected] = await Promise.all([
    runCli(['k8s', 'render', 'forward']),
    runCli(['k8s', 'render', 'mtls', '--cert-manager']),
    runCli(['k8s', 'render', 'inspect']),
    runCliWithInput(INJECT, WORKLOADS),
  ]);
});
after(() => rm(dir, { recursive: true, force: true }));

async function kustomize(path: string): Promise<string> {
  const r = await run('kubectl', ['kustomize', path]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('egresskit k8s (the CLI)', { concurrency: true }, () => {
  it('render forward prints a YAML stream whose config egresskit config check accepts', async () => {
    assert.equal(forward.code, 0, forward.stderr);
    assert.deepEqual(kinds(forward.stdout), ['ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'NetworkPolicy']);
    const configMap = docs(forward.stdout).find((d) => d.kind === 'ConfigMap')!;
    const file = join(dir, 'forward-config.yaml');
    await writeFile(file, configMap.data!['config.yaml']!);
    const check = await runCli(['config', 'check', file]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal((JSON.parse(check.stdout) as { mode: string }).mode, 'forward');
  });

  it('render mtls --cert-manager adds Issuers and Certificates', () => {
    assert.equal(mtls.code, 0, mtls.stderr);
    const all = kinds(mtls.stdout);
    assert.deepEqual(all.filter((k) => k === 'Certificate' || k === 'Issuer'), ['Issuer', 'Certificate', 'Issuer', 'Certificate', 'Certificate']);
  });

  it('render inspect: one Deployment (no HPA, no PDB) whose config egresskit config check accepts', async () => {
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.deepEqual(kinds(inspect.stdout), ['ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'NetworkPolicy', 'NetworkPolicy']);
    const file = join(dir, 'inspect-config.yaml');
    await writeFile(file, docs(inspect.stdout).find((d) => d.kind === 'ConfigMap')!.data!['config.yaml']!);
    const check = await runCli(['config', 'check', file]);
    assert.equal(check.code, 0, check.stderr);
    const checked = JSON.parse(check.stdout) as { mode: string; inspect: { caCert: string; caKey: string; caDir: string; ui: string } };
    assert.equal(checked.mode, 'inspect');
    assert.deepEqual(
      [checked.inspect.caCert, checked.inspect.caKey, checked.inspect.caDir, checked.inspect.ui],
      ['/etc/egresskit/inspect-ca/ca.crt', '/etc/egresskit/inspect-ca/ca.key', '/var/lib/egresskit', '0.0.0.0:8081'],
    );
  });

  it('bases --check: the checked-in deploy/ matches render (else: npm run deploy:generate)', async () => {
    const r = await runCli(['k8s', 'bases', '--out', DEPLOY, '--check']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('inject reads standard input, writes the stream, reports to stderr, and is idempotent', async () => {
    assert.equal(injected.code, 0, injected.stderr);
    assert.equal(injected.stderr, 'deployment/web injected\ncronjob/nightly injected\n');
    assert.deepEqual(kinds(injected.stdout), ['Deployment', 'CronJob', 'Service']);
    assert.match(injected.stdout, /value: localhost,127\.0\.0\.1,::1,\.svc,.*,kubernetes\.default\.svc,\.corp\.example\n/);
    const second = await runCliWithInput([...INJECT, '-f', '-'], injected.stdout);
    assert.equal(second.stdout, injected.stdout);
    assert.equal(second.stderr, 'deployment/web unchanged\ncronjob/nightly unchanged\n');
  });

  it('ca-configmap bundles the proxy CA', async () => {
    const file = join(dir, 'ca.crt');
    await writeFile(file, (await createCA({ cn: 'k8s e2e CA' })).certPem);
    const r = await runCli(['k8s', 'ca-configmap', '--ca', file, '--namespace', 'team-a']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(kinds(r.stdout), ['ConfigMap']);
  });
});

describe('kubectl kustomize', { concurrency: true, skip: kubectl.skip }, () => {
  before(() => kubectl.require());
  for (const mode of ['forward', 'inspect', 'mtls']) {
    it(`builds deploy/${mode} and deploy/${mode}/workload`, async () => {
      const built = kinds(await kustomize(join(DEPLOY, mode)));
      // inspect runs one replica: no autoscaler, no PodDisruptionBudget.
      const scaled = mode === 'inspect' ? [] : ['PodDisruptionBudget', 'HorizontalPodAutoscaler'];
      for (const kind of ['Namespace', 'ServiceAccount', 'ConfigMap', 'Deployment', 'Service', ...scaled, 'NetworkPolicy']) {
        assert.ok(built.includes(kind), `${kind} missing from deploy/${mode}`);
      }
      if (mode === 'inspect') assert.ok(!built.includes('HorizontalPodAutoscaler') && !built.includes('PodDisruptionBudget'));
      assert.deepEqual(kinds(await kustomize(join(DEPLOY, mode, 'workload'))), ['NetworkPolicy']);
    });
  }

  it('builds a kustomization over inject output and render mtls --cert-manager', async () => {
    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'mtls.yaml'), mtls.stdout);
    await writeFile(join(app, 'workloads.yaml'), injected.stdout);
    await writeFile(join(app, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team-a\nresources:\n  - workloads.yaml\n  - mtls.yaml\n');
    const built = await kustomize(app);
    const all = kinds(built);
    assert.ok(all.includes('Certificate') && all.includes('Issuer') && all.includes('CronJob'), all.join(','));
    assert.match(built, /egresskit\.io\/injected: "true"/);
    assert.match(built, /egresskit\.io\/egress: "true"/);
    assert.match(built, /name: HTTPS_PROXY\n\s+value: http:\/\/egresskit-forward\.egresskit\.svc:8888/);
  });
});
