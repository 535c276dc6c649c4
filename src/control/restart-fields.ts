import type { Config } from '../config/schema.js';

/**
 * What a reload applies: the policy section and which htpasswd file holds the users. Everything
 * else (listen and admin addresses, mode, TLS and inspect settings, timeouts, limits, the auth
 * realm, sections added later) sits in listeners, pools and timers built at start, so a change
 * there is reported as needing a restart and the running value stays. New top-level keys are
 * "needs restart" by default: a setting is hot-reloadable only once someone made it so.
 */
export function isReloadable(path: readonly string[]): boolean {
  return path[0] === 'policy' || (path[0] === 'auth' && path[1] === 'htpasswd');
}

export interface RestartField {
  /** Dotted path, e.g. "listen" or "timeouts.idle". */
  field: string;
  running: unknown;
  wanted: unknown;
}

/** Fields that differ between the running config and a new one and are not reloadable (two levels deep). */
export function restartFields(running: Config, wanted: Config): RestartField[] {
  const out: RestartField[] = [];
  const a = running as unknown as Record<string, unknown>;
  const b = wanted as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    if (same(x, y)) continue;
    if (isObject(x) && isObject(y)) {
      for (const sub of new Set([...Object.keys(x), ...Object.keys(y)])) {
        if (!same(x[sub], y[sub]) && !isReloadable([key, sub])) out.push({ field: `${key}.${sub}`, running: x[sub], wanted: y[sub] });
      }
    } else if (!isReloadable([key])) out.push({ field: key, running: x, wanted: y });
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function same(x: unknown, y: unknown): boolean {
  return JSON.stringify(x) === JSON.stringify(y);
}
