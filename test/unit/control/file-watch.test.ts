import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchFiles } from '../../../src/control/file-watch.js';

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end && !check(); ) await sleep(20);
  return check();
}

describe('watchFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egk-watch-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('several writes in a burst are one change, read after the quiet time; a touch is none', async () => {
    const file = join(dir, 'burst.yaml');
    writeFileSync(file, 'a: 1\n');
    let changes = 0;
    const w = watchFiles({ files: () => [file], onChange: () => changes++, debounceMs: 150, pollMs: 60_000 });
    try {
      for (let i = 2; i < 6; i++) {
        writeFileSync(file, `a: ${i}\n`);
        await sleep(30);
      }
      assert.ok(await until(() => changes === 1, 3000), 'one change');
      await sleep(300);
      assert.equal(changes, 1, 'not one per write');
      utimesSync(file, new Date(), new Date());
      await sleep(400);
      assert.equal(changes, 1, 'same bytes, no change');
    } finally {
      w.stop();
    }
  });

  test('the periodic re-read catches what no watched directory reports (a symlinked parent directory swapped)', async () => {
    // dir/mount -> real-1; the file is dir/mount/policy.yaml. Swapping the mount link happens in
    // dir, which is not watched (only mount and real-1 are): fs.watch says nothing.
    for (const [name, text] of [['real-1', 'v: 1\n'], ['real-2', 'v: 2\n']] as const) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'policy.yaml'), text);
    }
    symlinkSync('real-1', join(dir, 'mount'));
    let changes = 0;
    const w = watchFiles({ files: () => [join(dir, 'mount', 'policy.yaml')], onChange: () => changes++, debounceMs: 50, pollMs: 300 });
    try {
      symlinkSync('real-2', join(dir, 'mount.tmp'));
      renameSync(join(dir, 'mount.tmp'), join(dir, 'mount'));
      assert.ok(await until(() => changes === 1, 3000), 'seen by the poll');
    } finally {
      w.stop();
    }
  });
});
