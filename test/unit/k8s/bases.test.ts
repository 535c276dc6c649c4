import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { RENDER_MODES } from '../../../src/k8s/modes.js';
import { diffBases, generateBases, GENERATED_HEADER, writeBases } from '../../../src/k8s/bases.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { withTempDir } from './helpers.js';

test('the checked-in kustomize bases (deploy/) are what render produces; run npm run deploy:generate if not', async () => {
  assert.deepEqual(await diffBases(join(REPO_ROOT, 'deploy')), []);
});

test('bases: each mode has a kustomization listing its files, and a workload/ base with the example policy', () => {
  const files = generateBases();
  for (const mode of RENDER_MODES) {
    const kustomization = parseAllDocuments(files.get(join(mode, 'kustomization.yaml'))!)[0]!.toJS() as { resources: string[] };
    assert.ok(kustomization.resources.includes('namespace.yaml'));
    assert.ok(kustomization.resources.includes('deployment.yaml'));
    assert.ok(!kustomization.resources.includes('workload-network-policy.yaml'));
    for (const file of kustomization.resources) assert.ok(files.has(join(mode, file)), `${mode}/${file}`);
    const workload = parseAllDocuments(files.get(join(mode, 'workload', 'network-policy.yaml'))!)[0]!.toJS() as { kind: string; metadata: { namespace?: string } };
    assert.equal(workload.kind, 'NetworkPolicy');
    assert.equal(workload.metadata.namespace, undefined);
  }
  for (const content of files.values()) assert.ok(content.startsWith(GENERATED_HEADER));
});

test('bases: deploy/inspect has no autoscaler or PDB, and its kustomization says how to create the CA Secret once', () => {
  const files = generateBases();
  assert.ok(files.has(join('inspect', 'deployment.yaml')));
  assert.ok(!files.has(join('inspect', 'horizontal-pod-autoscaler.yaml')));
  assert.ok(!files.has(join('inspect', 'pod-disruption-budget.yaml')));
  const kustomization = files.get(join('inspect', 'kustomization.yaml'))!;
  assert.match(kustomization, /# {3}egresskit certs ca --out ca\n/);
  assert.match(kustomization, /kubectl create secret generic egresskit-inspect-ca -n egresskit --from-file=ca\.crt=ca\/ca\.crt --from-file=ca\.key=ca\/ca\.key/);
  assert.match(files.get(join('inspect', 'deployment.yaml'))!, /\n {2}replicas: 1\n/);
});

test('bases: write, detect drift, rewrite, and remove generated files no longer produced', () =>
  withTempDir(async (dir) => {
    const first = await writeBases(dir);
    assert.equal(first.written.length, generateBases().size);
    assert.deepEqual(await diffBases(dir), []);
    assert.deepEqual(await writeBases(dir), { written: [], removed: [] });

    const deployment = join(dir, 'forward', 'deployment.yaml');
    await writeFile(deployment, `${await readFile(deployment, 'utf8')}# hand edit\n`);
    await writeFile(join(dir, 'mtls', 'old.yaml'), `${GENERATED_HEADER}kind: Old\n`);
    await writeFile(join(dir, 'mtls', 'mine.yaml'), 'kind: Mine\n');
    assert.deepEqual(await diffBases(dir), ['forward/deployment.yaml: differs from what render produces', 'mtls/old.yaml: generated earlier, no longer produced']);

    assert.deepEqual(await writeBases(dir), { written: ['forward/deployment.yaml'], removed: ['mtls/old.yaml'] });
    assert.deepEqual(await diffBases(dir), []);
    assert.equal(await readFile(join(dir, 'mtls', 'mine.yaml'), 'utf8'), 'kind: Mine\n', 'files without the header are not ours');
  }));
