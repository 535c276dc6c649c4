import { Command, Option } from 'commander';
import { deepMerge, readConfigFile } from '../config/load.js';
import type { Mode } from '../config/schema.js';
import { UsageError } from './usage-error.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

function ports(value: string, flag = '--connect-ports'): number[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  const out = list.map(Number);
  if (out.length === 0 || out.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new UsageError(`${flag} "${value}": expected comma-separated ports 1-65535, e.g. 443,80`);
  }
  return out;
}

function positiveInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} "${value}": expected a positive whole number`);
    return n;
  };
}

export interface ProxyFlags {
  config?: string;
  listen?: string;
  admin?: string;
  allow?: string[];
  deny?: string[];
  connectPorts?: number[];
  allowPrivate?: boolean;
  users?: string;
  upstreamProxy?: string;
  upstreamBypass?: string[];
  logFormat?: 'json' | 'pretty';
  logLevel?: string;
  report?: boolean;
  drain?: string;
  maxConnections?: number;
  sniCheck?: 'enforce' | 'report' | 'off';
  sniPorts?: number[];
  requireTls?: boolean;
  maxTunnelsPerIdentity?: number;
  ratePerIdentity?: number;
  burstPerIdentity?: number;
  maxTunnelAge?: string;
  workers?: number;
  // mtls
  tlsDir?: string;
  cert?: string;
  key?: string;
  clientCa?: string;
  crl?: string;
  // inspect (and mtls --inspect)
  inspect?: boolean;
  ui?: string;
  uiTokenFile?: string;
  uiAllowedHosts?: string[];
  uiBasePath?: string;
  caDir?: string;
  caCert?: string;
  caKey?: string;
  passthrough?: string[];
  http1?: string[];
  upstreamCa?: string[];
  insecureUpstream?: boolean;
  redact?: string[];
  captureBytes?: number;
  flowsDb?: string;
}

function workerCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1 || n > 256) {
    throw new UsageError(`--workers "${value}": expected a whole number from 1 to 256 (processes serving the proxy port), e.g. --workers 4`);
  }
  return n;
}

function rate(value: string): number {
  const n = Number(value.replace(/\/s$/, ''));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--rate-per-identity "${value}": expected new connections per second, e.g. 20 or 0.5`);
  return n;
}

