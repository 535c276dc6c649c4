// A namespace import lets the bundle drop what is not used (zod's locales, JSON-schema import: ~570 KiB).
import * as z from 'zod';
import { parseDuration } from './duration.js';
import { parseHostPort } from './host-port.js';
import { compileHostPattern, PatternError } from '../policy/patterns.js';
import { normaliseBasePath } from './ui-base-path.js';

const Duration = z
  .union([z.number(), z.string()])
  .transform((value, ctx) => {
    const ms = parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use e.g. 250ms, 30s, 5m, 1h)` });
      return z.NEVER;
    }
    return ms;
  });

const HostPortText = z.string().refine((s) => parseHostPort(s) !== undefined, {
  message: 'expected HOST:PORT, e.g. 0.0.0.0:8888 or [::1]:8888',
});

const Port = z.number().int().min(1).max(65535);

// Patterns are checked here, not only when the policy compiles, so that one run reports
// every bad pattern together with every other problem in the file.
const HostPattern = z.string().superRefine((pattern, ctx) => {
  try {
    compileHostPattern(pattern);
  } catch (err) {
    if (!(err instanceof PatternError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
});

const Rule = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.:[\]-]+$/, 'use letters, digits and - _ . : only').optional(),
  action: z.enum(['allow', 'deny']),
  hosts: z.array(HostPattern).min(1),
  ports: z.array(Port).min(1).optional(),
  identities: z.array(z.string()).min(1).optional(),
  enforcement: z.enum(['enforce', 'report']).optional(),
  inspect: z.enum(['intercept', 'passthrough']).optional(),
  /** Inspect mode: http1 holds both sides of an intercepted connection to HTTP/1.1. */
  alpn: z.enum(['auto', 'http1']).optional(),
  /** Forward and mtls: the SNI check for tunnels this rule decided, instead of sni.check. */
  sniCheck: z.enum(['enforce', 'report', 'off']).optional(),
  /** Forward and mtls: a tunnel this rule decided, to one of sni.ports, must start with a TLS ClientHello. */
  requireTls: z.boolean().optional(),
});

/**
 * TLS interception with a flow store and a UI: mode inspect, or mode mtls with this section
 * present (`mtls --inspect`: interception behind the client-certificate listener).
 */
export const InspectSchema = z
  .strictObject({
    /** The UI and flow API; "off" disables it. Not on loopback means a token is required. */
    ui: z.union([HostPortText, z.literal('off')]).default('0.0.0.0:8081'),
    /** A file holding the UI token (e.g. a mounted Secret); EGRESSKIT_UI_TOKEN wins over it. */
    uiTokenFile: z.string().min(1).optional(),
    /** Host names the UI answers besides IP addresses, localhost and its bind name (DNS-rebinding guard). */
    uiAllowedHosts: z.array(z.string().regex(/^(\*\.|\.)?[A-Za-z0-9.-]+$/, 'expected a host name, .example.com or *.example.com')).default([]),
    /** The path prefix the UI answers under, e.g. /egress/ behind an ingress. */
    uiBasePath: z
      .string()
      .default('/')
      .transform((value, ctx) => {
        const base = normaliseBasePath(value);
        if (base === undefined) {
          ctx.addIssue({ code: 'custom', message: `"${value}" is not a path prefix: use letters, digits and - . _ ~ between slashes, e.g. /egress/` });
          return z.NEVER;
        }
        return base;
      }),
    /** Where the CA (ca.crt, ca.key) is created once and reused, and the UI token is written. */
    caDir: z.string().min(1).default('~/.egresskit'),
    /** A given CA instead (e.g. a mounted Secret); both or neither. */
    caCert: z.string().min(1).optional(),
    caKey: z.string().min(1).optional(),
    /** Hosts tunnelled without interception (same patterns as policy hosts). */
    passthrough: z.array(HostPattern).default([]),
    /** Hosts held to HTTP/1.1 on both sides; others get what the upstream chose (h2 or HTTP/1.1). */
    http1: z.array(HostPattern).default([]),
    /** Extra CAs trusted for upstream TLS, on top of the system store and NODE_EXTRA_CA_CERTS. */
    upstreamCa: z.array(z.string().min(1)).default([]),
    /** Skip upstream certificate verification (debugging only; logged loudly, flows are marked). */
    insecureUpstream: z.boolean().default(false),
    /** Header names whose values are stored as [REDACTED] in flows. */
    redact: z.array(z.string().min(1)).default([]),
    /** Bytes of each request and response body kept in a flow; the rest is streamed and counted. */
    bodyCapBytes: z.number().int().min(0).default(1_048_576),
    maxFlows: z.number().int().min(1).default(1000),
    /** Captured body bytes across all flows. */
    maxFlowBytes: z.number().int().min(0).default(256 * 1_048_576),
    /** Minted leaf certificates kept (LRU). */
    leafCacheSize: z.number().int().min(1).default(1000),
    /** A SQLite file the flows are kept in, so they survive a restart ("~/" is the home directory). */
    flowsDb: z.string().min(1).optional(),
  })
  .refine((v) => (v.caCert === undefined) === (v.caKey === undefined), {
    message: 'caCert and caKey go together: give both (--ca-cert and --ca-key) or neither',
    path: ['caCert'],
  });

export type InspectConfig = z.output<typeof InspectSchema>;

export const ConfigSchema = z.strictObject({
  mode: z.enum(['forward', 'mtls', 'inspect']).default('forward'),
  listen: HostPortText.optional(),
  /** "off" disables the admin server. */
  admin: z.union([HostPortText, z.literal('off')]).default('0.0.0.0:9090'),
  log: z
    .strictObject({
      format: z.enum(['json', 'pretty']).default('json'),
      level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    })
    .prefault({}),
  policy: z
    .strictObject({
      default: z.enum(['allow', 'deny']).optional(),
      allowPrivate: z.boolean().default(false),
      connectPorts: z.array(Port).min(1).default([443, 80]),
      enforcement: z.enum(['enforce', 'report']).default('enforce'),
      rules: z
        .array(Rule)
        .default([])
        .superRefine((rules, ctx) => {
          const seen = new Set<string>();
          rules.forEach((rule, i) => {
            if (rule.id === undefined) return;
            if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate rule id "${rule.id}"` });
            seen.add(rule.id);
          });
        }),
    })
    .prefault({}),
  auth: z
    .strictObject({
      htpasswd: z.string().min(1).optional(),
      realm: z.string().regex(/^[^"\\]*$/, 'no quotes or backslashes').default('egresskit'),
    })
    .prefault({}),
  upstreamProxy: z
    .strictObject({
      url: z.string().refine((s) => /^https?:\/\//.test(s) && URL.canParse(s), {
        message: 'expected http://[user:password@]host:port',
      }),
      noProxy: z.array(z.string()).default([]),
    })
    .optional(),
  tls: z
    .strictObject({
      dir: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      clientCa: z.string().optional(),
      crl: z.string().optional(),
      reloadInterval: Duration.default(5000),
    })
    .optional(),
  timeouts: z
    .strictObject({
      connect: Duration.default(10_000),
      idle: Duration.default(300_000),
      headers: Duration.default(30_000),
      keepAlive: Duration.default(60_000),
      drain: Duration.default(30_000),
    })
    .prefault({}),
  inspect: InspectSchema.optional(),
  /** The SNI (domain-fronting) check on tunnels that are not intercepted (forward, mtls, passthrough). */
  sni: z
    .strictObject({
      check: z.enum(['enforce', 'report', 'off']).default('report'),
      /** Destination ports whose tunnels are checked. */
      ports: z.array(Port).min(1).default([443]),
      /** A tunnel to one of `ports` must start with a TLS ClientHello (with or without a server name). */
      requireTls: z.boolean().default(false),
      /** How long the first bytes are waited for; a client silent that long is treated as not TLS. */
      peekTimeout: Duration.default(5000),
    })
    .prefault({}),
  /** Per identity (client certificate, else proxy user, else client address); 0 or absent is off. */
  budgets: z
    .strictObject({
      /** Open CONNECT and Upgrade tunnels. */
      maxTunnels: z.number().int().min(0).default(0),
      /** New tunnels and plain-HTTP requests per second (token bucket), with `burst` at once. */
      rate: z.number().min(0).default(0),
      /** Defaults to one second's worth of `rate` (at least 1). */
      burst: z.number().int().min(1).optional(),
      /** Tunnels are closed (both sides ended) at this age. */
      maxTunnelAge: Duration.optional(),
      /** Identities whose budgets are tracked at once; the least recently seen idle one is forgotten first. */
      maxIdentities: z.number().int().min(1).default(10_000),
    })
    .prefault({}),
  /** Processes serving the listener (--workers); absent: the CPUs this process may use (server/cpu-quota.ts). */
  workers: z.number().int().min(1).max(256).optional(),
  limits: z
    .strictObject({
      maxConnections: z.number().int().min(1).default(4096),
      maxHeaderBytes: z.number().int().min(1024).max(1_048_576).default(16_384),
    })
    .prefault({}),
});

export type ConfigInput = z.input<typeof ConfigSchema>;
export type Config = z.output<typeof ConfigSchema> & { listen: string };
export type Mode = Config['mode'];

/**
 * Whether the proxy intercepts TLS. Inspect is a preset, not only a mode: mtls composes it
 * when the config has an inspect section, so nothing downstream may test mode === 'inspect'.
 */
export function interceptsTls(config: Pick<Config, 'mode' | 'inspect'>): boolean {
  return config.mode === 'inspect' || (config.mode === 'mtls' && config.inspect !== undefined);
}

export const DEFAULT_LISTEN: Record<Mode, string> = {
  forward: '0.0.0.0:8888',
  mtls: '0.0.0.0:8443',
  inspect: '0.0.0.0:8080',
};

/** JSON Schema for editors (yaml-language-server, VS Code). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' });
}
