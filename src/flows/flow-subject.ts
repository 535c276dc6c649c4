import { codingsToUndo, decodeBody } from './body-decode.js';
import { bodyAsUtf8, flowProtocol, flowUrl, headerValue, type CapturedBody, type Flow } from './flow.js';
import { BodyPending, type FilterSubject } from './filter/subject.js';
import { MAX_DECODED_BODY } from './har-body.js';

const MiB = 1024 * 1024;

/**
 * Lower-cased body text for the filter, least recently used first out, within a character
 * budget: re-running a body filter over 10,000 flows (every keystroke in the UI) must not
 * decode every body again, and the cache must not double the store's memory either.
 */
export class BodyTextCache {
  readonly #texts = new Map<CapturedBody, string | null>();
  #chars = 0;

  constructor(readonly maxChars = 64 * MiB) {}

  get size(): number {
    return this.#texts.size;
  }

  get(body: CapturedBody): string | null | undefined {
    const text = this.#texts.get(body);
    if (text === undefined) return undefined;
    this.#texts.delete(body);
    this.#texts.set(body, text);
    return text;
  }

  set(body: CapturedBody, text: string | null): void {
    const old = this.#texts.get(body);
    if (old !== undefined) {
      this.#chars -= old?.length ?? 0;
      this.#texts.delete(body);
    }
    this.#texts.set(body, text);
    this.#chars += text?.length ?? 0;
    for (const [key, value] of this.#texts) {
      if (this.#chars <= this.maxChars || key === body) break;
      this.#texts.delete(key);
      this.#chars -= value?.length ?? 0;
    }
  }
}

/** Text a filter searches: UTF-8 when it is, else latin1 so ASCII inside binary still matches. */
function searchText(bytes: Buffer, truncated: boolean): string {
  return (bodyAsUtf8({ size: bytes.length, captured: bytes, truncated }) ?? bytes.toString('latin1')).toLowerCase();
}

function bodyOf(flow: Flow, which: 'request' | 'response'): { body: CapturedBody; encoding: string | undefined } | undefined {
  const msg = which === 'request' ? flow.request : flow.response;
  if (!msg || msg.body.captured.length === 0) return undefined;
  return { body: msg.body, encoding: headerValue(msg.headers, 'content-encoding') };
}

/** A Flow as the filter reads it. Encoded bodies not yet in the cache throw BodyPending. */
export function flowSubject(flow: Flow, cache: BodyTextCache): FilterSubject {
  return {
    method: flow.request.method,
    url: flowUrl(flow),
    host: flow.host,
    status: flow.response?.status ?? null,
    requestHeaders: flow.request.headers,
    responseHeaders: flow.response?.headers ?? null,
    identity: flow.identity,
    client: flow.client,
    verdict: flow.decision?.verdict ?? null,
    ruleId: flow.decision?.ruleId ?? null,
    protocol: flowProtocol(flow),
    errored: flow.state === 'error' || flow.error !== undefined,
    passthrough: flow.passthrough === true,
    imported: flow.imported === true,
    bodyLower(which) {
      const b = bodyOf(flow, which);
      if (!b) return null;
      const cached = cache.get(b.body);
      if (cached !== undefined) return cached;
      if (codingsToUndo(b.encoding).length > 0) throw new BodyPending(which);
      const text = searchText(b.body.captured, b.body.truncated);
      cache.set(b.body, text);
      return text;
    },
  };
}

export interface DecodeBudget {
  left: number;
}

/**
 * Decodes one body into the cache, off the event loop, within the HAR export's limits (16 MiB a
 * body, a budget per request). A body that cannot be decoded is searched as sent.
 */
export async function loadBodyText(flow: Flow, which: 'request' | 'response', cache: BodyTextCache, budget: DecodeBudget): Promise<void> {
  const b = bodyOf(flow, which);
  if (!b) return;
  const decoded = await decodeBody(b.body, b.encoding, Math.min(MAX_DECODED_BODY, budget.left));
  let bytes = b.body.captured;
  if (decoded && 'bytes' in decoded) {
    bytes = decoded.bytes;
    budget.left -= bytes.length;
  }
  cache.set(b.body, searchText(bytes, b.body.truncated));
}
