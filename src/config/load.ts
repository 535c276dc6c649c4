import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { compilePolicy, PolicyError } from '../policy/compile.js';
import { ConfigSchema, DEFAULT_LISTEN, InspectSchema, type Config } from './schema.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || '(top level)';
}

function formatIssues(issues: z.core.$ZodIssue[], source: string): string {
  const lines = issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = issue.path.length ? `${formatPath(issue.path)}: ` : '';
      return `  ${where}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `  ${formatPath(issue.path)}: ${issue.message}`;
  });
  return `invalid configuration in ${source}:\n${lines.join('\n')}`;
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw new ConfigError(`${path}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${err.message.split('\n')[0]}`);
    }
    throw err;
  }
}

/** Objects merge key by key; arrays and scalars from `over` replace those in `base`. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
    return out;
  }
  return over;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates raw config (file contents with command-line values merged in) into a Config.
 * Every problem is reported at once, each with its field path, so one run fixes them all.
 */
export function parseConfig(raw: unknown, source = 'configuration'): Config {
  const result = ConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues, source));
  const config = { ...result.data, listen: result.data.listen ?? DEFAULT_LISTEN[result.data.mode] };
  try {
    compilePolicy(config.policy);
  } catch (err) {
    if (err instanceof PolicyError) throw new ConfigError(`invalid configuration in ${source}:\n  ${err.path}: ${err.message}`);
    throw err;
  }
  if (config.mode !== 'mtls' && config.tls) {
    throw new ConfigError(
      `invalid configuration in ${source}:\n  tls: TLS settings are for mtls mode; run \`egresskit mtls\` (or set mode: mtls) to use them`,
    );
  }
  if (config.mode === 'forward' && config.inspect) {
    throw new ConfigError(
      `invalid configuration in ${source}:\n  inspect: inspect settings are for inspect mode, or mtls with interception; run \`egresskit inspect\` or \`egresskit mtls --inspect\` (or set mode: inspect or mode: mtls) to use them`,
    );
  }
  if (config.mode === 'inspect') config.inspect ??= InspectSchema.parse({});
  if (config.mode === 'mtls') {
    const tls = config.tls ?? { reloadInterval: 5000 };
    if (!tls.dir && !(tls.cert && tls.key && tls.clientCa)) {
      throw new ConfigError(
        `invalid configuration in ${source}:\n  tls: mtls mode needs a certificate, key and client CA: --tls-dir DIR (tls.crt, tls.key, ca.crt) or --cert, --key and --client-ca`,
      );
    }
  }
  return config;
}
