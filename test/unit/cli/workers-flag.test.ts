import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Command } from 'commander';
import { addProxyFlags, rawConfigFromFlags, type ProxyFlags } from '../../../src/cli/proxy-flags.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import { ConfigError, parseConfig } from '../../../src/config/load.js';

function configFrom(argv: string[]) {
  const cmd = addProxyFlags(new Command('forward').exitOverride().configureOutput({ writeErr: () => undefined }), '0.0.0.0:8888');
  cmd.parse(argv, { from: 'user' });
  return parseConfig(rawConfigFromFlags('forward', cmd.opts<ProxyFlags>()));
}

describe('--workers and workers: in the config file', () => {
  test('absent means the default (computed at start); the flag sets it; the flag wins over the file', () => {
    assert.equal(configFrom([]).workers, undefined);
    assert.equal(configFrom(['--workers', '4']).workers, 4);
    const file = join(mkdtempSync(join(tmpdir(), 'egk-workers-flag-')), 'c.yaml');
    writeFileSync(file, 'workers: 3\n');
    assert.equal(configFrom(['--config', file]).workers, 3);
    assert.equal(configFrom(['--config', file, '--workers', '1']).workers, 1);
  });

  test('a whole number from 1 to 256, with a message that says so', () => {
    for (const bad of ['0', '257', '1.5', 'two', '-3', ' ']) {
      assert.throws(() => configFrom(['--workers', bad]), (e: Error) => e instanceof UsageError && /--workers .*expected a whole number from 1 to 256/.test(e.message), bad);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'egk-workers-flag-')), 'c.yaml');
    writeFileSync(file, 'workers: 0\n');
    assert.throws(() => configFrom(['--config', file]), ConfigError);
  });
});
