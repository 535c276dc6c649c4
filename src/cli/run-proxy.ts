import { pino } from 'pino';
import { ConfigError } from '../config/load.js';
import type { Mode } from '../config/schema.js';
import { startProxy } from '../server/start-proxy.js';
import { defaultWorkers } from '../server/cpu-quota.js';
import { capYoungGeneration } from '../server/young-generation.js';
import { HtpasswdError } from '../identity/htpasswd.js';
import { InspectSetupError } from '../model/setup-error.js';
import { TlsMaterialError } from '../listeners/tls-material.js';
import { configSource } from './config-source.js';
import type { ProxyFlags } from './proxy-flags.js';
import { stopOnSignals } from './stop-on-signals.js';
import { UsageError } from './usage-error.js';

/**
 * EGRESSKIT_WORKERS: the default of --workers when neither the flag nor the config file sets it
 * (as GOMAXPROCS is for Go): a Deployment can set it from its CPU limit with the downward API.
 */
function workersFromEnv(): number | undefined {
  const value = process.env.EGRESSKIT_WORKERS;
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 256) throw new UsageError(`EGRESSKIT_WORKERS="${value}": expected a whole number from 1 to 256, like --workers`);
  return n;
}

/**
 * Validates config, starts the proxy (which watches the config and htpasswd files), turns
 * SIGTERM/SIGINT into a graceful drain and SIGHUP into a reload.
 */
export async function runProxy(mode: Mode, flags: ProxyFlags): Promise<void> {
  const source = configSource(mode, flags);
  let config;
  try {
    config = source.load();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  // Lines are batched (a write per 8 KiB, or every 200 ms) instead of one syscall each: at
  // thousands of tunnels per second the per-line write was a visible share of the proxy's CPU.
  const logStream = pino.destination({ dest: 1, sync: false, minLength: 8 * 1024 });
  const flusher = setInterval(() => logStream.flush(), 200);
  flusher.unref();
  const workers = config.workers ?? workersFromEnv() ?? defaultWorkers();
  // Bounded memory under load (see young-generation.ts); the workers get it as a flag.
  capYoungGeneration();
  let handle: { close(): Promise<void>; reload(): void; kill?(): void };
  try {
    // records() is for library callers; a long-running proxy keeps none (the log has them).
    const options = { logStream, keepRecords: 0, configSource: source };
    if (workers > 1) handle = await (await import('../server/workers-primary.js')).startWorkers(config, { ...options, workers });
    else {
      // One worker is today's single process: no cluster, no IPC.
      const proxy = await startProxy(config, options);
      handle = { close: () => proxy.close(), reload: () => void proxy.reload(undefined, 'signal') };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (err instanceof HtpasswdError || err instanceof TlsMaterialError || err instanceof InspectSetupError) throw new UsageError(err.message);
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new UsageError(
        `cannot listen on ${e.address ?? '?'}:${e.port ?? '?'} (${e.code}); pick another address with --listen or --admin`,
      );
    }
    throw err;
  }
  // Every buffered log line is written before the process exits (the drain's last lines included).
  const exitAfterFlush = (code: number) => {
    clearInterval(flusher);
    const timer = setTimeout(() => process.exit(code), 2000);
    logStream.flush(() => {
      clearTimeout(timer);
      process.exit(code);
    });
  };
  // A failed close exits 1 at once, as before: nothing is left to flush.
  stopOnSignals({
    close: () => handle.close(),
    exit: (code) => {
      // A second signal: the workers go at once too (the drain they were in is abandoned).
      if (code !== 0) handle.kill?.();
      if (code === 1) process.exit(1);
      else exitAfterFlush(code);
    },
    who: 'egresskit',
    // The outcome is logged (config_reloaded, config_reload_failed, needs_restart).
    reload: () => handle.reload(),
  });
}
