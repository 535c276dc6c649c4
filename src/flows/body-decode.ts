import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import type { CapturedBody } from './flow.js';

type Inflate = (buf: Buffer, opts: object) => Promise<Buffer>;

const gunzip = promisify(zlib.gunzip) as Inflate;
const brotli = promisify(zlib.brotliDecompress) as Inflate;
const inflate = promisify(zlib.inflate) as Inflate;
const inflateRaw = promisify(zlib.inflateRaw) as Inflate;
// zstd arrived in node:zlib with Node 22.15 / 23.8; on Node 20 such bodies stay as sent.
const zstdFn = (zlib as unknown as { zstdDecompress?: typeof zlib.gunzip }).zstdDecompress;
const zstd = zstdFn ? (promisify(zstdFn) as Inflate) : undefined;

export type DecodedBody = { bytes: Buffer } | { error: string };

/**
 * zlib's options for a decode capped at `limit` bytes (a gzip bomb stops there); a truncated
 * capture ends mid-stream, so it flushes what decodes instead of failing on the missing end.
 */
export function inflateOptions(limit: number, partial: boolean): { zopts: zlib.ZlibOptions; bropts: zlib.BrotliOptions } {
  return {
    zopts: { maxOutputLength: limit, ...(partial ? { finishFlush: zlib.constants.Z_SYNC_FLUSH } : {}) },
    bropts: { maxOutputLength: limit, ...(partial ? { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH } : {}) },
  };
}

/** Why a body stays as sent: over the cap, or not valid for its codings. */
export function decodeError(e: NodeJS.ErrnoException, limit: number, codings: string[]): { error: string } {
  return { error: e.code === 'ERR_BUFFER_TOO_LARGE' ? `decoded content is larger than ${limit} bytes` : `${codings.join(', ')}: ${e.message}` };
}

/** The codings of a Content-Encoding value, in the order they must come off (RFC 9110 section 8.4: applied in the order listed). */
export function codingsToUndo(contentEncoding: string | undefined): string[] {
  return (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity')
    .reverse();
}

/**
 * A body's bytes with its Content-Encoding undone, on zlib's thread pool rather than the proxy's
 * event loop, at most `limit` bytes (a gzip bomb stops there). undefined: nothing to decode.
 */
export async function decodeBody(body: CapturedBody, contentEncoding: string | undefined, limit: number): Promise<DecodedBody | undefined> {
  const codings = codingsToUndo(contentEncoding);
  if (codings.length === 0 || body.captured.length === 0) return undefined;
  if (limit <= 0) return { error: 'the decoding budget is spent' };
  const { zopts, bropts } = inflateOptions(limit, body.truncated);
  let bytes = body.captured;
  try {
    for (const coding of codings) {
      if (coding === 'gzip' || coding === 'x-gzip') bytes = await gunzip(bytes, zopts);
      else if (coding === 'br') bytes = await brotli(bytes, bropts);
      else if (coding === 'deflate') bytes = await inflate(bytes, zopts).catch((err: NodeJS.ErrnoException) => {
        // "deflate" means zlib-wrapped (RFC 9110 section 8.4.1.2), but some servers send raw deflate.
        if (err.code === 'ERR_BUFFER_TOO_LARGE') throw err;
        return inflateRaw(bytes, zopts);
      });
      else if (coding === 'zstd' && zstd) bytes = await zstd(bytes, { maxOutputLength: limit });
      else return { error: `content-encoding ${coding} is not decoded by egresskit on Node ${process.versions.node}` };
    }
  } catch (err) {
    return decodeError(err as NodeJS.ErrnoException, limit, codings);
  }
  return { bytes };
}
