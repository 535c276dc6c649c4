import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { reloadMetrics } from '../../../src/control/reload-metrics.js';

describe('reload metrics', () => {
  test('failures count and the gauge drops to 0; the info metric keeps one series whatever the number of versions', async () => {
    const registry = new Registry();
    const m = reloadMetrics(registry, 'aaaaaaaaaaaa');
    const text = () => registry.metrics();
    assert.match(await text(), /^egresskit_config_last_reload_success 1$/m);
    m.failed();
    assert.match(await text(), /^egresskit_config_reload_failures_total 1$/m);
    assert.match(await text(), /^egresskit_config_last_reload_success 0$/m);
    for (const v of ['bbbbbbbbbbbb', 'cccccccccccc', 'dddddddddddd']) m.succeeded(v);
    m.succeeded('dddddddddddd');
    const out = await text();
    assert.match(out, /^egresskit_config_last_reload_success 1$/m);
    assert.match(out, /^egresskit_config_reloads_total 3$/m, 'an unchanged version is not a reload');
    assert.deepEqual(out.match(/^egresskit_config_info\{.*$/gm), ['egresskit_config_info{config_version="dddddddddddd"} 1']);
  });
});
