import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

/** Finds the line (1-based) of a field path in a YAML text; undefined when the path is not there. */
export type Locate = (path: ReadonlyArray<PropertyKey>) => number | undefined;

/**
 * A locator over one YAML text. A path that leads somewhere the text does not have (a missing
 * field, a rule added by a command-line flag) gives the line of the deepest part that is there,
 * so an operator at least lands on the right rule; a path not in the file at all gives undefined.
 */
export function yamlLocator(text: string): Locate {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const lineOf = (node: Node | null | undefined) => (node?.range ? lines.linePos(node.range[0]).line : undefined);
  return (path) => {
    let node: unknown = doc.contents;
    let line: number | undefined;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === part);
        if (!pair) break;
        line = lineOf(pair.key as Node) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof part === 'number') {
        const item = node.items[part] as Node | undefined;
        if (!item) break;
        line = lineOf(item) ?? line;
        node = item;
      } else break;
    }
    return line;
  };
}

/** "policy.rules[2].hosts[0]" back into a path, for errors that carry the printed form. */
export function parsePath(text: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of text.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}