function repeat(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function byteCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--capture-bytes "${value}": expected a whole number of bytes, e.g. 1048576`);
  return n;
}

/** The flags every proxy mode shares; each maps onto one config field (shown in the help). */
export function addProxyFlags(cmd: Command, defaultListen: string): Command {
  return cmd
    .option('-c, --config <file>', 'YAML config file (flags override it)')
    .option('--listen <host:port>', `proxy address (listen) [default: ${defaultListen}]`)
    .option('--admin <host:port|off>', 'health and metrics address (admin) [default: 0.0.0.0:9090]')
    .option('--allow <pattern>', 'allow destinations: host, *.example.com, .example.com, IP or CIDR; repeatable; any allow makes the default deny (policy.rules)', collect)
    .option('--deny <pattern>', 'deny destinations (same patterns); repeatable; checked before allows (policy.rules)', collect)
    .option('--connect-ports <ports>', 'destination ports the proxy may reach [default: 443,80] (policy.connectPorts)', (v: string) => ports(v))
    .option('--allow-private', 'allow loopback, private, link-local and other internal addresses (policy.allowPrivate)')
    .option('--report', 'dry run: log would-deny instead of refusing; the private-address guard stays on (policy.enforcement: report)')
    .option('--users <htpasswd>', 'require Basic proxy auth against this htpasswd file, bcrypt only (auth.htpasswd)')
    .option('--upstream-proxy <url>', 'send traffic on through a parent proxy http://[user:pass@]host:port (upstreamProxy.url)')
    .option('--upstream-bypass <hosts>', 'destinations that skip the parent proxy, NO_PROXY syntax; repeatable (upstreamProxy.noProxy)', collect)
    .addOption(new Option('--log-format <format>', 'log format (log.format) [default: json]').choices(['json', 'pretty']))
    .addOption(new Option('--log-level <level>', 'log level (log.level) [default: info]').choices(['debug', 'info', 'warn', 'error', 'silent']))
    .option('--drain <duration>', 'how long SIGTERM waits for live tunnels, e.g. 30s (timeouts.drain)')
    .option('--max-connections <n>', 'client connection limit; beyond it 429 (limits.maxConnections)', positiveInt('--max-connections'))
    .addOption(new Option('--sni-check <mode>', 'tunnels whose TLS server name differs from the CONNECT host: refuse, log, or do not look (sni.check) [default: report]').choices(['enforce', 'report', 'off']))
    .option('--sni-ports <ports>', 'destination ports whose tunnels the SNI check reads [default: 443] (sni.ports)', (v: string) => ports(v, '--sni-ports'))
    .option('--require-tls', 'refuse tunnels to --sni-ports that do not start with a TLS ClientHello (sni.requireTls)')
    .option('--max-tunnels-per-identity <n>', 'open tunnels per client identity; beyond it 429 (budgets.maxTunnels)', positiveInt('--max-tunnels-per-identity'))
    .option('--rate-per-identity <n>', 'new tunnels and requests per second per client identity; beyond it 429 (budgets.rate)', rate)
    .option('--burst-per-identity <n>', 'how many of those may come at once [default: one second\'s worth] (budgets.burst)', positiveInt('--burst-per-identity'))
    .option('--max-tunnel-age <duration>', 'close tunnels at this age, e.g. 1h (budgets.maxTunnelAge) [default: off]')
    .option('--workers <n>', 'processes serving the proxy port, 1-256; 1 is one process (workers) [default: the CPUs this process may use, capped by its cgroup CPU limit]', workerCount);
}

export function addTlsFlags(cmd: Command): Command {
  return cmd
    .option('--tls-dir <dir>', 'directory with tls.crt, tls.key and ca.crt, e.g. a mounted Secret (tls.dir)')
    .option('--cert <file>', 'server certificate, PEM (tls.cert)')
    .option('--key <file>', 'server private key, PEM (tls.key)')
    .option('--client-ca <file>', 'CA that client certificates must chain to (tls.clientCa)')
    .option('--crl <file>', 'certificate revocation list, PEM (tls.crl)');
}

export function addInspectFlags(cmd: Command): Command {
  return cmd
    .option('--ui <host:port|off>', 'flows UI and API address; not loopback means a token in <ca-dir>/ui-token (inspect.ui) [default: 0.0.0.0:8081]')
    .option('--ui-token-file <file>', 'read the UI token from this file, e.g. a mounted Secret; EGRESSKIT_UI_TOKEN wins over it (inspect.uiTokenFile) [default: <ca-dir>/ui-token, made once]')
    .option('--ui-allowed-hosts <names>', 'host names the UI answers besides IPs and localhost, e.g. egress.example.com,.corp.example; repeatable (inspect.uiAllowedHosts)', collect)
    .option('--ui-base-path <path>', 'serve the UI under this path prefix, e.g. /egress/ behind an ingress (inspect.uiBasePath) [default: /]')
    .option('--ca-dir <dir>', 'where the interception CA (ca.crt, ca.key) is created once and reused (inspect.caDir) [default: ~/.egresskit]')
    .option('--ca-cert <file>', 'use this CA certificate instead, e.g. from a Secret; needs --ca-key (inspect.caCert)')
    .option('--ca-key <file>', 'the private key of --ca-cert (inspect.caKey)')
    .option('--passthrough <pattern>', 'tunnel these hosts without interception, same patterns as --allow; repeatable (inspect.passthrough)', collect)
    .option('--http1 <pattern>', 'hold these hosts to HTTP/1.1 on both sides of interception (others get the upstream\'s choice, h2 or HTTP/1.1); repeatable (inspect.http1)', collect)
    .option('--upstream-ca <file>', 'also trust this CA for upstream TLS, on top of the system store; repeatable (inspect.upstreamCa)', repeat)
    .option('--insecure-upstream', 'do not verify upstream certificates (debugging only; logged and marked on flows) (inspect.insecureUpstream)')
    .option('--redact <names>', 'header names stored as [REDACTED] in flows, e.g. authorization,cookie; repeatable (inspect.redact)', collect)
    .option('--capture-bytes <n>', 'bytes of each body kept in a flow; the rest streams through uncaptured (inspect.bodyCapBytes) [default: 1048576]', byteCount)
    .option('--flows-db <path>', 'keep flows in this SQLite file (created 0600) so they survive a restart (inspect.flowsDb)');
}

/** Inspect's own flags, for the usage check of mtls without --inspect. */
const INSPECT_FLAGS: ReadonlyArray<[keyof ProxyFlags, string]> = [
  ['ui', '--ui'],
  ['uiTokenFile', '--ui-token-file'],
  ['uiAllowedHosts', '--ui-allowed-hosts'],
  ['uiBasePath', '--ui-base-path'],
  ['caDir', '--ca-dir'],
  ['caCert', '--ca-cert'],
  ['caKey', '--ca-key'],
  ['passthrough', '--passthrough'],
  ['http1', '--http1'],
  ['upstreamCa', '--upstream-ca'],
  ['insecureUpstream', '--insecure-upstream'],
  ['redact', '--redact'],
  ['captureBytes', '--capture-bytes'],
  ['flowsDb', '--flows-db'],
];

/**
 * Whether this run intercepts TLS. mtls does with --inspect or an inspect section in its config
 * file; inspect flags without either would be silently ignored, so they are a usage error.
 */
function interceptsFromFlags(mode: Mode, flags: ProxyFlags, file: object): boolean {
  if (mode !== 'mtls') return mode === 'inspect';
  if (flags.inspect === true || (file as { inspect?: unknown }).inspect !== undefined) return true;
  const given = INSPECT_FLAGS.filter(([key]) => flags[key] !== undefined).map(([, flag]) => flag);
  if (given.length > 0) {
    const list = given.join(', ');
    throw new UsageError(
      `${list} ${given.length > 1 ? 'are inspect flags' : 'is an inspect flag'}, and mtls intercepts TLS only with --inspect: add --inspect (egresskit mtls --inspect ... ${given[0]} ...), or drop ${list}`,
    );
  }
  return false;
}

function ruleList(kind: 'allow' | 'deny', patterns: string[] | undefined) {
  return (patterns ?? []).map((p, i) => ({ id: `--${kind}[${i}]`, action: kind, hosts: [p] }));
}

/** Config file (if any) with the flags laid over it, still unvalidated. */
export function rawConfigFromFlags(mode: Mode, flags: ProxyFlags): Record<string, unknown> {
  const file = flags.config ? readConfigFile(flags.config) : {};
  if (typeof file !== 'object' || file === null || Array.isArray(file)) {
    throw new UsageError(`${flags.config}: the config file must be a YAML mapping (key: value)`);
  }
  const fileRules = ((file as { policy?: { rules?: unknown } }).policy?.rules ?? []) as unknown[];
  const rules = Array.isArray(fileRules) ? [...ruleList('deny', flags.deny), ...fileRules, ...ruleList('allow', flags.allow)] : fileRules;
  const tls =
    flags.tlsDir || flags.cert || flags.key || flags.clientCa || flags.crl
      ? { dir: flags.tlsDir, cert: flags.cert, key: flags.key, clientCa: flags.clientCa, crl: flags.crl }
      : undefined;
  const intercepts = interceptsFromFlags(mode, flags, file);
  const inspect =
    intercepts
      ? {
          ui: flags.ui,
          uiTokenFile: flags.uiTokenFile,
          uiAllowedHosts: flags.uiAllowedHosts,
          uiBasePath: flags.uiBasePath,
          caDir: flags.caDir,
          caCert: flags.caCert,
          caKey: flags.caKey,
          passthrough: flags.passthrough,
          http1: flags.http1,
          upstreamCa: flags.upstreamCa,
          insecureUpstream: flags.insecureUpstream,
          redact: flags.redact,
          bodyCapBytes: flags.captureBytes,
          flowsDb: flags.flowsDb,
        }
      : undefined;
  const overlay = {
    mode,
    listen: flags.listen,
    admin: flags.admin,
    log: { format: flags.logFormat, level: flags.logLevel },
    policy: {
      allowPrivate: flags.allowPrivate,
      connectPorts: flags.connectPorts,
      enforcement: flags.report ? 'report' : undefined,
      rules,
    },
    auth: { htpasswd: flags.users },
    upstreamProxy: flags.upstreamProxy || flags.upstreamBypass ? { url: flags.upstreamProxy, noProxy: flags.upstreamBypass } : undefined,
    tls,
    inspect,
    timeouts: { drain: flags.drain },
    limits: { maxConnections: flags.maxConnections },
    workers: flags.workers,
    sni: { check: flags.sniCheck, ports: flags.sniPorts, requireTls: flags.requireTls },
    budgets: {
      maxTunnels: flags.maxTunnelsPerIdentity,
      rate: flags.ratePerIdentity,
      burst: flags.burstPerIdentity,
      // 0 is off: a flag must be able to switch off what the file sets.
      maxTunnelAge: flags.maxTunnelAge === 'off' ? 0 : flags.maxTunnelAge,
    },
  };
  const merged = deepMerge(file, stripUndefined(overlay)) as Record<string, unknown>;
  // The section's presence is what turns interception on in mtls, even with every default.
  if (intercepts) merged.inspect ??= {};
  return merged;
}

function stripUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v;
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    const s = stripUndefined(val);
    if (s !== undefined && !(typeof s === 'object' && s !== null && !Array.isArray(s) && Object.keys(s).length === 0)) out[k] = s;
  }
  return out;
}
