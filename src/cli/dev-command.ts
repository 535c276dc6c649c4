import { Command, Option } from 'commander';
import type { DevOptions } from './dev-stack.js';
import { UsageError } from './usage-error.js';

/** The flags are the stack's options, plus where the certificates live. */
export type DevFlags = DevOptions & { dir: string; drain: string };

function port(flag: string, allowOff = false) {
  return (value: string): number | 'off' => {
    if (allowOff && value === 'off') return 'off';
    const n = Number(value);
    if (!/^\d+$/.test(value) || n > 65535) throw new UsageError(`${flag} "${value}": expected a port 0-65535 (0 picks a free one)${allowOff ? ', or off' : ''}`);
    return n;
  };
}

function list(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

function connectPorts(value: string): number[] {
  const out = value.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (out.length === 0 || out.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new UsageError(`--connect-ports "${value}": expected comma-separated ports 1-65535, e.g. 443,80`);
  }
  return out;
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('local development: forward, inspect (with its UI) and mtls in one process, with development certificates, printing commands to paste')
    .option('--host <address>', 'address all listeners bind to; anything but loopback opens the stack to the network', '127.0.0.1')
    .option('--dir <dir>', 'where the development certificates are created on first start and reused', './.egresskit-dev')
    .option('--forward-port <port>', 'forward proxy port', port('--forward-port'), 8888)
    .option('--inspect-port <port>', 'inspect proxy port', port('--inspect-port'), 8080)
    .option('--ui-port <port>', 'inspect UI port', port('--ui-port'), 8081)
    .option('--mtls-port <port>', 'mtls proxy port', port('--mtls-port'), 8443)
    .option('--admin-port <port|off>', 'admin (health, metrics) of forward; inspect uses the next port, mtls the one after', port('--admin-port', true), 9090)
    .option('--allow-private', 'allow loopback, private and link-local destinations in all three (local services)')
    .option('--allow <pattern>', 'allow destinations (as forward --allow), in all three; repeatable', list)
    .option('--deny <pattern>', 'deny destinations (as forward --deny), in all three; repeatable', list)
    .option('--connect-ports <ports>', 'destination ports the proxies may reach [default: 443,80]', connectPorts)
    .option('--upstream-ca <file>', 'inspect also trusts this CA for upstream TLS (e.g. a local HTTPS service); repeatable', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .addOption(new Option('--log-format <format>', 'log format [default: json]').choices(['json', 'pretty']))
    .addOption(new Option('--log-level <level>', 'log level [default: info]').choices(['debug', 'info', 'warn', 'error', 'silent']))
    .option('--drain <duration>', 'how long Ctrl-C waits for live connections', '5s')
    .action(async (flags: DevFlags) => {
      // Loaded when the command runs: the certificate library behind it would cost every other command ~20 MiB.
      const { runDev } = await import('./dev-run.js');
      await runDev(flags);
    });
}
