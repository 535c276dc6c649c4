import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.js';

// The example in examples/library-test/ is documentation that runs: executing it here keeps it
// from rotting when the library's API changes.
describe('examples/library-test', () => {
  it('app-honours-proxy.test.mjs passes under node --test (both the honouring and the bypassing app)', async () => {
    // Without NODE_TEST_CONTEXT the child is a test run of its own, not a subtest reporting to this runner.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
    const file = join(REPO_ROOT, 'examples', 'library-test', 'app-honours-proxy.test.mjs');
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, ['--test', '--test-reporter=tap', file], { env, cwd: REPO_ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out: `${stdout}${stderr}` });
      });
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^ok \d+ - the app sends its HTTPS request through HTTPS_PROXY$/m);
    assert.match(r.out, /^ok \d+ - an app that ignores HTTPS_PROXY is caught$/m);
    assert.match(r.out, /^# pass 2$/m);
  });
});
