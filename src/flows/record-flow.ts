import { STATUS_CODES } from 'node:http';
import type { ProxyRecord } from '../model/record.js';
import { parseHostPort } from '../config/host-port.js';
import { flowDecision, flowPhases } from './flow-decision.js';
import { newFlowId, type CapturedBody, type Flow } from './flow.js';

/** Ends of an intercepted tunnel that are not worth a row of their own: its exchanges are the rows. */
const ORDINARY_TUNNEL_ENDS = new Set(['client_gone', 'client_reset', 'client_slow', 'idle_timeout']);

/**
 * Whether a record that no captured exchange describes deserves a flow of its own: a refused or
 * failed request, a tunnel that was denied, passed through, or failed before interception (a
 * client that does not trust the CA shows up here). An intercepted tunnel that went well is
 * already shown by its exchanges.
 */
export function recordNeedsFlow(r: ProxyRecord): boolean {
  if (r.kind === 'http' || r.kind === 'upgrade') return true;
  if (r.kind !== 'connect') return false;
  if (r.intercepted !== true) return true;
  return r.error !== undefined && !ORDINARY_TUNNEL_ENDS.has(r.error);
}

function uncaptured(size: number): CapturedBody {
  return { size, captured: Buffer.alloc(0), truncated: size > 0 };
}

/** A flow built from a record alone: no headers or bodies were captured, only what the record knows. */
export function recordFlow(r: ProxyRecord): Flow {
  const tunnel = r.kind === 'connect';
  const at = r.target ? parseHostPort(r.target) : undefined;
  const url = tunnel ? (r.target ?? '') : (r.url ?? r.target ?? '');
  const scheme = url.startsWith('https:') || (tunnel && at?.port === 443) ? 'https' : 'http';
  const durationMs = r.durationMs ?? 0;
  const flow: Flow = {
    id: newFlowId(),
    startedAt: new Date(Date.now() - durationMs).toISOString(),
    client: r.client,
    identity: r.identity?.principal ?? null,
    scheme,
    host: at?.host ?? '',
    port: at?.port ?? 0,
    intercepted: false,
    request: { method: r.method ?? (tunnel ? 'CONNECT' : 'GET'), url, httpVersion: '1.1', headers: [], body: uncaptured(r.bytesUp) },
    timings: { startMs: r.start, endMs: r.start + durationMs },
    state: r.error ? 'error' : 'complete',
  };
  if (tunnel) flow.kind = 'tunnel';
  if (r.intercepted === false) flow.passthrough = true;
  const decision = flowDecision(r.decision);
  if (decision) flow.decision = decision;
  const phases = flowPhases(r.phases);
  if (phases) flow.phases = phases;
  if (r.status !== undefined) {
    flow.response = { status: r.status, statusText: STATUS_CODES[r.status] ?? '', httpVersion: '1.1', headers: [], body: uncaptured(r.bytesDown) };
  }
  if (r.error) flow.error = { code: r.error, message: r.errorDetail ?? r.error };
  return flow;
}
