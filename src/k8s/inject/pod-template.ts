import { isMap, isSeq, type Document, type YAMLMap } from 'yaml';
import { EGRESS_LABEL, INJECTED_ANNOTATION } from '../names.js';
import { CA_BUNDLE_KEY, CA_MOUNT_DIR, CA_VOLUME } from './proxy-env.js';
import { ensureMap, ensureSeq, namedEntries, scalarValue, setScalar } from './yaml-nodes.js';

export interface PodTemplateEdit {
  env: readonly [name: string, value: string][];
  caConfigMap?: string;
  label?: boolean;
}

function setEnv(doc: Document, container: YAMLMap, env: PodTemplateEdit['env']): void {
  const list = ensureSeq(doc, container, 'env');
  for (const [name, value] of env) {
    const existing = namedEntries(list, name);
    if (existing.length === 0) list.add(doc.createNode({ name, value }));
    // Every copy: with duplicate names the API server keeps the last one.
    for (const entry of existing) {
      entry.delete('valueFrom');
      setScalar(doc, entry, 'value', value);
    }
  }
}

function mountCa(doc: Document, container: YAMLMap): void {
  const mounts = ensureSeq(doc, container, 'volumeMounts');
  const existing = namedEntries(mounts, CA_VOLUME);
  if (existing.length === 0) mounts.add(doc.createNode({ name: CA_VOLUME, mountPath: CA_MOUNT_DIR, readOnly: true }));
  for (const mount of existing) {
    setScalar(doc, mount, 'mountPath', CA_MOUNT_DIR);
    setScalar(doc, mount, 'readOnly', true);
    mount.delete('subPath');
  }
}

function caVolume(doc: Document, podSpec: YAMLMap, configMap: string): void {
  const volumes = ensureSeq(doc, podSpec, 'volumes');
  const wanted = { name: CA_VOLUME, configMap: { name: configMap, items: [{ key: CA_BUNDLE_KEY, path: CA_BUNDLE_KEY }] } };
  const index = volumes.items.findIndex((v) => isMap(v) && scalarValue(v.get('name', true)) === CA_VOLUME);
  if (index === -1) volumes.add(doc.createNode(wanted));
  else if (JSON.stringify((volumes.items[index] as YAMLMap).toJSON()) !== JSON.stringify(wanted)) volumes.set(index, doc.createNode(wanted));
}

/**
 * Adds the proxy variables (and the CA bundle) to every container and init container of one
 * Pod template, replacing earlier values of the same variables and leaving the rest alone.
 * Returns how many containers it found; 0 means the template was left untouched.
 */
export function injectPodTemplate(doc: Document, template: YAMLMap, edit: PodTemplateEdit): { containers: number; initContainers: number } {
  const spec = template.get('spec', true);
  if (!isMap(spec)) return { containers: 0, initContainers: 0 };
  const listed = (key: string): YAMLMap[] => {
    const seq = spec.get(key, true);
    return isSeq(seq) ? seq.items.filter((c): c is YAMLMap => isMap(c)) : [];
  };
  const containers = listed('containers');
  const initContainers = listed('initContainers');
  if (containers.length + initContainers.length === 0) return { containers: 0, initContainers: 0 };
  for (const container of [...initContainers, ...containers]) {
    setEnv(doc, container, edit.env);
    if (edit.caConfigMap !== undefined) mountCa(doc, container);
  }
  if (edit.caConfigMap !== undefined) caVolume(doc, spec, edit.caConfigMap);
  const metadata = ensureMap(doc, template, 'metadata', true);
  if (edit.label) setScalar(doc, ensureMap(doc, metadata, 'labels'), EGRESS_LABEL, 'true');
  setScalar(doc, ensureMap(doc, metadata, 'annotations'), INJECTED_ANNOTATION, 'true');
  return { containers: containers.length, initContainers: initContainers.length };
}
