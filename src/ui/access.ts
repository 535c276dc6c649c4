import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, cookieValue, hostAllowed, originAllowed, tokenMatches, type HostAllowlist } from './guard.js';
import { sendText } from './http-reply.js';

export const UI_COOKIE = 'egresskit_ui_token';

export interface AccessOptions {
  /** When set, every request needs it (Bearer header, the cookie, or ?token= once). */
  token?: string;
  /** Where the token can be found, for the 401 page (never the token). */
  tokenHint?: string;
  /** Normalised: "/" or "/a/b/". */
  basePath: string;
  allowedHosts: HostAllowlist;
}

/** The last path segment, so a Location works whatever prefix a reverse proxy added or removed. */
function relativeTo(pathname: string, search: string): string {
  return `./${pathname.slice(pathname.lastIndexOf('/') + 1)}${search}`;
}

function unauthorized(res: ServerResponse, opts: AccessOptions): void {
  const where = opts.tokenHint ? ` The token is ${opts.tokenHint}.` : '';
  sendText(
    res,
    401,
    'This egresskit inspect UI needs its token (it shows decrypted traffic).\n' +
      'Open it once with ?token=<token> added to this address (a cookie then keeps you in and the token leaves the address bar),\n' +
      `or send the header Authorization: Bearer <token> (curl -H, egresskit flows export --token-file).${where}`,
    { 'www-authenticate': 'Bearer realm="egresskit-inspect"' },
  );
}

/**
 * The access layer in front of every route, in this order: Host allowlist (DNS rebinding),
 * base path, token, Origin. Returns the URL with the base path taken off, or undefined when it
 * already answered (refusal or redirect).
 */
export function admit(req: IncomingMessage, res: ServerResponse, url: URL, opts: AccessOptions): URL | undefined {
  if (!hostAllowed(req.headers.host, opts.allowedHosts)) {
    const host = req.headers.host ?? '';
    sendText(
      res,
      403,
      `refused Host ${JSON.stringify(host)}: the inspect UI answers only IP addresses, localhost and the names given with --ui-allowed-hosts (inspect.uiAllowedHosts) (DNS-rebinding guard); ` +
        `to open it by this name, start egresskit with --ui-allowed-hosts ${JSON.stringify(host).slice(1, -1).replace(/:\d+$/, '') || 'NAME'}`,
    );
    return undefined;
  }
  const base = opts.basePath;
  let path = url.pathname;
  if (base !== '/') {
    if (path === base.slice(0, -1)) {
      sendText(res, 308, `the UI is at ${base}`, { location: `${relativeTo(path, '')}/${url.search}` });
      return undefined;
    }
    if (!path.startsWith(base)) {
      sendText(res, 404, `not found: ${path}; this inspect UI is served under ${base} (--ui-base-path)`);
      return undefined;
    }
    path = path.slice(base.length - 1);
  }
  if (opts.token !== undefined && !tokenAccepted(req, res, url, path, opts)) return undefined;
  if (!originAllowed(req)) {
    sendText(res, 403, `refused cross-origin request from ${req.headers.origin ?? ''}`);
    return undefined;
  }
  return new URL(`${path}${url.search}`, 'http://ui.invalid');
}

/** false: answered (401, or the redirect that trades ?token= for a cookie). */
function tokenAccepted(req: IncomingMessage, res: ServerResponse, url: URL, path: string, opts: AccessOptions): boolean {
  const token = opts.token!;
  const bearer = bearerToken(req);
  if (bearer !== undefined) {
    if (tokenMatches(bearer, token)) return true;
    unauthorized(res, opts);
    return false;
  }
  const query = url.searchParams.get('token');
  if (query !== null) {
    if (!tokenMatches(query, token)) {
      unauthorized(res, opts);
      return false;
    }
    // A page visit trades the token for a cookie and drops it from the address bar, history and
    // Referer; API calls with ?token= (scripts) are simply answered.
    if ((req.method === 'GET' || req.method === 'HEAD') && !path.startsWith('/api/')) {
      const rest = new URLSearchParams(url.searchParams);
      rest.delete('token');
      const search = rest.size > 0 ? `?${rest}` : '';
      const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
      sendText(res, 303, 'signed in; redirecting', {
        location: relativeTo(url.pathname, search),
        'set-cookie': `${UI_COOKIE}=${encodeURIComponent(token)}; Path=${opts.basePath}; HttpOnly; SameSite=Strict${secure}`,
      });
      return false;
    }
    return true;
  }
  const cookie = cookieValue(req.headers.cookie, UI_COOKIE);
  if (cookie !== undefined && tokenMatches(safeDecode(cookie), token)) return true;
  unauthorized(res, opts);
  return false;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
