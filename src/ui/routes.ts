import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendText } from './http-reply.js';

/** `url.pathname` is relative to the base path: always "/api/flows", whatever --ui-base-path is. */
export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, param?: string) => void | Promise<void>;
export type RouteMethod = 'GET' | 'POST' | 'DELETE';

export interface Route {
  pattern: RegExp;
  methods: Partial<Record<RouteMethod, Handler>>;
}

/**
 * Runs the first route whose pattern matches (HEAD as GET); false when none does. A handler
 * that fails answers 500 if it had not answered yet (an async handler's rejection included).
 */
export function dispatch(routes: readonly Route[], req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  for (const route of routes) {
    const m = route.pattern.exec(url.pathname);
    if (!m) continue;
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const handler = method === 'GET' || method === 'POST' || method === 'DELETE' ? route.methods[method] : undefined;
    if (!handler) {
      const allow = Object.keys(route.methods).flatMap((k) => (k === 'GET' ? ['GET', 'HEAD'] : [k]));
      sendText(res, 405, `${req.method} is not allowed on ${url.pathname}; use ${allow.join(', ')}`, { allow: allow.join(', ') });
      return true;
    }
    const failed = (err: unknown): void => {
      if (!res.headersSent) sendText(res, 500, `internal error: ${(err as Error).message}`);
      else res.destroy(err as Error);
    };
    try {
      const done = handler(req, res, url, m[1]);
      if (done) done.catch(failed);
    } catch (err) {
      failed(err);
    }
    return true;
  }
  return false;
}
