/**
 * Proxy URLs carry passwords (http://user:pass@host:3128, in --proxy or in any *_proxy variable).
 * Everything doctor prints, as text or as JSON, goes through redact: the password becomes ***
 * and the rest stays, so the report still says which proxy and which user.
 */
export function redact(value: URL | string): string {
  if (typeof value === 'string') {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim())) {
      try {
        const u = new URL(value.trim());
        // Without a password the value is printed exactly as given.
        return u.password ? redact(u) : value;
      } catch {
        // not a URL: scrubbed by pattern below
      }
    }
    // A bare user:pass@host:port, or a value no URL parser accepts: drop whatever sits between
    // the user's colon and the last @ of the token, so no part of a password survives.
    return value.replace(/(^|[\s,;'"=(])([a-z][a-z0-9+.-]*:\/\/)?([^\s,;'"=/@:]*):[^\s,;'"]*@/gi, (_m, lead: string, scheme = '', user: string) => `${lead}${scheme}${user}:***@`);
  }
  if (!value.password) return value.href;
  const c = new URL(value.href);
  c.password = '***';
  return c.href;
}
