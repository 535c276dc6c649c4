export type BasicCredentials = { user: string; password: string };

/**
 * Parses a Proxy-Authorization header. Returns undefined when absent and "malformed" for
 * anything that is not a well-formed Basic credential, so the caller can answer 407, never 500.
 */
export function parseProxyAuthorization(header: string | undefined): BasicCredentials | 'malformed' | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!m?.[1] || m[1].length % 4 !== 0) return 'malformed';
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return 'malformed';
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
