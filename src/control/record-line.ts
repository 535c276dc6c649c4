import type { ProxyRecord } from '../model/record.js';
import { F } from './log-fields.js';

/**
 * The record's JSON log line written directly, without pino's generic serializer: one line per
 * tunnel is the proxy's hottest log path, and pino spent more on the line (key loop, escaping
 * checks, a Date per line) than the pipeline spent deciding. The line is the one pino writes
 * with the options of createLogger (level label, ISO time, the fields, msg last): the unit
 * test compares the two on the same records.
 */

/** One value as JSON: what JSON.stringify would give, without an object walk for scalars. */
function json(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return 'null';
    default:
      return v === null ? 'null' : (JSON.stringify(v) ?? 'null');
  }
}

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

// Keys are constants: their JSON is built once.
const K = Object.fromEntries(Object.entries(F).map(([k, name]) => [k, `,${JSON.stringify(name)}:`])) as { [k in keyof typeof F]: string };

/** The whole line, newline included, at `level` ('info' or 'warn'). */
export function recordJsonLine(r: ProxyRecord, level: string): string {
  const p = r.phases;
  return (
    `{"level":"${level}","time":"${isoNow()}"` +
    `,${JSON.stringify(F.event)}:${json(r.kind)}` +
    K.client + json(r.client) +
    K.identity + json(r.identity?.principal) +
    K.identityKind + json(r.identity?.kind) +
    K.method + json(r.method) +
    K.target + json(r.target) +
    K.url + json(r.url) +
    K.resolved + json(r.resolved) +
    K.via + json(r.via) +
    K.decision + json(decisionWord(r)) +
    K.configVersion + json(r.configVersion) +
    K.rule + json(r.decision?.ruleId) +
    K.reason + json(r.decision?.reason) +
    K.status + json(r.status) +
    K.bytesUp + json(r.bytesUp) +
    K.bytesDown + json(r.bytesDown) +
    K.durationMs + json(r.durationMs) +
    K.dnsMs + json(p.dnsMs) +
    K.connectMs + json(p.connectMs) +
    K.tlsMs + json(p.tlsMs) +
    K.ttfbMs + json(p.ttfbMs) +
    K.tls + json(r.tls) +
    K.sni + json(r.sni) +
    K.sniMismatch + json(r.sniMismatch) +
    K.error + json(r.error) +
    K.errorDetail + json(r.errorDetail) +
    `,"msg":${json(r.kind)}}\n`
  );
}
