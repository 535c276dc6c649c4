import { isMap, isScalar, isSeq, YAMLMap, YAMLSeq, type Document } from 'yaml';

/** Small edits on the yaml package's node tree that keep comments and untouched nodes as they are. */

export function scalarValue(node: unknown): unknown {
  return isScalar(node) ? node.value : undefined;
}

/** The mapping at `key`, created (block style; first when `first`) when missing or not a mapping. */
export function ensureMap(doc: Document, parent: YAMLMap, key: string, first = false): YAMLMap {
  const current = parent.get(key, true);
  if (isMap(current)) {
    if (current.flow && current.items.length === 0) current.flow = false;
    return current;
  }
  const created = doc.createNode({}) as YAMLMap;
  if (first && !parent.has(key)) parent.items.unshift(doc.createPair(key, created));
  else parent.set(key, created);
  return created;
}

/** The sequence at `key`, created (block style) when missing or not a sequence. */
export function ensureSeq(doc: Document, parent: YAMLMap, key: string): YAMLSeq {
  const current = parent.get(key, true);
  if (isSeq(current)) {
    // `env: []` would otherwise grow into one long flow line.
    if (current.flow && current.items.length === 0) current.flow = false;
    return current;
  }
  const created = doc.createNode([]) as YAMLSeq;
  parent.set(key, created);
  return created;
}

/** Sets a scalar only when its value differs, so an unchanged value keeps its quoting style. */
export function setScalar(doc: Document, map: YAMLMap, key: string, value: string | boolean): void {
  if (scalarValue(map.get(key, true)) === value) return;
  map.set(key, doc.createNode(value));
}

/** Entries of a sequence of mappings whose `name` is `name` (Kubernetes' merge key for env, volumes, mounts). */
export function namedEntries(seq: YAMLSeq, name: string): YAMLMap[] {
  return seq.items.filter((item): item is YAMLMap => isMap(item) && scalarValue(item.get('name', true)) === name);
}
