import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { HtpasswdError } from '../identity/htpasswd.js';
import { publishLifecycle } from '../model/channels.js';
import { buildVersion, type LiveVersion } from './config-version.js';
import { watchFiles } from './file-watch.js';
import { policyChanges } from './policy-changes.js';
import type { ReloadMetrics } from './reload-metrics.js';
import { restartFields } from './restart-fields.js';

/** Where a running proxy's configuration comes from, so it can be read again. */
export interface ConfigSource {
  /** The files whose change means a reload (the config file, if any); the htpasswd file is added from the config. */
  files: string[];
  /**
   * Reads and validates the configuration again (the file with the command-line flags over it).
   * Throws ConfigError. `reloading` is set for every read after the first.
   */
  load(reloading?: boolean): Config;
}

export type ReloadTrigger = 'watch' | 'signal' | 'api';

export type ReloadOutcome =
  | { ok: true; version: string; changed: boolean; needsRestart: string[] }
  | { ok: false; error: string; file: string | undefined; line: number | undefined };

// Values safe to print in the needs_restart line (others can hold credentials: upstreamProxy.url).
const SHOWN = new Set(['mode', 'listen', 'admin']);

export interface Reloader {
  /** `given` (a library caller's new config) instead of the source's files; its errors are reported like a file's. */
  reload(trigger: ReloadTrigger, given?: () => Config): ReloadOutcome;
  /** Starts watching the source's files (and the htpasswd file); returns the stop function. */
  watch(): () => void;
}

/**
 * Builds a complete new version from the files (parse, validate, compile, read the users) and
 * only then swaps it in; anything that fails leaves the running version alone and says which
 * file and line. In-flight decisions keep the version they read (pipeline/run.ts).
 */
export function createReloader(opts: { instance: string; running: Config; live: LiveVersion; metrics: ReloadMetrics; source: ConfigSource | undefined }): Reloader {
  const { instance, running, live, metrics, source } = opts;
  // The config whose policy and users are live, and the last one the files gave (its htpasswd is watched).
  let applied = running;
  let seen = running;
  const publish = (event: 'config_reloaded' | 'config_reload_failed' | 'needs_restart', detail: Record<string, unknown>) =>
    publishLifecycle({ instance, event, detail });

  const reload = (trigger: ReloadTrigger, given?: () => Config): ReloadOutcome => {
    let next: Config;
    let version;
    try {
      next = given ? given() : (source?.load(true) ?? running);
      seen = next;
      version = buildVersion(next);
    } catch (caught) {
      // Whatever went wrong (even a bug), the running version stays and the proxy keeps serving.
      const err = caught instanceof Error ? caught : new Error(String(caught));
      const located = err instanceof ConfigError || err instanceof HtpasswdError ? err : undefined;
      const file = located?.file ?? source?.files[0];
      const line = located?.line;
      // One line however many problems: the JSON log line is the unit operators grep and alert on.
      const [head = '', ...rest] = err.message.split('\n').map((s) => s.trim()).filter(Boolean);
      const reason = rest.length ? `${head} ${rest.join('; ')}` : head;
      metrics.failed();
      publish('config_reload_failed', { trigger, file: file ?? null, line: line ?? null, reason, config_version: live.current.id, kept: 'the running policy and users stay until the file is fixed' });
      return { ok: false, error: reason, file, line };
    }
    const restart = restartFields(running, next);
    if (restart.length > 0) {
      const fields = restart.map((r) => r.field);
      const shown = restart.filter((r) => SHOWN.has(r.field)).map((r) => `${r.field} stays ${JSON.stringify(r.running)} (file: ${JSON.stringify(r.wanted)})`);
      publish('needs_restart', {
        trigger,
        file: source?.files[0] ?? null,
        fields,
        reason: `${fields.join(', ')} changed but cannot change while running; restart egresskit to apply${shown.length ? `: ${shown.join('; ')}` : ''}`,
      });
    }
    const previous = live.current;
    const changed = version.id !== previous.id;
    if (changed) live.swap(version);
    metrics.succeeded(version.id);
    if (changed || trigger !== 'watch') {
      publish('config_reloaded', {
        trigger,
        config_version: version.id,
        previous_version: previous.id,
        ...(changed ? policyChanges(applied, next, version) : { unchanged: true }),
      });
    }
    applied = next;
    return { ok: true, version: version.id, changed, needsRestart: restart.map((r) => r.field) };
  };

  return {
    reload,
    watch() {
      const watcher = watchFiles({
        files: () => [...(source?.files ?? []), ...(seen.auth.htpasswd ? [seen.auth.htpasswd] : [])],
        onChange: () => void reload('watch'),
      });
      return () => watcher.stop();
    },
  };
}
