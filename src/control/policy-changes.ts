import type { Config } from '../config/schema.js';
import type { ConfigVersion } from '../pipeline/context.js';
import type { RuleSpec } from '../policy/compile.js';

const ruleId = (rule: RuleSpec, i: number) => rule.id ?? `rule-${i + 1}`;

/**
 * What a reload changed, for its log line: rule ids added, removed and edited, the other policy
 * settings, and the number of users (never their names or hashes).
 */
export function policyChanges(before: Config, after: Config, now: ConfigVersion): Record<string, unknown> {
  const rules = (c: Config) => new Map(c.policy.rules.map((r, i) => [ruleId(r, i), JSON.stringify(r)]));
  const a = rules(before);
  const b = rules(after);
  const added = [...b.keys()].filter((id) => !a.has(id));
  const removed = [...a.keys()].filter((id) => !b.has(id));
  const edited = [...b.keys()].filter((id) => a.has(id) && a.get(id) !== b.get(id));
  const { rules: _r1, ...settingsBefore } = before.policy;
  const { rules: _r2, ...settingsAfter } = after.policy;
  const settings = Object.keys({ ...settingsBefore, ...settingsAfter }).filter(
    (k) => JSON.stringify(settingsBefore[k as keyof typeof settingsBefore]) !== JSON.stringify(settingsAfter[k as keyof typeof settingsAfter]),
  );
  return {
    rules_added: added,
    rules_removed: removed,
    rules_changed: edited,
    policy_settings_changed: settings.map((k) => `policy.${k}`),
    users: now.htpasswd?.size ?? null,
  };
}
