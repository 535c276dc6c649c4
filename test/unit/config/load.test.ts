import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, deepMerge, parseConfig, readConfigFile } from '../../../src/config/load.js';
import { configJsonSchema, DEFAULT_LISTEN } from '../../../src/config/schema.js';

function configError(raw: unknown): ConfigError {
  try {
    parseConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.name, 'ConfigError');
    return err;
  }
  assert.fail(`expected ${JSON.stringify(raw)} to be refused`);
}

describe('parseConfig: defaults', () => {
  test('an empty config is a complete forward-mode config', () => {
    const c = parseConfig({});
    assert.equal(c.mode, 'forward');
    assert.equal(c.listen, '0.0.0.0:8888');
    assert.equal(c.admin, '0.0.0.0:9090');
    assert.deepEqual(c.log, { format: 'json', level: 'info' });
    assert.deepEqual(c.policy, { allowPrivate: false, connectPorts: [443, 80], enforcement: 'enforce', rules: [] });
    assert.equal(c.policy.default, undefined);
    assert.deepEqual(c.auth, { realm: 'egresskit' });
    assert.deepEqual(c.timeouts, { connect: 10_000, idle: 300_000, headers: 30_000, keepAlive: 60_000, drain: 30_000 });
    assert.deepEqual(c.limits, { maxConnections: 4096, maxHeaderBytes: 16_384 });
    assert.equal(c.upstreamProxy, undefined);
    assert.equal(c.tls, undefined);
  });

  for (const raw of [undefined, null]) {
    test(`${String(raw)} is read as an empty config`, () => {
      assert.deepEqual(parseConfig(raw), parseConfig({}));
    });
  }

  const listen: Array<[raw: Record<string, unknown>, expected: string]> = [
    [{ mode: 'forward' }, '0.0.0.0:8888'],
    [{ mode: 'mtls', tls: { dir: '/etc/egresskit/tls' } }, '0.0.0.0:8443'],
    [{ mode: 'inspect' }, '0.0.0.0:8080'],
    [{ mode: 'inspect', listen: '127.0.0.1:0' }, '127.0.0.1:0'],
    [{ listen: '[::]:3128' }, '[::]:3128'],
    [{ listen: ':3128' }, ':3128'],
  ];
  for (const [raw, expected] of listen) {
    test(`listen for ${JSON.stringify(raw)} is ${expected}`, () => {
      assert.equal(parseConfig(raw).listen, expected);
    });
  }

  test('DEFAULT_LISTEN per mode', () => {
    assert.deepEqual(DEFAULT_LISTEN, { forward: '0.0.0.0:8888', mtls: '0.0.0.0:8443', inspect: '0.0.0.0:8080' });
  });

  test('durations: strings with units and bare milliseconds', () => {
    const c = parseConfig({ timeouts: { connect: '30s', idle: '5m', headers: 250, keepAlive: '1.5s', drain: '1h' } });
    assert.deepEqual(c.timeouts, { connect: 30_000, idle: 300_000, headers: 250, keepAlive: 1500, drain: 3_600_000 });
  });

  test('partial sections keep the other defaults', () => {
    const c = parseConfig({ timeouts: { connect: '2s' }, policy: { allowPrivate: true }, log: { level: 'debug' } });
    assert.equal(c.timeouts.connect, 2000);
    assert.equal(c.timeouts.idle, 300_000);
    assert.equal(c.policy.allowPrivate, true);
    assert.deepEqual(c.policy.connectPorts, [443, 80]);
    assert.deepEqual(c.log, { format: 'json', level: 'debug' });
  });

  test('tls.reloadInterval defaults and parses', () => {
    assert.equal(parseConfig({ mode: 'mtls', tls: { dir: '/d' } }).tls?.reloadInterval, 5000);
    assert.equal(parseConfig({ mode: 'mtls', tls: { cert: 'c', key: 'k', clientCa: 'ca', reloadInterval: '1m' } }).tls?.reloadInterval, 60_000);
  });

  test('admin can be turned off', () => {
    assert.equal(parseConfig({ admin: 'off' }).admin, 'off');
  });

  test('rules and an upstream proxy pass through', () => {
    const c = parseConfig({
      policy: { rules: [{ id: 'stripe', action: 'allow', hosts: ['*.stripe.com'], ports: [443], identities: ['spiffe://x/*'] }] },
      upstreamProxy: { url: 'http://user:pw@proxy.example:3128' },
    });
    assert.deepEqual(c.policy.rules, [{ id: 'stripe', action: 'allow', hosts: ['*.stripe.com'], ports: [443], identities: ['spiffe://x/*'] }]);
    assert.deepEqual(c.upstreamProxy, { url: 'http://user:pw@proxy.example:3128', noProxy: [] });
  });
});

