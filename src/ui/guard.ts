import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** Constant-time: both sides are hashed first, so neither length nor content leaks. */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token from `Authorization: Bearer`, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  const m = auth ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return m?.[1];
}

/** Host header without the port, brackets removed from IPv6 literals. */
export function hostName(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** What a Host header may name besides IP literals and localhost (the bind name, --ui-allowed-hosts). */
export interface HostAllowlist {
  /** Exact names ("egress.example.com") or suffixes (".example.com" or "*.example.com"), any case. */
  names: readonly string[];
}

function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * DNS-rebinding guard: a page on evil.example that rebinds its name to 127.0.0.1 still sends
 * `Host: evil.example`. Answered: IP literals (no name to rebind), localhost, and the names the
 * operator listed.
 */
export function hostAllowed(hostHeader: string | undefined, allow: HostAllowlist = { names: [] }): boolean {
  if (!hostHeader) return false;
  const name = normaliseName(hostName(hostHeader));
  if (name === 'localhost' || isIP(name) !== 0) return true;
  return allow.names.some((entry) => {
    const e = normaliseName(entry);
    if (e.startsWith('*.')) return name.endsWith(e.slice(1));
    if (e.startsWith('.')) return name.endsWith(e);
    return name === e;
  });
}

/** `Cookie` header value of one cookie, if sent. */
export function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A browser's Origin, when sent, must be this server (cross-site writes are refused). */
export function originAllowed(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}
