import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostAllowed, tokenMatches } from '../ui/guard.js';
import { isLoopbackHost } from '../ui/ui-access.js';
import { ExplainInputError, explainTargets, type ExplainSetup } from './explain.js';

export type Access = { ok: true } | { ok: false; status: 403; message: string };

export interface AccessRequest {
  /** The TCP peer (socket.remoteAddress). */
  remoteAddress: string | undefined;
  host: string | undefined;
  authorization: string | undefined;
}

function bearer(authorization: string | undefined): string | undefined {
  const m = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return m?.[1];
}

/**
 * Who may ask /explain: it reveals the whole policy (and resolves names on request), so only a
 * loopback client (kubectl port-forward, kubectl exec) or one holding the inspect UI token.
 * A loopback client must also name an IP or localhost in Host: a web page whose name was
 * rebound to 127.0.0.1 still sends its own name (the UI's DNS-rebinding guard).
 */
export function explainAccess(req: AccessRequest, token: string | undefined): Access {
  const given = bearer(req.authorization);
  if (token !== undefined && given !== undefined) {
    if (tokenMatches(given, token)) return { ok: true };
    return { ok: false, status: 403, message: 'the bearer token does not match this proxy\'s UI token (<ca-dir>/ui-token)' };
  }
  const peer = req.remoteAddress ?? '';
  if (isLoopbackHost(peer)) {
    if (hostAllowed(req.host)) return { ok: true };
    return {
      ok: false,
      status: 403,
      message: `Host ${JSON.stringify(req.host ?? '')} is not an IP address or localhost (DNS-rebinding guard): ask http://127.0.0.1:PORT/explain`,
    };
  }
  const how =
    token !== undefined
      ? 'or send Authorization: Bearer <token> with the inspect UI token (<ca-dir>/ui-token)'
      : 'this proxy has no UI token (only inspect mode with a non-loopback UI has one), so only loopback';
  return {
    ok: false,
    status: 403,
    message: `/explain answers loopback clients only (kubectl port-forward, or kubectl exec ... curl http://127.0.0.1:PORT/explain?target=...), ${how}; ${peer || 'this client'} is not loopback`,
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * GET /explain?target=HOST:PORT[&target=...][&identity=ID | &user=NAME][&resolve=1]
 * `setup` may be a function: a running proxy's policy is the version live now (it reloads).
 */
export function explainHandler(setup: ExplainSetup | (() => ExplainSetup), token: string | undefined) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const access = explainAccess({ remoteAddress: req.socket.remoteAddress, host: req.headers.host, authorization: req.headers.authorization }, token);
    if (!access.ok) return sendJson(res, access.status, { error: access.message });
    const q = new URL(req.url ?? '/', 'http://admin').searchParams;
    const resolve = q.get('resolve');
    explainTargets(typeof setup === 'function' ? setup() : setup, {
      targets: q.getAll('target'),
      identity: q.get('identity') ?? undefined,
      user: q.get('user') ?? undefined,
      resolve: resolve !== null && resolve !== '0' && resolve !== 'false',
    }).then(
      (report) => sendJson(res, 200, report),
      (err: Error) => sendJson(res, err instanceof ExplainInputError ? 400 : 500, { error: err.message }),
    );
  };
}
