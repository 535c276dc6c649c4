import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { Htpasswd, HtpasswdError } from '../identity/htpasswd.js';
import type { ConfigVersion, LiveConfig } from '../pipeline/context.js';
import { compilePolicy } from '../policy/compile.js';

/**
 * Builds a complete version from a validated config: the policy compiled, the htpasswd file
 * read and checked. Throws (PolicyError, HtpasswdError) before anything is swapped.
 *
 * The id is the first 12 hex digits of a SHA-256 over the policy section (as validated, so a
 * comment or key order does not change it) and the htpasswd file's bytes. A hash rather than a
 * counter: replicas given the same ConfigMap report the same id, and it survives restarts, so
 * "which pods decide under the new policy?" is answered by comparing one label.
 */
export function buildVersion(config: Pick<Config, 'policy' | 'auth'>): ConfigVersion {
  const policy = compilePolicy(config.policy);
  const path = config.auth.htpasswd;
  let text: string | undefined;
  if (path !== undefined) {
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new HtpasswdError(`cannot read htpasswd file ${path}: ${(err as Error).message}`, path);
    }
  }
  const htpasswd = text !== undefined ? Htpasswd.parse(text, path) : undefined;
  const id = createHash('sha256')
    .update(JSON.stringify(config.policy))
    .update('\0')
    .update(path ?? '')
    .update('\0')
    .update(text ?? '')
    .digest('hex')
    .slice(0, 12);
  return { id, policy, htpasswd };
}

/** The holder the data plane reads (`current`) and the reloader swaps (`swap`). */
export class LiveVersion implements LiveConfig {
  constructor(private version: ConfigVersion) {}

  get current(): ConfigVersion {
    return this.version;
  }

  swap(next: ConfigVersion): ConfigVersion {
    const previous = this.version;
    this.version = next;
    return previous;
  }
}
