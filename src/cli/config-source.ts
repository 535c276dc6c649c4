import { readFileSync } from 'node:fs';
import { parseConfig, type ConfigOrigin } from '../config/load.js';
import type { Config, Mode } from '../config/schema.js';
import { yamlLocator } from '../config/yaml-lines.js';
import type { ConfigSource } from '../control/reload.js';
import { rawConfigFromFlags, type ProxyFlags } from './proxy-flags.js';

/**
 * Problems are pointed at lines of the config file. Rules from --deny come before the file's in
 * the merged list (proxy-flags.ts), so rule indexes are shifted back; a rule from a flag has no line.
 */
function origin(file: string, denyFlags: number): ConfigOrigin | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const locate = yamlLocator(text);
  return {
    file,
    locate: (path) => {
      if (path[0] !== 'policy' || path[1] !== 'rules' || typeof path[2] !== 'number') return locate(path);
      const i = path[2] - denyFlags;
      return i < 0 ? undefined : locate(['policy', 'rules', i, ...path.slice(3)]);
    },
  };
}

/** The config file with the flags over it, validated: read at start, and again by each reload. */
export function configSource(mode: Mode, flags: ProxyFlags): ConfigSource {
  return {
    files: flags.config ? [flags.config] : [],
    load(): Config {
      const raw = rawConfigFromFlags(mode, flags);
      const at = flags.config ? origin(flags.config, flags.deny?.length ?? 0) : undefined;
      return parseConfig(raw, flags.config ?? 'command-line flags', at);
    },
  };
}
