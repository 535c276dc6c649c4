import { decodeBody, type DecodedBody } from './body-decode.js';
import { headerValue, type CapturedBody, type Flow } from './flow.js';
import { MAX_DECODED_BODY, MAX_DECODED_EXPORT } from './har-body.js';
import { toHar } from './har.js';
import type { Har, HarCreator } from './har-types.js';

/**
 * toHar, with every Content-Encoding undone first on zlib's thread pool: a HAR of thousands of
 * gzip bodies (up to 256 MiB decoded) would otherwise hold the proxy's event loop while it
 * inflates them. The same limits apply (16 MiB a body, 256 MiB an export), in the same order.
 */
export async function toHarOffLoop(flows: Flow[], creator: HarCreator): Promise<Har> {
  const predecoded = new Map<CapturedBody, DecodedBody>();
  let left = MAX_DECODED_EXPORT;
  for (const flow of flows) {
    // Response first, then request: the order toHar spends the budget in.
    for (const msg of [flow.response, flow.request]) {
      if (!msg || msg.body.captured.length === 0 || left <= 0) continue;
      const decoded = await decodeBody(msg.body, headerValue(msg.headers, 'content-encoding'), Math.min(MAX_DECODED_BODY, left));
      if (!decoded) continue;
      predecoded.set(msg.body, decoded);
      if ('bytes' in decoded) left -= decoded.bytes.length;
    }
  }
  return toHar(flows, creator, { left: MAX_DECODED_EXPORT, predecoded });
}
