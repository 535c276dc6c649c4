import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../../helpers/paths.js';

test('the filter language imports nothing from Node or from outside its folder (the UI may run it in a browser)', () => {
  const dir = join(REPO_ROOT, 'src', 'flows', 'filter');
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      assert.match(m[1]!, /^\.\/[a-z-]+\.js$/, `${name} imports ${m[1]}`);
    }
    assert.doesNotMatch(text, /\bBuffer\b|\bprocess\./, `${name} uses a Node global`);
  }
});
