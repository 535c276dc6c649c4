import type { Decision } from '../model/decision.js';
import type { PhaseTimings } from '../model/record.js';
import type { FlowDecision, FlowPhases } from './flow.js';

/** A Decision as a flow keeps it: what happened (allowed, denied, would-deny), which rule, why. */
export function flowDecision(d: Decision | undefined): FlowDecision | undefined {
  if (!d) return undefined;
  if (d.verdict === 'deny') {
    return d.enforcement === 'report' ? { verdict: 'would-deny', ruleId: d.ruleId, reason: d.reason } : { verdict: 'denied', ruleId: d.ruleId, reason: d.reason };
  }
  // An allow reached past a report-mode denial: the report is what a reader needs to see.
  if (d.reported) return { verdict: 'would-deny', ruleId: d.reported.ruleId, reason: d.reported.reason };
  return { verdict: 'allowed', ruleId: d.ruleId, reason: d.reason };
}

/** A copy of the record's phases (the record keeps filling its own as the exchange goes on). */
export function flowPhases(p: PhaseTimings): FlowPhases | undefined {
  const out: FlowPhases = {};
  if (p.dnsMs !== undefined) out.dnsMs = p.dnsMs;
  if (p.connectMs !== undefined) out.connectMs = p.connectMs;
  if (p.tlsMs !== undefined) out.tlsMs = p.tlsMs;
  if (p.ttfbMs !== undefined) out.ttfbMs = p.ttfbMs;
  return Object.keys(out).length > 0 ? out : undefined;
}
