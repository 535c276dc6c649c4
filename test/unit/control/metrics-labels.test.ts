import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attachMetrics, BUDGET_LABELS, DECISION_LABELS, LEAF_RESULT_LABELS, PHASE_LABELS, RECORD_KINDS, SNI_MISMATCH_LABELS, TLS_SIDE_LABELS } from '../../../src/control/metrics.js';
import { publishRecord, publishTls, type TlsEvent } from '../../../src/model/channels.js';
import { ERROR_CODES } from '../../../src/model/errors.js';
import { newRecord, type ProxyRecord } from '../../../src/model/record.js';

/** Every label value of every egresskit_* metric in the registry's output. */
function labelValues(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^egresskit_[a-z_]+\{([^}]*)\}/.exec(line);
    if (!m) continue;
    for (const pair of m[1]!.matchAll(/([a-z_]+)="([^"]*)"/g)) {
      const set = out.get(pair[1]!) ?? new Set<string>();
      set.add(pair[2]!);
      out.set(pair[1]!, set);
    }
  }
  return out;
}

describe('metric labels are closed sets', () => {
  test('whatever the records say, every label value comes from a fixed list (never a host, a rule id or an errno)', async () => {
    const instance = `labels-${process.pid}`;
    const metrics = attachMetrics(instance, 'forward');
    try {
      const records: ProxyRecord[] = [];
      for (const kind of RECORD_KINDS) {
        for (const code of [...ERROR_CODES, undefined]) {
          const r = newRecord(instance, kind, '192.0.2.1:1234');
          r.target = 'secret-host.example:443';
          r.error = code;
          r.sniMismatch = true;
          r.sni = 'secret-sni.example';
          r.status = code ? 502 : 200;
          r.phases = { dnsMs: 1, connectMs: 2, tlsMs: 3, ttfbMs: 4 };
          r.decision = { verdict: 'deny', ruleId: 'team-a-secret-rule', phase: 'host', reason: 'x', enforcement: 'report' };
          records.push(r);
        }
      }
      // What a library user's own publisher might send: an errno and a status that is no status.
      const odd = newRecord(instance, 'connect', '192.0.2.1:1');
      (odd as { error: unknown }).error = 'ECONNRESET';
      odd.status = 123456;
      records.push(odd);
      for (const r of records) publishRecord(r);
      for (const side of TLS_SIDE_LABELS) for (const resumed of [true, false]) publishTls({ instance, event: 'handshake', side, resumed });
      // A side from outside the set (a library user's own publisher) is not counted.
      publishTls({ instance, event: 'handshake', side: 'secret-host.example', resumed: true } as unknown as TlsEvent);
      for (const hit of [true, false]) publishTls({ instance, event: 'leaf', hit });
      const labels = labelValues(await metrics.registry.metrics());
      const allowed: Record<string, ReadonlySet<string>> = {
        mode: new Set(['forward']),
        kind: new Set(RECORD_KINDS),
        decision: new Set(DECISION_LABELS),
        status: new Set(['0', ...Array.from({ length: 900 }, (_, i) => String(i + 100))]),
        code: new Set(ERROR_CODES),
        direction: new Set(['up', 'down']),
        phase: new Set(PHASE_LABELS),
        budget: new Set(Object.values(BUDGET_LABELS)),
        action: new Set(SNI_MISMATCH_LABELS),
        side: new Set(TLS_SIDE_LABELS),
        resumed: new Set(['true', 'false']),
        result: new Set(LEAF_RESULT_LABELS),
        // prom-client's own: histogram buckets, process and GC metrics.
        le: new Set(),
        kind_gc: new Set(),
        space: new Set(),
        version: new Set(),
        major: new Set(),
        minor: new Set(),
        patch: new Set(),
        type: new Set(),
      };
      for (const [name, values] of labels) {
        assert.ok(name in allowed, `unexpected label ${name}`);
        if (allowed[name]!.size === 0) continue;
        for (const v of values) assert.ok(allowed[name]!.has(v), `label ${name}="${v}" is not in its closed set`);
      }
      assert.ok(labels.get('code')?.has('internal'), 'an errno from outside the table is counted as internal');
      assert.deepEqual([...(labels.get('code') ?? [])].sort(), [...ERROR_CODES].sort());
      assert.deepEqual([...(labels.get('phase') ?? [])].sort(), [...PHASE_LABELS].sort());
      assert.deepEqual([...(labels.get('budget') ?? [])].sort(), ['age', 'concurrent', 'rate']);
      assert.deepEqual([...(labels.get('action') ?? [])].sort(), [...SNI_MISMATCH_LABELS].sort());
      assert.ok(labels.get('status')?.has('0'), 'a status out of range is 0');
      assert.deepEqual([...(labels.get('side') ?? [])].sort(), [...TLS_SIDE_LABELS].sort());
      assert.deepEqual([...(labels.get('result') ?? [])].sort(), [...LEAF_RESULT_LABELS].sort());
    } finally {
      metrics.detach();
    }
  });
});
