import { Command, Option } from 'commander';
import { isLoopbackHost } from '../ui/ui-access.js';
import { devBanner } from './dev-banner.js';
import { ensureDevCerts } from './dev-certs.js';
import { sharedStdout } from './dev-log.js';
import { checkDistinctPorts, startDevStack, type DevOptions } from './dev-stack.js';
import { UsageError } from './usage-error.js';

/** The flags are the stack's options, plus where the certificates live. */
type DevFlags = DevOptions & { dir: string; drain: string };

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
    .action((flags: DevFlags) => runDev(flags));
}

async function runDev(flags: DevFlags): Promise<void> {
  const options: DevOptions = { ...flags };
  checkDistinctPorts(options);
  if (!isLoopbackHost(flags.host)) {
    process.stderr.write(
      `egresskit dev: WARNING: listening on ${flags.host}, not loopback: anyone who can reach this machine can use these proxies (and the inspect UI, with its token). Leave out --host to stay on 127.0.0.1.\n`,
    );
  }
  const certs = await ensureDevCerts(flags.dir, flags.host);
  const stdout = sharedStdout();
  const stack = await startDevStack(options, certs, stdout.stream);
  process.stderr.write(devBanner({ ...stack, certs, host: flags.host, allowPrivate: flags.allowPrivate === true }));

  const exit = (code: number) => stdout.flush(() => process.exit(code));
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal means "now": skip the drain.
      exit(signal === 'SIGINT' ? 130 : 143);
      return;
    }
    stopping = true;
    process.stderr.write(`egresskit dev: ${signal}: draining (up to ${flags.drain}); send it again to stop at once\n`);
    stack.close().then(
      () => exit(0),
      (err: Error) => {
        process.stderr.write(`egresskit dev: error while stopping: ${err.message}\n`);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
