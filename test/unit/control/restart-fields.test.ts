import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { restartFields } from '../../../src/control/restart-fields.js';

describe('restartFields: what a reload cannot apply', () => {
  const base = { listen: '127.0.0.1:8888', policy: { rules: [{ action: 'allow', hosts: ['a.example'] }] } };
  const fields = (over: object) => restartFields(parseConfig(base), parseConfig({ ...base, ...over })).map((f) => f.field);

  test('policy and the htpasswd file are reloadable', () => {
    assert.deepEqual(fields({ policy: { rules: [{ action: 'deny', hosts: ['b.example'] }], allowPrivate: true } }), []);
    assert.deepEqual(fields({ auth: { htpasswd: '/etc/egresskit/users' } }), []);
  });

  test('listen, admin, mode-level sections, timeouts, limits and the realm are not', () => {
    assert.deepEqual(fields({ listen: '127.0.0.1:9999' }), ['listen']);
    assert.deepEqual(fields({ admin: 'off', timeouts: { idle: '1m' } }), ['admin', 'timeouts.idle']);
    assert.deepEqual(fields({ limits: { maxConnections: 10 } }), ['limits.maxConnections']);
    assert.deepEqual(fields({ auth: { realm: 'corp' } }), ['auth.realm']);
    assert.deepEqual(fields({ upstreamProxy: { url: 'http://user:secret@parent:3128' } }), ['upstreamProxy']);
  });
});
