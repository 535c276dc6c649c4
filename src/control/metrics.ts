import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { recordChannel, tlsChannel, tunnelChannel, type TlsEvent, type TunnelEvent } from '../model/channels.js';
import { isErrorCode } from '../model/errors.js';
import type { ProxyRecord } from '../model/record.js';
import { PendingCounts } from './pending-counts.js';

const UP = () => ({ direction: 'up' });
const DOWN = () => ({ direction: 'down' });

/** The label values of every egresskit metric, as closed sets: a test enumerates them. */
export const RECORD_KINDS = ['connect', 'http', 'upgrade', 'client_error', 'tls_error'] as const satisfies ReadonlyArray<ProxyRecord['kind']>;
export const DECISION_LABELS = ['allow', 'deny', 'would-deny', 'none'] as const;
export const PHASE_LABELS = ['dns', 'connect', 'tls', 'ttfb'] as const;
/** Which per-identity budget a record's error spent: labelled by budget, never by identity. */
export const BUDGET_LABELS = { too_many_tunnels: 'concurrent', rate_limited: 'rate', tunnel_max_age: 'age' } as const;
export const SNI_MISMATCH_LABELS = ['refused', 'reported'] as const;
export const TLS_SIDE_LABELS = ['listener', 'intercept', 'upstream'] as const;
export const LEAF_RESULT_LABELS = ['hit', 'miss'] as const;

/** An HTTP status as a label: three digits, or 0 when there was none (a closed set of at most 1000). */
function statusLabel(status: number | undefined): string {
  return status !== undefined && Number.isInteger(status) && status >= 100 && status <= 999 ? String(status) : '0';
}

/**
 * Prometheus metrics for one proxy instance. Labels are small closed sets (kind, decision,
 * status, error code); never a host name, which would explode cardinality and leak traffic.
 */
export function attachMetrics(instance: string, mode: string): { registry: Registry; detach: () => void; collectDefaults: () => void } {
  const registry = new Registry();
  registry.setDefaultLabels({ mode });
  // The process and runtime metrics (CPU, memory, event-loop delay, GC): set up by the control
  // plane once the proxy port listens, before the admin port (the only reader) does. Building
  // them (a perf_hooks histogram, a GC observer, ~20 metrics) was ~5% of the time to listen.
  let defaults = false;
  const collectDefaults = () => {
    if (defaults) return;
    defaults = true;
    collectDefaultMetrics({ register: registry, prefix: 'egresskit_' });
  };
  // Counted per record into plain numbers, added to prom-client's counters when scraped.
  const requests = new PendingCounts<'kind' | 'decision' | 'status'>();
  const bytes = new PendingCounts<'direction'>();
  const errors = new PendingCounts<'code'>();
  requests.register(registry, 'egresskit_requests_total', 'Tunnels, forwarded requests and refused connections, by kind, decision and status.', ['kind', 'decision', 'status']);
  bytes.register(registry, 'egresskit_bytes_total', 'Bytes relayed, by direction (up: client to destination).', ['direction']);
  errors.register(registry, 'egresskit_errors_total', 'Failures by error code (dns_not_found, connect_refused, policy_denied, ...).', ['code']);
  const active = new Gauge({
    name: 'egresskit_active_tunnels',
    help: 'Open CONNECT and Upgrade tunnels.',
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'egresskit_duration_seconds',
    help: 'Duration of tunnels and forwarded requests.',
    labelNames: ['kind'],
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600],
    registers: [registry],
  });
  const phases = new Histogram({
    name: 'egresskit_phase_seconds',
    help: 'Time spent in each phase of a connection: dns, connect (TCP or parent CONNECT), tls (upstream handshake, inspect), ttfb (start to first response byte).',
    labelNames: ['phase'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const budgets = new Counter({
    name: 'egresskit_budget_exceeded_total',
    help: 'Tunnels and requests refused (concurrent, rate) or tunnels closed (age) by a per-identity budget.',
    labelNames: ['budget'],
    registers: [registry],
  });
  const sniMismatches = new Counter({
    name: 'egresskit_sni_mismatch_total',
    help: 'Tunnels whose TLS server name differed from the CONNECT host: refused (sni check enforce) or only reported.',
    labelNames: ['action'],
    registers: [registry],
  });
  const handshakes = new Counter({
    name: 'egresskit_tls_handshakes_total',
    help: 'TLS handshakes completed, by side (listener: the mtls port; intercept: inspect towards the client; upstream: inspect towards the destination) and whether a session was resumed.',
    labelNames: ['side', 'resumed'],
    registers: [registry],
  });
  const leaves = new Counter({
    name: 'egresskit_leaf_cache_total',
    help: 'Inspect leaf-certificate lookups: hit (a cached certificate and context) or miss (one minted).',
    labelNames: ['result'],
    registers: [registry],
  });
  const onTls = (msg: unknown) => {
    const e = msg as TlsEvent;
    if (e.instance !== instance) return;
    if (e.event === 'leaf') leaves.inc({ result: e.hit ? 'hit' : 'miss' });
    else if ((TLS_SIDE_LABELS as readonly string[]).includes(e.side)) handshakes.inc({ side: e.side, resumed: e.resumed ? 'true' : 'false' });
  };
  const onRecord = (msg: unknown) => {
    const r = msg as ProxyRecord;
    if (r.instance !== instance) return;
    const d = r.decision;
    const decision = !d ? 'none' : d.verdict === 'deny' && d.enforcement === 'report' ? 'would-deny' : d.verdict;
    const kind = (RECORD_KINDS as readonly string[]).includes(r.kind) ? r.kind : 'client_error';
    const status = statusLabel(r.status);
    requests.add(`${kind} ${decision} ${status}`, () => ({ kind, decision, status }));
    if (r.bytesUp) bytes.add('up', UP, r.bytesUp);
    if (r.bytesDown) bytes.add('down', DOWN, r.bytesDown);
    if (r.error) {
      // The type already closes the set; a value from outside it (a library user's own publisher) counts as internal.
      const code = isErrorCode(r.error) ? r.error : 'internal';
      errors.add(code, () => ({ code }));
    }
    const budget = r.error && Object.hasOwn(BUDGET_LABELS, r.error) ? BUDGET_LABELS[r.error as keyof typeof BUDGET_LABELS] : undefined;
    if (budget) budgets.inc({ budget });
    if (r.sniMismatch) sniMismatches.inc({ action: r.error === 'sni_mismatch' ? 'refused' : 'reported' });
    if (r.durationMs !== undefined) duration.observe({ kind }, r.durationMs / 1000);
    const p = r.phases;
    if (p.dnsMs !== undefined) phases.observe({ phase: 'dns' }, p.dnsMs / 1000);
    if (p.connectMs !== undefined) phases.observe({ phase: 'connect' }, p.connectMs / 1000);
    if (p.tlsMs !== undefined) phases.observe({ phase: 'tls' }, p.tlsMs / 1000);
    if (p.ttfbMs !== undefined) phases.observe({ phase: 'ttfb' }, p.ttfbMs / 1000);
  };
  const onTunnel = (msg: unknown) => {
    const e = msg as TunnelEvent;
    if (e.instance !== instance) return;
    if (e.open) active.inc();
    else active.dec();
  };
  recordChannel.subscribe(onRecord);
  tunnelChannel.subscribe(onTunnel);
  tlsChannel.subscribe(onTls);
  return {
    registry,
    collectDefaults,
    detach: () => {
      recordChannel.unsubscribe(onRecord);
      tunnelChannel.unsubscribe(onTunnel);
      tlsChannel.unsubscribe(onTls);
    },
  };
}
