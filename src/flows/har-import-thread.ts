import { parentPort, workerData } from 'node:worker_threads';
import { flowsFromHar } from './har-import.js';

// Runs in a worker: parsing and checking a large HAR takes seconds the proxy's event loop must not lose.
const bytes = workerData as Uint8Array;
parentPort!.postMessage(flowsFromHar(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')));
