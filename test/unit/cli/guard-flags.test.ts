import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Command } from 'commander';
import { addProxyFlags, rawConfigFromFlags, type ProxyFlags } from '../../../src/cli/proxy-flags.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import { parseConfig } from '../../../src/config/load.js';

function configFrom(argv: string[]) {
  const cmd = addProxyFlags(new Command('forward').exitOverride().configureOutput({ writeErr: () => undefined }), '0.0.0.0:8888');
  cmd.parse(argv, { from: 'user' });
  return parseConfig(rawConfigFromFlags('forward', cmd.opts<ProxyFlags>()));
}

describe('SNI check and budget flags map onto the config', () => {
  test('defaults: SNI check in report mode on 443, no budgets, no maximum age', () => {
    const c = configFrom([]);
    assert.deepEqual(c.sni, { check: 'report', ports: [443], requireTls: false, peekTimeout: 5000 });
    assert.deepEqual(c.budgets, { maxTunnels: 0, rate: 0, maxIdentities: 10_000 });
  });

  test('every flag', () => {
    const c = configFrom([
      '--sni-check', 'enforce', '--sni-ports', '443,8443', '--require-tls',
      '--max-tunnels-per-identity', '50', '--rate-per-identity', '20/s', '--burst-per-identity', '40', '--max-tunnel-age', '1h',
    ]);
    assert.deepEqual(c.sni, { check: 'enforce', ports: [443, 8443], requireTls: true, peekTimeout: 5000 });
    assert.deepEqual(c.budgets, { maxTunnels: 50, rate: 20, burst: 40, maxTunnelAge: 3_600_000, maxIdentities: 10_000 });
  });

  test('flags override the file, --max-tunnel-age off included; a rule may carry sniCheck and requireTls', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egk-guard-flags-'));
    const file = join(dir, 'egress.yaml');
    writeFileSync(
      file,
      'sni: { check: off }\nbudgets: { maxTunnelAge: 10m, maxTunnels: 5 }\npolicy:\n  rules:\n    - { id: bank, action: allow, hosts: [bank.example], sniCheck: enforce, requireTls: true }\n',
    );
    const c = configFrom(['--config', file, '--sni-check', 'enforce', '--max-tunnel-age', 'off']);
    assert.equal(c.sni.check, 'enforce');
    assert.equal(c.budgets.maxTunnels, 5);
    assert.equal(c.budgets.maxTunnelAge, 0);
    assert.deepEqual(c.policy.rules[0], { id: 'bank', action: 'allow', hosts: ['bank.example'], sniCheck: 'enforce', requireTls: true });
  });

  test('bad values are usage errors naming the flag', () => {
    assert.throws(() => configFrom(['--rate-per-identity', 'fast']), (e: unknown) => e instanceof UsageError && /--rate-per-identity "fast"/.test(e.message));
    assert.throws(() => configFrom(['--sni-ports', '0']), (e: unknown) => e instanceof UsageError && /--sni-ports "0"/.test(e.message));
    assert.throws(() => configFrom(['--sni-check', 'strict']));
  });
});