describe('parseConfig: errors', () => {
  const cases: Array<{ name: string; raw: unknown; includes: string[] }> = [
    { name: 'unknown top-level field', raw: { bogus: 1 }, includes: ['unknown field "bogus"'] },
    { name: 'unknown nested field names the path', raw: { policy: { allowPrivat: true } }, includes: ['policy: unknown field "allowPrivat"'] },
    {
      name: 'unknown field in a rule',
      raw: { policy: { rules: [{ action: 'allow', hosts: ['a.example'], host: 'b.example' }] } },
      includes: ['policy.rules[0]: unknown field "host"'],
    },
    { name: 'several unknown fields', raw: { timeouts: { conect: 1, idel: 2 } }, includes: ['timeouts: unknown fields "conect", "idel"'] },
    { name: 'bad mode', raw: { mode: 'sideways' }, includes: ['mode:', 'forward', 'mtls', 'inspect'] },
    { name: 'ports as a string', raw: { policy: { connectPorts: '443' } }, includes: ['policy.connectPorts:', 'expected array'] },
    { name: 'port 0', raw: { policy: { connectPorts: [0] } }, includes: ['policy.connectPorts[0]:'] },
    { name: 'port too big', raw: { policy: { connectPorts: [443, 70000] } }, includes: ['policy.connectPorts[1]:'] },
    { name: 'no ports', raw: { policy: { connectPorts: [] } }, includes: ['policy.connectPorts:'] },
    { name: 'boolean as string', raw: { policy: { allowPrivate: 'yes' } }, includes: ['policy.allowPrivate:'] },
    { name: 'bad action', raw: { policy: { rules: [{ action: 'permit', hosts: ['a'] }] } }, includes: ['policy.rules[0].action:'] },
    { name: 'rule without hosts', raw: { policy: { rules: [{ action: 'allow' }] } }, includes: ['policy.rules[0].hosts:'] },
    { name: 'rule with empty hosts', raw: { policy: { rules: [{ action: 'allow', hosts: [] }] } }, includes: ['policy.rules[0].hosts:'] },
    { name: 'bad rule id', raw: { policy: { rules: [{ id: 'has space', action: 'allow', hosts: ['a.example'] }] } }, includes: ['policy.rules[0].id:', 'letters, digits'] },
    { name: 'bad duration', raw: { timeouts: { connect: '5 parsecs' } }, includes: ['timeouts.connect: "5 parsecs" is not a duration (use e.g. 250ms, 30s, 5m, 1h)'] },
    { name: 'negative duration', raw: { timeouts: { idle: -1 } }, includes: ['timeouts.idle:', 'is not a duration'] },
    { name: 'duration of the wrong type', raw: { timeouts: { idle: true } }, includes: ['timeouts.idle:'] },
    { name: 'bad listen', raw: { listen: 'nonsense' }, includes: ['listen: expected HOST:PORT, e.g. 0.0.0.0:8888 or [::1]:8888'] },
    { name: 'listen port out of range', raw: { listen: '0.0.0.0:99999' }, includes: ['listen: expected HOST:PORT'] },
    { name: 'bare IPv6 listen', raw: { listen: '::1:8888' }, includes: ['listen: expected HOST:PORT'] },
    { name: 'bad admin', raw: { admin: 'on' }, includes: ['admin:'] },
    { name: 'bad log level', raw: { log: { level: 'verbose' } }, includes: ['log.level:'] },
    { name: 'realm with a quote', raw: { auth: { realm: 'a"b' } }, includes: ['auth.realm: no quotes or backslashes'] },
    { name: 'socks upstream', raw: { upstreamProxy: { url: 'socks5://proxy:1080' } }, includes: ['upstreamProxy.url: expected http://[user:password@]host:port'] },
    { name: 'header limit too small', raw: { limits: { maxHeaderBytes: 100 } }, includes: ['limits.maxHeaderBytes:'] },
    { name: 'not an object', raw: 'forward', includes: ['(top level):'] },
    { name: 'an array', raw: [], includes: ['(top level):'] },
    {
      name: 'bad rule pattern names its path',
      raw: { policy: { rules: [{ action: 'allow', hosts: ['a*b.example'] }] } },
      includes: ['policy.rules[0].hosts[0]:', 'a wildcard is only allowed'],
    },
    {
      name: 'bad CIDR in the second rule',
      raw: { policy: { rules: [{ action: 'allow', hosts: ['a.example'] }, { action: 'deny', hosts: ['b.example', '10.0.0.0/99'] }] } },
      includes: ['policy.rules[1].hosts[1]:', 'bad prefix length'],
    },
    {
      name: 'duplicate rule ids',
      raw: { policy: { rules: [{ id: 'x', action: 'allow', hosts: ['a.example'] }, { id: 'x', action: 'deny', hosts: ['b.example'] }] } },
      includes: ['policy.rules[1].id:', 'duplicate rule id "x"'],
    },
    { name: 'mtls without tls', raw: { mode: 'mtls' }, includes: ['tls: mtls mode needs a certificate, key and client CA', '--tls-dir'] },
    { name: 'mtls without a client CA', raw: { mode: 'mtls', tls: { cert: 'c.pem', key: 'k.pem' } }, includes: ['tls: mtls mode needs'] },
    { name: 'mtls with an empty tls section', raw: { mode: 'mtls', tls: {} }, includes: ['tls: mtls mode needs'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const err = configError(c.raw);
      assert.match(err.message, /^invalid configuration in configuration:\n/);
      for (const text of c.includes) assert.ok(err.message.includes(text), `expected ${JSON.stringify(text)} in:\n${err.message}`);
    });
  }

  test('the source is named in the message', () => {
    assert.throws(
      () => parseConfig({ bogus: 1 }, '/etc/egresskit/config.yaml'),
      (err: unknown) => err instanceof ConfigError && err.message.startsWith('invalid configuration in /etc/egresskit/config.yaml:\n'),
    );
  });

  test('every schema problem is reported at once, one per line', () => {
    const err = configError({ mode: 'sideways', listen: 'bad', policy: { connectPorts: [70000] }, timeouts: { idle: 'forever' }, extra: true });
    const lines = err.message.split('\n').slice(1);
    for (const path of ['mode:', 'listen:', 'policy.connectPorts[0]:', 'timeouts.idle:', 'unknown field "extra"']) {
      assert.ok(
        lines.some((l) => l.includes(path)),
        `expected a line with ${path} in:\n${err.message}`,
      );
    }
    assert.equal(lines.length, 5);
  });

  test('every bad rule pattern is reported at once, like schema problems', () => {
    const err = configError({
      policy: {
        rules: [
          { action: 'allow', hosts: ['a*b.example'] },
          { action: 'deny', hosts: ['10.0.0.0/99'] },
        ],
      },
    });
    assert.ok(err.message.includes('policy.rules[0].hosts[0]:'), err.message);
    assert.ok(err.message.includes('policy.rules[1].hosts[0]:'), err.message);
  });

  test('a bad rule pattern is reported together with schema problems', () => {
    const err = configError({ listen: 'bad', policy: { rules: [{ action: 'allow', hosts: ['a*b.example'] }] } });
    assert.ok(err.message.includes('listen:'), err.message);
    assert.ok(err.message.includes('policy.rules[0].hosts[0]:'), err.message);
  });
});

