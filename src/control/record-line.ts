import type { ProxyRecord } from '../model/record.js';
import { F } from './log-fields.js';

/**
 * The record's log line: its fields (recordLine, the one list of them, which pino also takes for
 * the pretty format) and the JSON line written directly, without pino's generic serializer: one
 * line per tunnel is the proxy's hottest log path, and pino spent more on the line (key loop,
 * escaping checks, a Date per line) than the pipeline spent deciding. The line is the one pino
 * writes with the options of createLogger (level label, ISO time, the fields, msg last): the
 * unit test compares the two on the same records.
 */

// The time changes at most once a millisecond; at thousands of lines a second most share it.
let lastMs = -1;
let lastIso = '';
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/** The decision as the log line and metrics name it. */
export function decisionWord(r: ProxyRecord): string | null {
  const d = r.decision;
  if (!d) return null;
  if (d.verdict === 'deny' && d.enforcement === 'report') return 'would-deny';
  return d.verdict;
}

/** The one line per tunnel / forwarded request / refused connection. */
export function recordLine(r: ProxyRecord): Record<string, unknown> {
  return {
    [F.event]: r.kind,
    [F.client]: r.client,
    [F.identity]: r.identity?.principal ?? null,
    [F.identityKind]: r.identity?.kind ?? null,
    [F.method]: r.method ?? null,
    [F.target]: r.target ?? null,
    [F.url]: r.url ?? null,
    [F.resolved]: r.resolved ?? null,
    [F.via]: r.via ?? null,
    [F.decision]: decisionWord(r),
    [F.configVersion]: r.configVersion ?? null,
    [F.rule]: r.decision?.ruleId ?? null,
    [F.reason]: r.decision?.reason ?? null,
    [F.status]: r.status ?? null,
    [F.bytesUp]: r.bytesUp,
    [F.bytesDown]: r.bytesDown,
    [F.durationMs]: r.durationMs ?? null,
    [F.dnsMs]: r.phases.dnsMs ?? null,
    [F.connectMs]: r.phases.connectMs ?? null,
    [F.tlsMs]: r.phases.tlsMs ?? null,
    [F.ttfbMs]: r.phases.ttfbMs ?? null,
    [F.tls]: r.tls ?? null,
    [F.sni]: r.sni ?? null,
    [F.sniMismatch]: r.sniMismatch ?? null,
    [F.error]: r.error ?? null,
    [F.errorDetail]: r.errorDetail ?? null,
    // Absent (not null) in a single process, so its lines stay as they were.
    ...(r.worker !== undefined ? { [F.worker]: r.worker } : {}),
  };
}

/** The whole line, newline included, at `level` ('info' or 'warn'). */
export function recordJsonLine(r: ProxyRecord, level: string): string {
  // JSON.stringify of a flat object with the same keys in the same order is what pino writes
  // between its level/time prefix and msg, minus pino's per-key work.
  const fields = JSON.stringify(recordLine(r));
  return `{"level":"${level}","time":"${isoNow()}",${fields.slice(1, -1)},"msg":${JSON.stringify(r.kind)}}\n`;
}
