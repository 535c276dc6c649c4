import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { codingsToUndo, decodeError, inflateOptions } from './body-decode.js';
import { bodyAsUtf8, type CapturedBody } from './flow.js';
import type { HarContent, HarPostData } from './har-types.js';

// Decoding Content-Encoding can multiply a body a thousandfold (a gzip bomb from a hostile
// upstream): each body and each export get a ceiling, past which bodies are exported as sent.
export const MAX_DECODED_BODY = 16 * 1024 * 1024;
export const MAX_DECODED_EXPORT = 256 * 1024 * 1024;

export interface DecodeBudget {
  left: number;
  /** Bodies already decoded off the event loop (har-off-loop.ts); the rest are decoded here. */
  predecoded?: ReadonlyMap<CapturedBody, { bytes: Buffer } | { error: string }>;
}

export function truncationComment(body: CapturedBody): string {
  return `truncated: ${body.captured.length} of ${body.size} bytes captured`;
}

/** Decoded bytes of a body sent with Content-Encoding, or why it is exported as sent. */
type Decoded = { bytes: Buffer } | { error: string };

/**
 * undefined when there is nothing to decode (no encoding, identity, or no bytes). The
 * synchronous twin of body-decode.ts's decodeBody (same codings, options and errors), for
 * toHar's synchronous callers; the UI's exports take toHarOffLoop, which fills `predecoded`.
 */
function decode(body: CapturedBody, contentEncoding: string | undefined, budget: DecodeBudget): Decoded | undefined {
  const codings = codingsToUndo(contentEncoding);
  if (codings.length === 0 || body.captured.length === 0) return undefined;
  const ready = budget.predecoded?.get(body);
  if (ready) {
    if ('bytes' in ready) budget.left -= ready.bytes.length;
    return ready;
  }
  const limit = Math.min(MAX_DECODED_BODY, budget.left);
  if (limit <= 0) return { error: `this export already decoded ${MAX_DECODED_EXPORT} bytes` };
  // A truncated capture ends mid-stream: flush what decodes instead of failing on the end.
  const { zopts, bropts } = inflateOptions(limit, body.truncated);
  let bytes = body.captured;
  try {
    for (const coding of codings) {
      if (coding === 'gzip' || coding === 'x-gzip') bytes = gunzipSync(bytes, zopts);
      else if (coding === 'br') bytes = brotliDecompressSync(bytes, bropts);
      else if (coding === 'deflate') bytes = inflateZlibOrRaw(bytes, zopts);
      else return { error: `content-encoding ${coding} is not decoded by egresskit` };
    }
  } catch (err) {
    return decodeError(err as NodeJS.ErrnoException, limit, codings);
  }
  budget.left -= bytes.length;
  return { bytes };
}

/** "deflate" means zlib-wrapped (RFC 9110 section 8.4.1.2), but some servers send raw deflate. */
function inflateZlibOrRaw(bytes: Buffer, opts: object): Buffer {
  try {
    return inflateSync(bytes, opts);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
    return inflateRawSync(bytes, opts);
  }
}

interface Text {
  text: string;
  base64: boolean;
  comments: string[];
  /** Decoded length when the whole body was captured and decoded. */
  decodedSize?: number;
}

/** The body as HAR text: decoded (Content-Encoding), then UTF-8 or else base64. */
function bodyText(body: CapturedBody, contentEncoding: string | undefined, budget: DecodeBudget): Text {
  const decoded = decode(body, contentEncoding, budget);
  const comments: string[] = [];
  let bytes = body.captured;
  let decodedSize: number | undefined;
  if (decoded && 'bytes' in decoded) {
    bytes = decoded.bytes;
    if (!body.truncated) decodedSize = bytes.length;
  } else if (decoded) comments.push(`not decoded (${decoded.error}): text is the body as sent`);
  if (body.truncated) comments.push(truncationComment(body) + (decoded && 'bytes' in decoded ? '; text is the decoded prefix' : ''));
  const text = bodyAsUtf8({ size: bytes.length, captured: bytes, truncated: body.truncated });
  const out: Text = text !== null ? { text, base64: false, comments } : { text: bytes.toString('base64'), base64: true, comments };
  if (decodedSize !== undefined) out.decodedSize = decodedSize;
  return out;
}

export function content(body: CapturedBody, mimeType: string, contentEncoding: string | undefined, budget: DecodeBudget): HarContent {
  const out: HarContent = { size: body.size, mimeType };
  if (body.captured.length === 0) {
    if (body.truncated) out.comment = truncationComment(body);
    return out;
  }
  const t = bodyText(body, contentEncoding, budget);
  if (t.decodedSize !== undefined) {
    out.size = t.decodedSize;
    out.compression = t.decodedSize - body.size;
  }
  out.text = t.text;
  if (t.base64) out.encoding = 'base64';
  if (t.comments.length > 0) out.comment = t.comments.join('; ');
  return out;
}

export function postData(body: CapturedBody, mimeType: string, contentEncoding: string | undefined, budget: DecodeBudget): HarPostData {
  const t = bodyText(body, contentEncoding, budget);
  const out: HarPostData = { mimeType, text: t.text };
  if (t.base64) out._encoding = 'base64';
  if (t.comments.length > 0) out.comment = t.comments.join('; ');
  return out;
}
