import { ConfigError, parseConfig } from '../config/load.js';
import type { Config, Mode } from '../config/schema.js';
import { HtpasswdError } from '../identity/htpasswd.js';
import { TlsMaterialError } from '../listeners/tls-material.js';
import { formatHostPort } from '../model/destination.js';
import { InspectSetupError } from '../model/setup-error.js';
import { startProxy, type ProxyHandle } from '../server/start-proxy.js';
import type { DevCerts } from './dev-certs.js';
import { modeTaggedStream } from './dev-log.js';
import { rawConfigFromFlags, type ProxyFlags } from './proxy-flags.js';
import { UsageError } from './usage-error.js';

export interface DevOptions {
  host: string;
  forwardPort: number;
  inspectPort: number;
  uiPort: number;
  mtlsPort: number;
  /** Forward's admin port; inspect's is the next one and mtls's the one after, or all off. */
  adminPort: number | 'off';
  allowPrivate?: boolean;
  allow?: string[];
  deny?: string[];
  connectPorts?: number[];
  upstreamCa?: string[];
  logFormat?: 'json' | 'pretty';
  logLevel?: string;
  drain?: string;
}

export interface DevStack {
  forward: ProxyHandle;
  inspect: ProxyHandle;
  mtls: ProxyHandle;
  /** Drains and closes all three at once. */
  close(): Promise<void>;
}

/** Each port and the flag that sets it, so that a port in use names the flag to change. */
export function portFlags(o: DevOptions): Array<{ port: number; flag: string }> {
  const admin = o.adminPort === 'off' ? [] : [0, 1, 2].map((i) => ({ port: (o.adminPort as number) === 0 ? 0 : (o.adminPort as number) + i, flag: '--admin-port' }));
  return [
    { port: o.forwardPort, flag: '--forward-port' },
    { port: o.inspectPort, flag: '--inspect-port' },
    { port: o.uiPort, flag: '--ui-port' },
    { port: o.mtlsPort, flag: '--mtls-port' },
    ...admin,
  ];
}

/** Two modes on one port would fail at bind time with a message naming only one flag. */
export function checkDistinctPorts(o: DevOptions): void {
  const seen = new Map<number, string>();
  for (const { port, flag } of portFlags(o)) {
    if (port === 0) continue;
    if (port > 65535) throw new UsageError(`${flag} ${port}: the admin ports are --admin-port, +1 and +2, and must stay within 65535`);
    const other = seen.get(port);
    if (other !== undefined && other !== flag) throw new UsageError(`${other} and ${flag} both ask for port ${port}; give one of them another port`);
    seen.set(port, flag);
  }
}

function adminAt(o: DevOptions, offset: number): string {
  if (o.adminPort === 'off') return 'off';
  return formatHostPort(o.host, o.adminPort === 0 ? 0 : o.adminPort + offset);
}

/** The three configs, through the same flag mapping and validation the single-mode commands use. */
export function devConfigs(o: DevOptions, certs: DevCerts): Record<Mode, Config> {
  const shared: ProxyFlags = {
    allowPrivate: o.allowPrivate,
    allow: o.allow,
    deny: o.deny,
    connectPorts: o.connectPorts,
    logFormat: o.logFormat,
    logLevel: o.logLevel,
    drain: o.drain,
  };
  const at = (port: number) => formatHostPort(o.host, port);
  const flags: Record<Mode, ProxyFlags> = {
    forward: { ...shared, listen: at(o.forwardPort), admin: adminAt(o, 0) },
    inspect: { ...shared, listen: at(o.inspectPort), admin: adminAt(o, 1), ui: at(o.uiPort), caDir: certs.inspectDir, upstreamCa: o.upstreamCa },
    mtls: {
      ...shared,
      listen: at(o.mtlsPort),
      admin: adminAt(o, 2),
      cert: certs.serverCert,
      key: certs.serverKey,
      clientCa: certs.mtlsCa,
    },
  };
  const parse = (mode: Mode) => {
    try {
      return parseConfig(rawConfigFromFlags(mode, flags[mode]), `egresskit dev (${mode})`);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
  };
  return { forward: parse('forward'), inspect: parse('inspect'), mtls: parse('mtls') };
}

function startError(err: unknown, o: DevOptions, mode: Mode): unknown {
  if (err instanceof HtpasswdError || err instanceof TlsMaterialError || err instanceof InspectSetupError) return new UsageError(`${mode}: ${err.message}`);
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
    const flag = portFlags(o).find((p) => p.port !== 0 && p.port === e.port)?.flag;
    const why = e.code === 'EADDRINUSE' ? 'is in use' : e.code === 'EACCES' ? 'needs privileges' : 'is not an address of this machine';
    const fix = e.code === 'EADDRNOTAVAIL' ? 'use another --host' : `free it or pick another port with ${flag ?? 'the port flags'}`;
    return new UsageError(`dev: cannot start ${mode}: ${formatHostPort(e.address ?? o.host, e.port ?? 0)} ${why} (${e.code}); ${fix}`);
  }
  return err;
}

/**
 * Starts forward, inspect and mtls in this process. If one cannot start, the ones already
 * running are closed before the error is thrown: a failed `dev` must leave no port behind.
 */
export async function startDevStack(o: DevOptions, certs: DevCerts, out: { write(s: string): boolean }): Promise<DevStack> {
  const configs = devConfigs(o, certs);
  const started: ProxyHandle[] = [];
  // One array for all three: each refuses every port of the stack as a loop, not only its own
  // (with --allow-private, forward could otherwise reach inspect's admin /explain or the UI).
  const selfPorts: number[] = [];
  const start = async (mode: Mode) => {
    const format = configs[mode].log.format;
    try {
      const handle = await startProxy(configs[mode], { logStream: modeTaggedStream(mode, format, out), selfPorts });
      started.push(handle);
      return handle;
    } catch (err) {
      await Promise.allSettled(started.map((h) => h.close(0)));
      throw startError(err, o, mode);
    }
  };
  const forward = await start('forward');
  const inspect = await start('inspect');
  const mtls = await start('mtls');
  return {
    forward,
    inspect,
    mtls,
    close: async () => {
      await Promise.all(started.map((h) => h.close()));
    },
  };
}
