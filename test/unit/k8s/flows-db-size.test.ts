import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { parse } from 'yaml';
import { registerK8sCommands } from '../../../src/cli/k8s-command.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import { parseConfig } from '../../../src/config/load.js';
import { one, ofKind, render } from './helpers.js';

const configOf = (objects: ReturnType<typeof render>) =>
  parse(one<IConfigMap>(objects, 'ConfigMap').data!['config.yaml']!) as { inspect: { flowsDb?: string } };

test('render inspect without --flows-db-size: no claim, no flowsDb, a rolling update (the bases stay as they are)', () => {
  const objects = render({ mode: 'inspect' });
  assert.equal(ofKind(objects, 'PersistentVolumeClaim').length, 0);
  assert.equal(configOf(objects).inspect.flowsDb, undefined);
  const deployment = one<IDeployment>(objects, 'Deployment');
  assert.equal(deployment.spec!.strategy!.type, 'RollingUpdate');
  assert.equal(deployment.spec!.template.spec!.volumes!.some((v) => v.name === 'flows'), false);
});

test('render inspect --flows-db-size 1Gi: a valid ReadWriteOnce claim, mounted, named in the config; Recreate', () => {
  const objects = render({ mode: 'inspect', flowsDbSize: '1Gi' });
  const claim = objects.find((o) => o.object.kind === 'PersistentVolumeClaim')!;
  assert.equal(claim.file, 'persistent-volume-claim.yaml');
  assert.doesNotThrow(() => claim.object.validate());
  const pvc = claim.object.toJSON() as IPersistentVolumeClaim;
  assert.equal(pvc.metadata!.name, 'egresskit-inspect-flows');
  assert.equal(pvc.metadata!.namespace, 'egresskit');
  assert.deepEqual(pvc.spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } });
  // Applied before the Deployment that mounts it.
  assert.ok(objects.indexOf(claim) < objects.findIndex((o) => o.object.kind === 'Deployment'));

  const deployment = one<IDeployment>(objects, 'Deployment');
  const pod = deployment.spec!.template.spec!;
  assert.deepEqual(pod.volumes!.find((v) => v.name === 'flows'), { name: 'flows', persistentVolumeClaim: { claimName: 'egresskit-inspect-flows' } });
  assert.deepEqual(pod.containers[0]!.volumeMounts!.find((m) => m.name === 'flows'), { name: 'flows', mountPath: '/var/lib/egresskit-flows' });
  assert.deepEqual(deployment.spec!.strategy, { type: 'Recreate' });

  const text = one<IConfigMap>(objects, 'ConfigMap').data!['config.yaml']!;
  assert.equal(configOf(objects).inspect.flowsDb, '/var/lib/egresskit-flows/flows.db');
  // The proxy accepts the shipped config as it is.
  assert.equal(parseConfig(parse(text), 'config.yaml').inspect!.flowsDb, '/var/lib/egresskit-flows/flows.db');
  // A different config, a different hash: the Deployment rolls when the flag is added.
  const plain = one<IDeployment>(render({ mode: 'inspect' }), 'Deployment');
  assert.notEqual(deployment.spec!.template.metadata!.annotations!['egresskit.io/config-sha256'], plain.spec!.template.metadata!.annotations!['egresskit.io/config-sha256']);
});

const refused: [string, Parameters<typeof render>[0], RegExp][] = [
  ['another mode', { mode: 'forward', flowsDbSize: '1Gi' }, /--flows-db-size only applies to inspect \(the forward proxy keeps no flows\): drop --flows-db-size, or render inspect/],
  ['not a size', { mode: 'inspect', flowsDbSize: 'lots' }, /--flows-db-size 'lots' is not a storage size: use a Kubernetes quantity such as 1Gi or 500Mi/],
  ['zero', { mode: 'inspect', flowsDbSize: '0Gi' }, /--flows-db-size '0Gi' is not a storage size/],
  ['a path of its own in the config', { mode: 'inspect', config: { inspect: { flowsDb: '/data/flows.db' } } }, /inspect\.flowsDb would point at a path that does not exist in the Pod.*--flows-db-size SIZE/],
];
for (const [name, options, message] of refused) {
  test(`render --flows-db-size refuses ${name}`, () => {
    assert.throws(() => render(options), message);
  });
}

test('k8s render inspect --flows-db-size on the command line; a bad size is a usage error', async () => {
  let out = '';
  const program = new Command().exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerK8sCommands(program, { write: (s) => (out += s), note: () => {} });
  await program.parseAsync(['k8s', 'render', 'inspect', '--flows-db-size', '500Mi'], { from: 'user' });
  assert.match(out, /kind: PersistentVolumeClaim[\s\S]*storage: 500Mi/);
  await assert.rejects(program.parseAsync(['k8s', 'render', 'inspect', '--flows-db-size', '5 GB'], { from: 'user' }), (err: unknown) => {
    assert.ok(err instanceof UsageError);
    assert.match(err.message, /'5 GB' is not a storage size/);
    return true;
  });
});
