import { Counter, Gauge, type Registry } from 'prom-client';

export interface ReloadMetrics {
  succeeded(version: string): void;
  failed(): void;
}

/**
 * The reload of the config and htpasswd files, for alerting: a failure counter and a 0/1 gauge
 * ("the files on disk are not what runs"), and the running version as an info metric with one
 * series (the old series is removed on a swap, so the label never accumulates values).
 */
export function reloadMetrics(registry: Registry, initialVersion: string): ReloadMetrics {
  const reloads = new Counter({
    name: 'egresskit_config_reloads_total',
    help: 'Reloads of the config and htpasswd files that put a new policy or user list in place.',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'egresskit_config_reload_failures_total',
    help: 'Reloads refused because a file was invalid; the last good version kept running.',
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'egresskit_config_last_reload_success',
    help: '1 when the last reload attempt succeeded (or none was needed yet), 0 when the files on disk were refused.',
    registers: [registry],
  });
  const info = new Gauge({
    name: 'egresskit_config_info',
    help: 'The running policy and users version (config_version in every log line), always 1.',
    labelNames: ['config_version'],
    registers: [registry],
  });
  lastSuccess.set(1);
  info.set({ config_version: initialVersion }, 1);
  let current = initialVersion;
  return {
    succeeded(version) {
      lastSuccess.set(1);
      if (version === current) return;
      reloads.inc();
      info.remove({ config_version: current });
      info.set({ config_version: version }, 1);
      current = version;
    },
    failed() {
      failures.inc();
      lastSuccess.set(0);
    },
  };
}
