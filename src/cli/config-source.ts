import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig, type ConfigOrigin } from '../config/load.js';
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

/**
 * An empty config file is a valid config (every default, no rules: everything allowed), and it is
 * also what a file being written looks like for a moment. At start it is taken as written; a
 * running proxy refuses it rather than turn an allow-list into "allow everything".
 */
function refuseEmpty(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // Reported by the read that follows, with its reason.
  }
  if (/^\s*$/.test(text.replace(/^\s*#.*$/gm, ''))) {
    const err = new ConfigError(`${file} is empty; the running configuration stays (to run with every default, restart with it)`);
    err.file = file;
    throw err;
  }
}

/** The config file with the flags over it, validated: read at start, and again by each reload. */
export function configSource(mode: Mode, flags: ProxyFlags): ConfigSource {
  return {
    files: flags.config ? [flags.config] : [],
    load(reloading = false): Config {
      if (reloading && flags.config) refuseEmpty(flags.config);
      const raw = rawConfigFromFlags(mode, flags);
      const at = flags.config ? origin(flags.config, flags.deny?.length ?? 0) : undefined;
      return parseConfig(raw, flags.config ?? 'command-line flags', at);
    },
  };
}