describe('deepMerge', () => {
  const cases: Array<[name: string, base: unknown, over: unknown, expected: unknown]> = [
    ['objects merge key by key', { a: 1, b: { c: 1, d: 2 } }, { b: { d: 3, e: 4 }, f: 5 }, { a: 1, b: { c: 1, d: 3, e: 4 }, f: 5 }],
    ['arrays replace', { rules: [1, 2, 3] }, { rules: [4] }, { rules: [4] }],
    ['scalars replace', { mode: 'forward' }, { mode: 'inspect' }, { mode: 'inspect' }],
    ['undefined keeps the base', { a: 1 }, undefined, { a: 1 }],
    ['an undefined value keeps the base value', { a: { b: 1 } }, { a: undefined }, { a: { b: 1 } }],
    ['null replaces', { a: { b: 1 } }, { a: null }, { a: null }],
    ['an object replaces a scalar', { a: 1 }, { a: { b: 1 } }, { a: { b: 1 } }],
    ['a scalar replaces an object', { a: { b: 1 } }, { a: 2 }, { a: 2 }],
    ['an object replaces an array', { a: [1] }, { a: { b: 1 } }, { a: { b: 1 } }],
    ['base undefined', undefined, { a: 1 }, { a: 1 }],
    ['deep', { x: { y: { z: 1, w: 2 } } }, { x: { y: { z: 9 } } }, { x: { y: { z: 9, w: 2 } } }],
  ];
  for (const [name, base, over, expected] of cases) {
    test(name, () => {
      assert.deepEqual(deepMerge(base, over), expected);
    });
  }

  test('does not mutate its inputs', () => {
    const base = { a: { b: 1 } };
    const over = { a: { c: 2 } };
    deepMerge(base, over);
    assert.deepEqual(base, { a: { b: 1 } });
    assert.deepEqual(over, { a: { c: 2 } });
  });

  test('file values overridden by flags still validate', () => {
    const file = { mode: 'inspect', policy: { allowPrivate: true, rules: [{ action: 'allow', hosts: ['a.example'] }] } };
    const flags = { policy: { rules: [{ action: 'deny', hosts: ['b.example'] }] }, listen: '127.0.0.1:0' };
    const c = parseConfig(deepMerge(file, flags));
    assert.equal(c.mode, 'inspect');
    assert.equal(c.listen, '127.0.0.1:0');
    assert.equal(c.policy.allowPrivate, true);
    assert.deepEqual(c.policy.rules, [{ action: 'deny', hosts: ['b.example'] }]);
  });
});

