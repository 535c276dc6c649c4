import { Worker } from 'node:worker_threads';
import type { CapturedBody, Flow } from './flow.js';
import type { HarImport } from './har-import.js';

const THREAD = new URL('./har-import-thread.js', import.meta.url);

/**
 * flowsFromHar in a worker thread. The bytes are moved to the worker, not copied; the flows come
 * back by structured clone, which turns each Buffer into a plain Uint8Array: made Buffers again.
 */
export function flowsFromHarOffThread(bytes: Buffer): Promise<HarImport> {
  return new Promise((resolve, reject) => {
    const copy = new Uint8Array(bytes);
    const worker = new Worker(THREAD, { workerData: copy, transferList: [copy.buffer] });
    let settled = false;
    worker.once('message', (result: HarImport) => {
      settled = true;
      if ('flows' in result) for (const f of result.flows) revive(f);
      resolve(result);
      void worker.terminate();
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`the HAR import thread stopped (exit ${code})`));
    });
  });
}

function buf(b: CapturedBody): void {
  const u = b.captured as unknown as Uint8Array;
  b.captured = Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function revive(f: Flow): void {
  buf(f.request.body);
  if (f.response) buf(f.response.body);
  for (const m of f.websocket?.messages ?? []) buf(m.data);
}
