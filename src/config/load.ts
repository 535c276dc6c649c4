import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type * as z from 'zod';
import { compilePolicy, PolicyError } from '../policy/compile.js';
import { ConfigSchema, DEFAULT_LISTEN, InspectSchema, type Config } from './schema.js';
import { parsePath, type Locate } from './yaml-lines.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Where the (first, by line) problem is, when it came from a file: a reload's log line names both. */
  file: string | undefined;
  line: number | undefined;
}

function configError(message: string, file: string | undefined, line: number | undefined): ConfigError {
  const err = new ConfigError(message);
  err.file = file;
  err.line = line;
  return err;
}

function sectionError(source: string, origin: ConfigOrigin | undefined, section: string, message: string): ConfigError {
  const line = origin?.locate([section]);
  return configError(`invalid configuration in ${source}:\n  ${line !== undefined ? `line ${line}: ` : ''}${section}: ${message}`, origin?.file, line);
}

/** A file to point problems at: its path and a locator over its text (see yaml-lines.ts). */
export interface ConfigOrigin {
  file: string;
  locate: Locate;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out || '(top level)';
}

// Each problem says its line when the file is known ("line 7: policy.rules[1].hosts[0]: ..."),
// so the one log line of a failed reload takes the operator to it.
function issuesError(issues: z.core.$ZodIssue[], source: string, origin: ConfigOrigin | undefined): ConfigError {
  let first: number | undefined;
  const lines = issues.map((issue) => {
    const unknown = issue.code === 'unrecognized_keys';
    const line = origin?.locate(unknown ? [...issue.path, issue.keys[0]!] : issue.path);
    if (line !== undefined && (first === undefined || line < first)) first = line;
    const at = line !== undefined ? `line ${line}: ` : '';
    if (unknown) {
      const where = issue.path.length ? `${formatPath(issue.path)}: ` : '';
      return `  ${at}${where}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `  ${at}${formatPath(issue.path)}: ${issue.message}`;
  });
  return configError(`invalid configuration in ${source}:\n${lines.join('\n')}`, origin?.file, first);
}

export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`cannot read config file ${path}: ${(err as Error).message}`, path, undefined);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    if (err instanceof YAMLParseError) {
      const pos = err.linePos?.[0];
      throw configError(`${path}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML: ${err.message.split('\n')[0]}`, path, pos?.line);
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
export function parseConfig(raw: unknown, source = 'configuration', origin?: ConfigOrigin): Config {
  const result = ConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw issuesError(result.error.issues, source, origin);
  const config = { ...result.data, listen: result.data.listen ?? DEFAULT_LISTEN[result.data.mode] };
  try {
    compilePolicy(config.policy);
  } catch (err) {
    if (err instanceof PolicyError) {
      const line = origin?.locate(parsePath(err.path));
      throw configError(`invalid configuration in ${source}:\n  ${line !== undefined ? `line ${line}: ` : ''}${err.path}: ${err.message}`, origin?.file, line);
    }
    throw err;
  }
  if (config.mode !== 'mtls' && config.tls) {
    throw sectionError(source, origin, 'tls', `TLS settings are for mtls mode; run \`egresskit mtls\` (or set mode: mtls) to use them`);
  }
  if (config.mode === 'forward' && config.inspect) {
    throw sectionError(source, origin, 'inspect', `inspect settings are for inspect mode, or mtls with interception; run \`egresskit inspect\` or \`egresskit mtls --inspect\` (or set mode: inspect or mode: mtls) to use them`);
  }
  if (config.mode === 'inspect') config.inspect ??= InspectSchema.parse({});
  if (config.mode === 'mtls') {
    const tls = config.tls ?? { reloadInterval: 5000 };
    if (!tls.dir && !(tls.cert && tls.key && tls.clientCa)) {
      throw sectionError(source, origin, 'tls', `mtls mode needs a certificate, key and client CA: --tls-dir DIR (tls.crt, tls.key, ca.crt) or --cert, --key and --client-ca`);
    }
  }
  return config;
}