describe('readConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egresskit-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads YAML', () => {
    const path = join(dir, 'ok.yaml');
    writeFileSync(path, 'mode: inspect\npolicy:\n  rules:\n    - action: allow\n      hosts: ["*.example.com"]\n');
    assert.deepEqual(readConfigFile(path), { mode: 'inspect', policy: { rules: [{ action: 'allow', hosts: ['*.example.com'] }] } });
  });

  test('an empty file is an empty config', () => {
    const path = join(dir, 'empty.yaml');
    writeFileSync(path, '');
    assert.deepEqual(readConfigFile(path), {});
  });

  test('invalid YAML names the file, line and column', () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(path, 'mode: forward\npolicy: [unclosed\n');
    assert.throws(
      () => readConfigFile(path),
      (err: unknown) => err instanceof ConfigError && err.message.startsWith(`${path}:`) && /not valid YAML/.test(err.message),
    );
  });

  test('a missing file is a ConfigError naming it', () => {
    const path = join(dir, 'missing.yaml');
    assert.throws(
      () => readConfigFile(path),
      (err: unknown) => err instanceof ConfigError && err.message.includes(`cannot read config file ${path}`),
    );
  });
});

describe('configJsonSchema', () => {
  test('is an object schema describing every section', () => {
    const schema = configJsonSchema() as { type?: string; properties?: Record<string, { properties?: Record<string, unknown> }> };
    assert.equal(typeof schema, 'object');
    assert.equal(schema.type, 'object');
    assert.ok(schema.properties);
    for (const key of ['mode', 'listen', 'admin', 'log', 'policy', 'auth', 'upstreamProxy', 'tls', 'timeouts', 'limits']) {
      assert.ok(key in schema.properties, `missing ${key}`);
    }
    const policy = schema.properties.policy;
    assert.ok(policy?.properties);
    for (const key of ['default', 'allowPrivate', 'connectPorts', 'enforcement', 'rules']) assert.ok(key in policy.properties, `missing policy.${key}`);
    assert.doesNotThrow(() => JSON.stringify(schema));
  });
});

describe('parseConfig: TLS settings belong to mtls mode', () => {
  test('tls in forward mode is refused with the command to use instead', () => {
    assert.throws(
      () => parseConfig({ mode: 'forward', tls: { dir: '/etc/egresskit/tls' } }),
      (err: unknown) => err instanceof ConfigError && /TLS settings are for mtls mode; run `egresskit mtls`/.test(err.message),
    );
  });
  test('tls in mtls mode is accepted', () => {
    assert.equal(parseConfig({ mode: 'mtls', tls: { dir: '/etc/egresskit/tls' } }).tls?.dir, '/etc/egresskit/tls');
  });
});
