// Every URL is relative: the app works under any base path the server is given.

// The JSON shapes are the server's own declarations (types only: nothing of them is bundled).
export type { BodyJson, FlowDetail, FlowSummary, HeaderList, Verdict, WebSocketMessageJson } from '../../src/ui/wire.js';
import type { FlowSummary } from '../../src/ui/wire.js';

export interface Meta {
  version: string;
  mode: string;
  proxy: string;
  caFingerprint: string | null;
  basePath: string;
  tokenRequired: boolean;
}

/** A filter the server could not parse: what is wrong and where (0-based character offset). */
export interface FilterError {
  error: string;
  position: number;
  filter: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return new ApiError(res.status, typeof body.error === 'string' ? body.error : text, body);
  } catch {
    return new ApiError(res.status, text.trim() || `${res.status} ${res.statusText}`);
  }
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

export async function getText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw await errorOf(res);
  return res.text();
}

export async function send<T>(method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<T | null> {
  const init: RequestInit = { method, headers: { 'content-type': contentType } };
  if (body !== undefined) init.body = typeof body === 'string' || body instanceof Blob ? body : JSON.stringify(body);
  const res = await fetch(url, init);
  if (!res.ok) throw await errorOf(res);
  return res.status === 204 ? null : ((await res.json()) as T);
}

export const filterQuery = (filter: string): string => `filter=${encodeURIComponent(filter)}`;

export interface FlowList {
  flows: FlowSummary[];
  total: number;
  matched?: number;
}

/** The whole filtered list, newest first; a bad filter rejects with a FilterError. */
export async function listFlows(filter: string, limit = 1_000_000): Promise<FlowList> {
  const res = await fetch(`api/flows?${filterQuery(filter)}&limit=${limit}`, { headers: { accept: 'application/json' } });
  if (res.status === 400) {
    const err = await errorOf(res);
    if (typeof err.body.position === 'number') throw { error: err.message, position: err.body.position, filter } satisfies FilterError;
    throw err;
  }
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as FlowList;
}

export function isFilterError(e: unknown): e is FilterError {
  return typeof e === 'object' && e !== null && 'position' in e && 'error' in e && !(e instanceof Error);
}

export interface BodyBytes {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
  size: number;
  truncated: boolean;
  /** Set when the body could not be decoded (the raw bytes are shown instead). */
  decodeError?: string;
  decoded?: string;
}

/** A body, decoded from its Content-Encoding by the server (off its event loop). */
export async function bodyBytes(id: string, which: 'request' | 'response'): Promise<BodyBytes> {
  const base = `api/flows/${encodeURIComponent(id)}/${which}/body`;
  let res = await fetch(`${base}?decoded=1`);
  let decodeError: string | undefined;
  if (res.status === 422) {
    decodeError = (await errorOf(res)).message;
    res = await fetch(base);
  }
  if (!res.ok) throw await errorOf(res);
  const out: BodyBytes = {
    bytes: new Uint8Array(await res.arrayBuffer()),
    contentType: res.headers.get('x-egresskit-content-type') ?? '',
    size: Number(res.headers.get('x-egresskit-body-size') ?? 0),
    truncated: res.headers.get('x-egresskit-truncated') === 'true',
  };
  const decoded = res.headers.get('x-egresskit-decoded');
  if (decoded && decoded !== 'identity') out.decoded = decoded;
  if (decodeError) out.decodeError = decodeError;
  return out;
}
