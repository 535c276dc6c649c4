import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { CapturedBody } from './flow.js';
import { MAX_DECODED_BODY } from './har-body.js';

type Decoder = (buf: Buffer, opts: zlib.ZlibOptions | zlib.BrotliOptions) => Promise<Buffer>;

const gunzip = promisify(zlib.gunzip) as Decoder;
const inflate = promisify(zlib.inflate) as Decoder;
const inflateRaw = promisify(zlib.inflateRaw) as Decoder;
const brotli = promisify(zlib.brotliDecompress) as Decoder;
// zstd arrived in Node 22.15 / 23.8; on older Nodes a zstd body is offered as sent.
const zstdFn = (zlib as unknown as { zstdDecompress?: (...a: unknown[]) => void }).zstdDecompress;
const zstd = zstdFn ? (promisify(zstdFn) as Decoder) : undefined;

export type DecodeResult = { bytes: Buffer; codings: string[] } | { error: string; codings: string[] };

/**
 * The body decoded from its Content-Encoding, on the libuv thread pool (the async zlib calls),
 * so a large or hostile body never holds the proxy's event loop. The same ceiling as the HAR
 * export: past maxOutput bytes decoding stops with an error instead of inflating a bomb.
 */
export async function decodeBody(body: CapturedBody, contentEncoding: string | undefined, maxOutput = MAX_DECODED_BODY): Promise<DecodeResult> {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let bytes = body.captured;
  if (codings.length === 0 || bytes.length === 0) return { bytes, codings };
  // A truncated capture ends mid-stream: flush what decodes instead of failing on the end.
  const partial = body.truncated;
  const zopts = { maxOutputLength: maxOutput, ...(partial ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {}) };
  const bropts = { maxOutputLength: maxOutput, ...(partial ? { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH } : {}) };
  try {
    // Codings apply in the order listed (RFC 9110 section 8.4), so they come off in reverse.
    for (const coding of [...codings].reverse()) {
      if (coding === 'gzip' || coding === 'x-gzip') bytes = await gunzip(bytes, zopts);
      else if (coding === 'br') bytes = await brotli(bytes, bropts);
      else if (coding === 'deflate') bytes = await inflate(bytes, zopts).catch((err: NodeJS.ErrnoException) => {
        // "deflate" means zlib-wrapped (RFC 9110 section 8.4.1.2), but some servers send raw deflate.
        if (err.code === 'ERR_BUFFER_TOO_LARGE') throw err;
        return inflateRaw(bytes, zopts);
      });
      else if (coding === 'zstd' && zstd) bytes = await zstd(bytes, { maxOutputLength: maxOutput });
      else if (coding === 'zstd') return { error: `zstd is decoded from Node.js 22.15 on; this is ${process.version}`, codings };
      else return { error: `content-encoding ${coding} is not decoded by egresskit`, codings };
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const error = e.code === 'ERR_BUFFER_TOO_LARGE' || e.code === 'ERR_OUT_OF_RANGE' ? `decoded content is larger than ${maxOutput} bytes (decompression bomb limit)` : `${codings.join(', ')}: ${e.message}`;
    return { error, codings };
  }
  return { bytes, codings };
}
