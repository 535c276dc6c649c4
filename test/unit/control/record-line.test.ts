import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Writable } from 'node:stream';
import type { DestinationStream } from 'pino';
import { attachLog, createLogger, recordLine } from '../../../src/control/log.js';
import { recordJsonLine } from '../../../src/control/record-line.js';
import { publishRecord } from '../../../src/model/channels.js';
import { newRecord, type ProxyRecord } from '../../../src/model/record.js';

function sink(): { stream: DestinationStream & Writable; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream: stream as DestinationStream & Writable, lines };
}

function records(): ProxyRecord[] {
  const plain = newRecord('i1', 'connect', '127.0.0.1:5000');
  const full = newRecord('i1', 'http', '[::1]:6000');
  Object.assign(full, {
    identity: { kind: 'user', principal: 'al"ice\\\u2028é', attributes: {} },
    method: 'GET',
    target: 'example.com:80',
    url: 'http://example.com/a\nb',
    resolved: '93.184.216.34:80',
    via: 'direct',
    decision: { verdict: 'deny', enforcement: 'report', ruleId: 'r-1', reason: 'rule "r-1"', phase: 'host', inspect: false },
    configVersion: 'abc123',
    status: 502,
    bytesUp: 12,
    bytesDown: 3_000_000_000,
    durationMs: 12.34,
    phases: { dnsMs: 0.5, connectMs: 1.25, ttfbMs: 7 },
    tls: 'no-sni',
    sni: 'x\u0001y',
    sniMismatch: true,
    error: 'connect_refused',
    errorDetail: 'ECONNREFUSED \u{1F600}',
  });
  const odd = newRecord('i1', 'tls_error', 'unknown');
  Object.assign(odd, { durationMs: Number.NaN, status: undefined, tls: false, decision: { verdict: 'allow', enforcement: 'enforce', ruleId: 'x', reason: 'y' } });
  return [plain, full, odd];
}

describe('recordJsonLine: the record line written without pino', () => {
  test('parses to what pino writes for the same record (time apart)', async () => {
    const viaPino = sink();
    const logger = await createLogger('json', 'info', viaPino.stream);
    for (const r of records()) {
      const level = r.status !== undefined && r.status >= 500 ? 'warn' : 'info';
      logger[level](recordLine(r), r.kind);
      const mine = JSON.parse(recordJsonLine(r, level)) as Record<string, unknown>;
      const theirs = JSON.parse(viaPino.lines.at(-1)!) as Record<string, unknown>;
      assert.match(String(mine.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(Math.abs(Date.parse(String(mine.time)) - Date.parse(String(theirs.time))) < 1000);
      // Same keys in the same order, same values.
      assert.deepEqual(Object.entries({ ...mine, time: 0 }), Object.entries({ ...theirs, time: 0 }));
    }
  });

  test('ends with one newline and holds no other', () => {
    for (const r of records()) {
      const line = recordJsonLine(r, 'info');
      assert.equal(line.indexOf('\n'), line.length - 1);
    }
  });

  test('attachLog writes records directly to the JSON stream, at the logger level, and lifecycle lines through pino', async () => {
    const out = sink();
    const logger = await createLogger('json', 'warn', out.stream);
    const detach = attachLog('i1', logger, out.stream);
    try {
      const [ok, failed] = records();
      publishRecord(ok!);
      publishRecord(failed!);
      publishRecord({ ...ok!, instance: 'other' });
    } finally {
      detach();
    }
    // Only the 502 is at warn; the info line and the other instance's record are not written.
    assert.equal(out.lines.length, 1);
    const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
    assert.equal(line.level, 'warn');
    assert.equal(line.status, 502);
    assert.equal(line.msg, 'http');
  });
});
