import type { Duplex } from 'node:stream';
import type { Destination } from '../model/destination.js';
import type { ErrorCode } from '../model/errors.js';
import type { SniCheck } from '../model/decision.js';
import type { ProxyRecord } from '../model/record.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import type { ProxyContext } from './context.js';
import { runTunnel } from './run-tunnel.js';
import { HelloPeek, type FirstBytes } from './sni-peek.js';

/** A fatal TLS alert record (RFC 8446 section 6): the client's TLS stack reports it by name. */
function alert(description: number): Buffer {
  return Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description]);
}
/** RFC 6066 section 3: the server does not serve the name the client asked for. */
const UNRECOGNIZED_NAME = alert(112);
const HANDSHAKE_FAILURE = alert(40);

/** How long a refused client may take to read the alert and close before it is cut. */
const REFUSED_LINGER_MS = 5000;

export interface SniVerdict {
  code: ErrorCode;
  detail: string;
  /** The alert sent before closing; none to a client that does not speak TLS. */
  alert: Buffer | undefined;
}

/** Server names compare without case and without a trailing dot (RFC 6066 section 3, RFC 4343). */
function sameName(sni: string, host: string): boolean {
  const a = sni.endsWith('.') ? sni.slice(0, -1) : sni;
  return a.length === host.length && a.toLowerCase() === host;
}

/**
 * Notes on the record what the tunnel's first bytes were, and says whether the tunnel is to
 * be refused. `dest.host` is normalised (lower case, no trailing dot, A-labels).
 * Pure, for the table-driven unit test.
 */
export function judgeFirstBytes(seen: FirstBytes, dest: Destination, check: SniCheck, requireTls: boolean, record: ProxyRecord): SniVerdict | undefined {
  const enforce = check === 'enforce';
  switch (seen.kind) {
    case 'hello': {
      record.tls = seen.sni === undefined ? 'no-sni' : true;
      record.sni = seen.sni;
      if (seen.sni === undefined || check === 'off' || sameName(seen.sni, dest.host)) return undefined;
      // In report mode the mismatch is on the record (sni, sni_mismatch) and the tunnel goes on.
      record.sniMismatch = true;
      if (!enforce) return undefined;
      const detail = `TLS server name ${JSON.stringify(seen.sni)} differs from the CONNECT host ${dest.host}`;
      return { code: 'sni_mismatch', detail, alert: UNRECOGNIZED_NAME };
    }
    case 'unreadable': {
      record.tls = true;
      if (!enforce) return undefined;
      return { code: 'sni_mismatch', detail: `the server name cannot be checked: ${seen.why}`, alert: HANDSHAKE_FAILURE };
    }
    case 'not-tls':
    case 'silent': {
      record.tls = false;
      if (!requireTls) return undefined;
      const what = seen.kind === 'silent' ? 'the client sent nothing' : 'the first bytes are not a TLS ClientHello';
      return { code: 'tls_required', detail: `${what}, and TLS is required to port ${dest.port}`, alert: undefined };
    }
    case 'gone':
      return undefined;
  }
}

/**
 * The tunnel hand-off with the SNI check in front (forward, mtls, and passthrough in inspect:
 * interception checks the name itself). The destination was dialled before the 200, as every
 * CONNECT is, so that a failure can still be an HTTP status; the check reads the client's first
 * bytes after the 200, and only then are those same chunks written to the destination. A
 * refused tunnel's bytes never reach it: the connection is closed having received nothing.
 */
export async function tunnelChecked(
  ctx: ProxyContext,
  client: Duplex,
  upstream: UpstreamConnection,
  head: Buffer,
  record: ProxyRecord,
  dest: Destination,
): Promise<void> {
  const d = record.decision;
  const check = d?.sniCheck ?? ctx.config.sni.check;
  const requireTls = d?.requireTls ?? ctx.config.sni.requireTls;
  if ((check === 'off' && !requireTls) || !ctx.config.sni.ports.includes(dest.port)) return runTunnel(ctx, client, upstream, head, record);
  const peek = new HelloPeek(client, head, ctx.guards.peeks);
  // A drain cuts a tunnel that is still being read like any other.
  ctx.state.tunnels.add(peek);
  const { seen, chunks, bytes } = await peek.done;
  ctx.state.tunnels.delete(peek);
  const verdict = judgeFirstBytes(seen, dest, check, requireTls, record);
  if (seen.kind === 'gone') {
    upstream.destroy();
    record.bytesUp = bytes;
    record.error ??= 'client_gone';
    return;
  }
  if (!verdict) return runTunnel(ctx, client, upstream, chunks, record);
  upstream.destroy();
  record.bytesUp = bytes;
  record.error = verdict.code;
  record.errorDetail = verdict.detail;
  refuse(client, verdict.alert);
}

/** Ends the client's side (after the alert) and reads what it still sends until it closes. */
function refuse(client: Duplex, alertRecord: Buffer | undefined): void {
  client.on('error', () => undefined);
  client.resume();
  client.end(alertRecord);
  setTimeout(() => client.destroy(), REFUSED_LINGER_MS).unref();
}
