import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

// A proxy command registers only the proxy commands (src/cli/main.ts: the restart path skips
// building the others); everything else still sees every command.
describe('CLI command set', () => {
  it('top-level help lists every command', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const c of ['forward', 'mtls', 'inspect', 'certs', 'config', 'explain', 'k8s', 'flows', 'doctor', 'dev']) {
      assert.match(r.stdout, new RegExp(`^\\s+${c}\\b`, 'm'), `${c} missing from --help`);
    }
  });

  it('a non-proxy command still runs (config schema)', async () => {
    const r = await runCli(['config', 'schema']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).properties?.mode, 'no mode in the JSON schema');
  });

  it('a proxy command keeps its help and its usage errors', async () => {
    const help = await runCli(['forward', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--listen/);
    const bad = await runCli(['forward', '--no-such-flag']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option '--no-such-flag'/);
  });
});
