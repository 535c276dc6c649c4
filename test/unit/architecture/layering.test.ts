import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../../helpers/paths.js';

/**
 * The layers of docs/ARCHITECTURE.md, as data: a folder of src/ may import only from its own
 * floor or the floors below. Within a floor the folder graph must still be acyclic.
 */
const FLOORS: Record<string, number> = {
  model: 1,
  quirks: 1,
  policy: 2,
  identity: 2,
  upstream: 2,
  listeners: 2,
  certs: 2,
  config: 2,
  flows: 2,
  k8s: 2,
  client: 2,
  pipeline: 3,
  inspect: 3,
  control: 4,
  ui: 4,
  doctor: 4,
  server: 5,
  cli: 6,
};
/** Files directly in src/: version.ts is data, index.ts is the public API on top. */
const ROOT_FILES: Record<string, number> = { 'version.ts': 1, 'index.ts': 7 };
const MAX_LINES = 300;

const SRC = join(REPO_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function floorOf(file: string): { unit: string; floor: number | undefined } {
  const rel = relative(SRC, file);
  const parts = rel.split(sep);
  if (parts.length === 1) return { unit: rel, floor: ROOT_FILES[rel] };
  return { unit: parts[0]!, floor: FLOORS[parts[0]!] };
}

/** Relative imports of a file (static, dynamic and re-exports), resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    out.push(normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
  }
  return out;
}

const files = sourceFiles(SRC);

describe('architecture', () => {
  test('every folder of src/ has a floor', () => {
    const unknown = files.map(floorOf).filter((f) => f.floor === undefined).map((f) => f.unit);
    assert.deepEqual([...new Set(unknown)], [], 'add the folder to FLOORS here and to docs/ARCHITECTURE.md');
  });

  test('no folder imports from a floor above its own', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = floorOf(file);
      for (const target of importsOf(file)) {
        const to = floorOf(target);
        if (from.unit === to.unit || from.floor === undefined || to.floor === undefined) continue;
        if (to.floor > from.floor) upward.push(`${relative(SRC, file)} (floor ${from.floor}) -> ${relative(SRC, target)} (floor ${to.floor})`);
      }
    }
    assert.deepEqual(upward, []);
  });

  test('the folder import graph has no cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const file of files) {
      const from = floorOf(file).unit;
      for (const target of importsOf(file)) {
        const to = floorOf(target).unit;
        if (to !== from) (edges.get(from) ?? edges.set(from, new Set()).get(from)!).add(to);
      }
    }
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of edges.keys()) visit(node, []);
    assert.deepEqual(cycles, []);
  });

  test(`no source file is longer than ${MAX_LINES} lines`, () => {
    const long = files
      .map((f) => ({ file: relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines}`);
    assert.deepEqual(long, []);
  });
});
