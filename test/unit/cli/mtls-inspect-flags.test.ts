import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rawConfigFromFlags } from '../../../src/cli/proxy-flags.js';
import { UsageError } from '../../../src/cli/usage-error.js';
import { ConfigError, parseConfig } from '../../../src/config/load.js';
import { interceptsTls } from '../../../src/config/schema.js';

const TLS = { tls: { dir: '/etc/egresskit/tls' } };

describe('mtls with interception: the config', () => {
  test('an inspect section on mtls turns interception on, with every inspect default', () => {
    const c = parseConfig({ mode: 'mtls', ...TLS, inspect: {} });
    assert.equal(interceptsTls(c), true);
    assert.equal(c.inspect?.ui, '0.0.0.0:8081');
    assert.equal(c.inspect?.caDir, '~/.egresskit');
  });
  test('mtls without the section does not intercept; inspect always does; forward never', () => {
    assert.equal(interceptsTls(parseConfig({ mode: 'mtls', ...TLS })), false);
    assert.equal(interceptsTls(parseConfig({ mode: 'inspect' })), true);
    assert.equal(interceptsTls(parseConfig({ mode: 'forward' })), false);
  });
  test('forward with an inspect section is refused, naming both ways to intercept', () => {
    assert.throws(
      () => parseConfig({ mode: 'forward', inspect: {} }),
      (err: unknown) => err instanceof ConfigError && /inspect: .*`egresskit inspect` or `egresskit mtls --inspect`/.test(err.message),
    );
  });
});

describe('mtls --inspect: the flags', () => {
  test('--inspect alone gives an inspect section, so the defaults apply', () => {
    const raw = rawConfigFromFlags('mtls', { inspect: true, tlsDir: '/t' });
    assert.deepEqual(raw.inspect, {});
    assert.equal(interceptsTls(parseConfig(raw)), true);
  });
  test('--inspect carries the inspect flags into the section', () => {
    const raw = rawConfigFromFlags('mtls', { inspect: true, tlsDir: '/t', caDir: '/ca', passthrough: ['a.example'], ui: 'off' });
    assert.deepEqual(raw.inspect, { ui: 'off', caDir: '/ca', passthrough: ['a.example'] });
  });
  test('without --inspect, mtls has no inspect section', () => {
    assert.equal(rawConfigFromFlags('mtls', { tlsDir: '/t' }).inspect, undefined);
  });
  for (const [flags, named] of [
    [{ caDir: '/ca' }, /^--ca-dir is an inspect flag, and mtls intercepts TLS only with --inspect: add --inspect .*or drop --ca-dir$/],
    [{ insecureUpstream: true, ui: 'off' }, /^--ui, --insecure-upstream are inspect flags.*add --inspect.*or drop --ui, --insecure-upstream$/],
    [{ captureBytes: 0 }, /^--capture-bytes is an inspect flag/],
  ] as const) {
    test(`inspect flags without --inspect are a usage error: ${Object.keys(flags).join(', ')}`, () => {
      assert.throws(
        () => rawConfigFromFlags('mtls', { tlsDir: '/t', ...flags }),
        (err: unknown) => err instanceof UsageError && err.exitCode === 2 && named.test(err.message),
      );
    });
  }
  test('an inspect section in the config file turns interception on, and inspect flags then apply', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'egk-mi-')), 'mtls.yaml');
    writeFileSync(file, 'mode: mtls\ninspect:\n  redact: [authorization]\n');
    const raw = rawConfigFromFlags('mtls', { config: file, tlsDir: '/t', caDir: '/ca' });
    assert.deepEqual(raw.inspect, { redact: ['authorization'], caDir: '/ca' });
  });
});
