import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// bench/lib/runtime.sh: which node runs egresskit, and whether --workers reaches it.
const lib = fileURLToPath(new URL('../../../../bench/lib/runtime.sh', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'egk-bench-runtime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// a stand-in for bin/egresskit whose "forward --help" lists the flags given
function fakeBin(name: string, help: string): string {
  const f = join(dir, name);
  writeFileSync(f, `process.stdout.write(${JSON.stringify(help)});\n`);
  return f;
}
const sh = (script: string, ...args: string[]) =>
  spawnSync('bash', ['-c', `log() { echo "$*" >&2; }; source "$0"; ${script}`, lib, ...args], { encoding: 'utf8' });

describe('bench runtime helpers', () => {
  it('--workers N is passed when the build lists the flag', () => {
    const bin = fakeBin('with.js', 'Options:\n  --workers <n>  worker processes\n');
    const r = sh('workers_args 2 "$1" "$2"', process.execPath, bin);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '--workers 2');
  });

  it('a build without the flag runs one process for 1 and refuses more, rather than measuring one process as N', () => {
    const bin = fakeBin('without.js', 'Options:\n  --max-connections <n>\n');
    const one = sh('workers_args 1 "$1" "$2"', process.execPath, bin);
    assert.equal(one.status, 0, one.stderr);
    assert.equal(one.stdout.trim(), '');
    const two = sh('workers_args 2 "$1" "$2"', process.execPath, bin);
    assert.equal(two.status, 1);
    assert.match(two.stderr, /no --workers flag: cannot measure --workers 2/);
  });

  it('path is the node on PATH; an unknown name or a missing binary is an error, never another runtime', () => {
    const p = sh('resolve_runtime path "$1"', dir);
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout.trim(), /\/node$/);
    const unknown = sh('resolve_runtime node99 "$1"', dir);
    assert.equal(unknown.status, 1);
    assert.equal(unknown.stdout, '');
    const missing = sh('resolve_runtime /nonexistent/node "$1"', dir);
    assert.equal(missing.status, 1);
    assert.equal(missing.stdout, '');
  });
});
