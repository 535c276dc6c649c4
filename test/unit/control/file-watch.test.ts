import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
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

  test('a file written in pieces is read once, whole, after the quiet time; a touch is no change', async () => {
    // An editor that truncates and writes, or a slow cp: each piece alone is a valid, different file.
    const file = join(dir, 'burst.yaml');
    writeFileSync(file, 'a: 1\n');
    const seen: string[] = [];
    // A quiet time far above the gaps, so a busy machine does not split the burst.
    const w = watchFiles({ files: () => [file], onChange: () => seen.push(readFileSync(file, 'utf8')), debounceMs: 500, pollMs: 60_000 });
    try {
      const fd = openSync(file, 'w');
      for (const piece of ['rules:\n', '  - b\n', '  - a\n']) {
        writeSync(fd, piece);
        await sleep(20);
      }
      closeSync(fd);
      assert.ok(await until(() => seen.length > 0, 5000), 'the change is seen');
      await sleep(700);
      assert.deepEqual(seen, ['rules:\n  - b\n  - a\n'], 'one read, of the whole file');
      utimesSync(file, new Date(), new Date());
      await sleep(800);
      assert.equal(seen.length, 1, 'same bytes, no change');
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
