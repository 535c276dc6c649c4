import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// The bench must not hide a failed run: no "|| true" / "|| :" that swallows an exit status in
// its scripts (a step that may fail is checked and reported instead).
const benchDir = fileURLToPath(new URL('../../../../bench/', import.meta.url));
const scripts = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'work' || e.name === 'results' ? [] : scripts(join(dir, e.name)))
      : /\.(sh|mjs)$/.test(e.name) ? [join(dir, e.name)] : []);

describe('bench scripts do not swallow exit statuses', () => {
  it('no "|| true" or "|| :" in bench/', () => {
    const files = scripts(benchDir);
    assert.ok(files.some((f) => f.endsWith('run.sh')) && files.some((f) => f.endsWith('scale.sh')), `scripts found: ${files.join(', ')}`);
    const hits = files.flatMap((f) => readFileSync(f, 'utf8').split('\n')
      .map((line, i) => [line, i] as const)
      .filter(([line]) => /\|\|\s*(true|:)(\s|;|$|\))/.test(line.replace(/#.*$/, '')))
      .map(([line, i]) => `${f}:${i + 1}: ${line.trim()}`));
    assert.deepEqual(hits, []);
  });
});
