import { isMap, isSeq, type YAMLMap } from 'yaml';
import { scalarValue } from './yaml-nodes.js';

/** Where a kind keeps its Pod template, and the API groups it may come from ('' is core). */
const POD_TEMPLATES: Record<string, { path: string[]; groups: string[] }> = {
  Pod: { path: [], groups: [''] },
  PodTemplate: { path: ['template'], groups: [''] },
  ReplicationController: { path: ['spec', 'template'], groups: [''] },
  Deployment: { path: ['spec', 'template'], groups: ['apps', 'extensions'] },
  StatefulSet: { path: ['spec', 'template'], groups: ['apps'] },
  DaemonSet: { path: ['spec', 'template'], groups: ['apps', 'extensions'] },
  ReplicaSet: { path: ['spec', 'template'], groups: ['apps', 'extensions'] },
  Job: { path: ['spec', 'template'], groups: ['batch'] },
  CronJob: { path: ['spec', 'jobTemplate', 'spec', 'template'], groups: ['batch'] },
};

export interface PodTemplate {
  kind: string;
  name: string;
  /** The mapping holding `metadata` and `spec` of the Pod (the object itself for a Pod). */
  node: YAMLMap;
}

function group(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== 'string') return undefined;
  const parts = apiVersion.split('/');
  return parts.length === 2 ? parts[0] : parts.length === 1 ? '' : undefined;
}

/**
 * The Pod templates in one object; for a List (kind List or FooList, as `kubectl get -o yaml`
 * prints), those of its items. Kinds it does not know, or that come from another API group
 * (a CRD called Deployment), yield nothing and pass through untouched.
 */
export function podTemplates(object: unknown): PodTemplate[] {
  if (!isMap(object)) return [];
  const kind = scalarValue(object.get('kind', true));
  if (typeof kind !== 'string') return [];
  const items = object.get('items', true);
  if (kind.endsWith('List') && isSeq(items)) return items.items.flatMap((item) => podTemplates(item));
  const known = Object.hasOwn(POD_TEMPLATES, kind) ? POD_TEMPLATES[kind] : undefined;
  const apiGroup = group(scalarValue(object.get('apiVersion', true)));
  if (!known || apiGroup === undefined || !known.groups.includes(apiGroup)) return [];
  const node = known.path.length === 0 ? object : object.getIn(known.path, true);
  if (!isMap(node)) return [];
  const name = scalarValue(object.getIn(['metadata', 'name'], true));
  return [{ kind, name: typeof name === 'string' ? name : '(unnamed)', node }];
}
