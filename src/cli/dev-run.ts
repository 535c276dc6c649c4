import { isLoopbackHost } from '../ui/ui-access.js';
import { devBanner } from './dev-banner.js';
import type { DevFlags } from './dev-command.js';
import { ensureDevCerts } from './dev-certs.js';
import { sharedStdout } from './dev-log.js';
import { stopOnSignals } from './stop-on-signals.js';
import { checkDistinctPorts, startDevStack, type DevOptions } from './dev-stack.js';

/** `egresskit dev`: certificates, the three proxies, the banner, and a clean stop on Ctrl-C. */
export async function runDev(flags: DevFlags): Promise<void> {
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
  stopOnSignals({
    close: () => stack.close(),
    exit,
    who: 'egresskit dev',
    onFirst: (signal) => process.stderr.write(`egresskit dev: ${signal}: draining (up to ${flags.drain}); send it again to stop at once\n`),
  });
}
