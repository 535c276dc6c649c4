import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { K8sError } from '../../../src/k8s/errors.js';
import { DEFAULT_IMAGE, parseReplicas } from '../../../src/k8s/options.js';
import type { RenderOptions } from '../../../src/k8s/options.js';
import { REPO_ROOT } from '../../helpers/paths.js';
import { render } from './helpers.js';

test('the default image tag is the package version', () => {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.equal(DEFAULT_IMAGE, `ghcr.io/egresskit/egresskit:${version}`);
});

const replicas: [string, number | undefined][] = [
  ['2', 2],
  [' 7 ', 7],
  ['1000', 1000],
  ['0', undefined],
  ['-1', undefined],
  ['1.5', undefined],
  ['two', undefined],
  ['1001', undefined],
];
for (const [input, expected] of replicas) {
  test(`--replicas '${input}'`, () => {
    if (expected === undefined) assert.throws(() => parseReplicas(input), /--replicas .* must be a whole number from 1 to 1000/);
    else assert.equal(parseReplicas(input), expected);
  });
}

const bad: [string, Partial<RenderOptions>, RegExp][] = [
  ['upper-case namespace', { namespace: 'Egress' }, /--namespace 'Egress' is not a valid namespace/],
  ['long namespace', { namespace: 'a'.repeat(64) }, /is not a valid namespace/],
  ['image with a space', { image: 'ghcr.io/x y' }, /--image .* is not an image reference/],
  ['empty image', { image: '' }, /--image '' is not an image reference/],
  ['bad workload namespace', { workloadNamespace: 'team_a' }, /--workload-namespace 'team_a'/],
  ['cert-manager for forward', { certManager: {} }, /--cert-manager only applies to mtls/],
];
for (const [name, overrides, pattern] of bad) {
  test(`render refuses ${name} with a message that says how to fix it`, () => {
    assert.throws(
      () => render({ mode: 'forward', ...overrides }),
      (err: unknown) => err instanceof K8sError && pattern.test(err.message),
    );
  });
}

test('render refuses an invalid --issuer name', () => {
  assert.throws(() => render({ mode: 'mtls', certManager: { issuer: { name: 'Corp CA', kind: 'Issuer' } } }), /--issuer 'Corp CA' is not a valid Kubernetes name/);
});
