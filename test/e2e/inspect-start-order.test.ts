import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN } from '../helpers/paths.js';

// Interception's setup (upstream trust store, leaf cache) is built right after the proxy port
// listens (src/server/interception-after-listen.ts), not on first use: a setup error still fails
// the start with its message, instead of the first intercepted connection.
describe('inspect start-up: interception set up after listen', () => {
  it('an unreadable --upstream-ca still fails the start (exit 2, the reason on stderr)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'egresskit-start-order-'));
    const missing = join(dir, 'no-such-ca.pem');
    const args = ['inspect', '--listen', '127.0.0.1:0', '--admin', 'off', '--ui', 'off', '--ca-dir', join(dir, 'ca'), '--upstream-ca', missing, '--workers', '1'];
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // A proxy that started anyway would run until killed: that is the failure this test catches.
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code] = (await once(child, 'close')) as [number | null];
    clearTimeout(killer);
    assert.equal(code, 2, `exit ${code}; stderr: ${stderr}`);
    assert.match(stderr, new RegExp(`cannot read --upstream-ca ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`));
  });
});
