import { Command } from 'commander';
import { ConfigError, parseConfig, readConfigFile } from '../config/load.js';
import { parseHostPort } from '../config/host-port.js';
import { DEFAULT_LISTEN, interceptsTls, type Config, type Mode } from '../config/schema.js';
import { ExplainInputError, explainSetup, explainTargets } from '../control/explain.js';
import { formatExplainReport } from './explain-format.js';
import { addProxyFlags, rawConfigFromFlags, type ProxyFlags } from './proxy-flags.js';
import { UsageError } from './usage-error.js';

interface ExplainFlags extends ProxyFlags {
  identity?: string;
  user?: string;
  resolve?: boolean;
  json?: boolean;
}

const MODES: readonly Mode[] = ['forward', 'inspect', 'mtls'];

/** The config file's own mode, so an mtls or inspect config is validated as what it is. */
function modeOf(file: string | undefined): Mode {
  if (!file) return 'forward';
  const raw = readConfigFile(file) as { mode?: unknown } | null;
  const mode = typeof raw === 'object' && raw !== null ? raw.mode : undefined;
  return MODES.includes(mode as Mode) ? (mode as Mode) : 'forward';
}

function configFrom(flags: ExplainFlags): Config {
  try {
    const mode = modeOf(flags.config);
    return parseConfig(rawConfigFromFlags(mode, flags), flags.config ?? 'command-line flags');
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** The ports this configuration would listen on: a target on one of them is a loop. */
function configuredPorts(config: Config): number[] {
  const addresses = [config.listen, config.admin, interceptsTls(config) ? config.inspect?.ui : undefined];
  return addresses.flatMap((a) => (a && a !== 'off' ? [parseHostPort(a)?.port ?? 0] : [])).filter((p) => p > 0);
}

export async function runExplain(targets: string[], flags: ExplainFlags): Promise<void> {
  const config = configFrom(flags);
  const ports = configuredPorts(config);
  let report;
  try {
    report = await explainTargets(explainSetup(config, () => ports), { targets, identity: flags.identity, user: flags.user, resolve: flags.resolve });
  } catch (err) {
    if (err instanceof ExplainInputError) throw new UsageError(err.message);
    throw err;
  }
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatExplainReport(report));
  process.exitCode = report.allowed ? 0 : 1;
}

export function registerExplainCommand(program: Command): void {
  const cmd = program
    .command('explain')
    .description(
      'the policy decision for each target, without sending traffic: the rule, why, the fix, and what the address phase would do; ' +
        'exit 0 when every target is allowed, 1 when one is refused (or fails to resolve with --resolve), 2 for usage errors',
    )
    .argument('<targets...>', 'HOST[:PORT] (port 443 when left out), [IPv6]:PORT or an https:// URL')
    .option('--identity <id>', 'decide as this client-certificate identity (SPIFFE ID, DNS SAN or CN), as mtls identifies clients')
    .option('--user <name>', 'decide as this Basic-auth user')
    .option('--resolve', 'resolve names now (dns.lookup) and decide each address, as the proxy would')
    .option('--json', 'print the report as one JSON document');
  // The same policy flags as the proxy commands, so a proxy's command line can be explained as is.
  addProxyFlags(cmd, DEFAULT_LISTEN.forward).action((targets: string[], flags: ExplainFlags) => runExplain(targets, flags));
}
