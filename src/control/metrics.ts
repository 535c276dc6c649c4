import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { recordChannel, tunnelChannel, type TunnelEvent } from '../model/channels.js';
import type { ProxyRecord } from '../model/record.js';

/**
 * Prometheus metrics for one proxy instance. Labels are small closed sets (kind, decision,
 * status, error code); never a host name, which would explode cardinality and leak traffic.
 */
export function attachMetrics(instance: string, mode: string): { registry: Registry; detach: () => void } {
  const registry = new Registry();
  registry.setDefaultLabels({ mode });
  collectDefaultMetrics({ register: registry, prefix: 'egresskit_' });
  const requests = new Counter({
    name: 'egresskit_requests_total',
    help: 'Tunnels, forwarded requests and refused connections, by kind, decision and status.',
    labelNames: ['kind', 'decision', 'status'],
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'egresskit_bytes_total',
    help: 'Bytes relayed, by direction (up: client to destination).',
    labelNames: ['direction'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'egresskit_errors_total',
    help: 'Failures by error code (dns_not_found, connect_refused, policy_denied, ...).',
    labelNames: ['code'],
    registers: [registry],
  });
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
  const onRecord = (msg: unknown) => {
    const r = msg as ProxyRecord;
    if (r.instance !== instance) return;
    const d = r.decision;
    const decision = !d ? 'none' : d.verdict === 'deny' && d.enforcement === 'report' ? 'would-deny' : d.verdict;
    requests.inc({ kind: r.kind, decision, status: String(r.status ?? 0) });
    if (r.bytesUp) bytes.inc({ direction: 'up' }, r.bytesUp);
    if (r.bytesDown) bytes.inc({ direction: 'down' }, r.bytesDown);
    if (r.error) errors.inc({ code: r.error });
    if (r.durationMs !== undefined) duration.observe({ kind: r.kind }, r.durationMs / 1000);
  };
  const onTunnel = (msg: unknown) => {
    const e = msg as TunnelEvent;
    if (e.instance !== instance) return;
    if (e.open) active.inc();
    else active.dec();
  };
  recordChannel.subscribe(onRecord);
  tunnelChannel.subscribe(onTunnel);
  return {
    registry,
    detach: () => {
      recordChannel.unsubscribe(onRecord);
      tunnelChannel.unsubscribe(onTunnel);
    },
  };
}
