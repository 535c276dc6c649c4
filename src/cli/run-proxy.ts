import { pino } from 'pino';
import { ConfigError, parseConfig } from '../config/load.js';
import type { Mode } from '../config/schema.js';
import { startProxy } from '../core/proxy-server.js';
import { HtpasswdError } from '../identity/htpasswd.js';
import { TlsMaterialError } from '../listeners/tls-material.js';
import { rawConfigFromFlags, type ProxyFlags } from './proxy-flags.js';
import { UsageError } from './usage-error.js';

/** Validates config, starts the proxy, and turns SIGTERM/SIGINT into a graceful drain. */
export async function runProxy(mode: Mode, flags: ProxyFlags): Promise<void> {
  let config;
  try {
    config = parseConfig(rawConfigFromFlags(mode, flags), flags.config ?? 'command-line flags');
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const logStream = pino.destination({ dest: 1, sync: false });
  let handle;
  try {
    handle = await startProxy(config, { logStream });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    if (err instanceof HtpasswdError || err instanceof TlsMaterialError) throw new UsageError(err.message);
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new UsageError(
        `cannot listen on ${e.address ?? '?'}:${e.port ?? '?'} (${e.code}); pick another address with --listen or --admin`,
      );
    }
    throw err;
  }
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means "now": skip the drain.
      logStream.flushSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    handle.close().then(
      () => {
        logStream.flushSync();
        process.exit(0);
      },
      (err: Error) => {
        process.stderr.write(`egresskit: error while stopping: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
