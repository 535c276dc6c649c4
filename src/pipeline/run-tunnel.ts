import type { Duplex } from 'node:stream';
import { notePhase, publishTunnel } from '../model/channels.js';
import type { ProxyRecord } from '../model/record.js';
import type { UpstreamConnection } from '../upstream/connection.js';
import { splice } from '../upstream/tunnel.js';
import type { ProxyContext } from './context.js';
import { LiveTunnel } from './live-tunnel.js';

/**
 * The tunnel hand-off of CONNECT and Upgrade: once the client has been answered, splice bytes
 * until both sides are done, counting them and the time to the destination's first byte. The
 * pipeline writes the record when this settles.
 */
export async function runTunnel(
  ctx: ProxyContext,
  client: Duplex,
  upstream: UpstreamConnection,
  head: Buffer | readonly Buffer[],
  record: ProxyRecord,
): Promise<void> {
  // `head` may be the chunks the SNI check read: written as they are, not joined.
  let headBytes = 0;
  for (const chunk of Buffer.isBuffer(head) ? [head] : head) {
    if (chunk.length) upstream.write(chunk);
    headBytes += chunk.length;
  }
  const tunnel = new LiveTunnel(client, upstream, record);
  ctx.state.tunnels.add(tunnel);
  ctx.guards.ages?.add(tunnel);
  publishTunnel({ instance: ctx.instance, open: true });
  const result = await splice(client, upstream, ctx.config.timeouts.idle, headBytes);
  ctx.state.tunnels.delete(tunnel);
  ctx.guards.ages?.delete(tunnel);
  publishTunnel({ instance: ctx.instance, open: false });
  record.bytesUp = result.bytesUp;
  record.bytesDown = result.bytesDown;
  if (upstream.firstByteAt !== undefined && record.phases.ttfbMs === undefined) notePhase(record, 'ttfb', record.start, upstream.firstByteAt);
  if (result.error) record.error ??= result.error;
}
