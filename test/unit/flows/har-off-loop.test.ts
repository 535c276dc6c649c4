import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { toHarOffLoop } from '../../../src/flows/har-off-loop.js';
import { toHar } from '../../../src/flows/har.js';
import { body, makeFlow } from '../inspect/flows/make-flow.js';

const creator = { name: 'egresskit', version: 't' };

function flows() {
  const big = gzipSync(Buffer.alloc(17 * 1024 * 1024, 0x61));
  return [
    makeFlow({ responseHeaders: [['Content-Encoding', 'gzip'], ['Content-Type', 'text/plain']], responseBody: body(gzipSync('hello gzip')) }),
    makeFlow({ method: 'POST', requestHeaders: [['Content-Encoding', 'br']], requestBody: body(brotliCompressSync('posted br')), responseHeaders: [['Content-Encoding', 'deflate']], responseBody: body(deflateSync('deflated')) }),
    makeFlow({ responseHeaders: [['Content-Encoding', 'gzip']], responseBody: body(big) }),
    makeFlow({ responseHeaders: [['Content-Encoding', 'gzip']], responseBody: body(Buffer.from('not gzip at all')) }),
    makeFlow({ responseHeaders: [['Content-Encoding', 'gzip']], responseBody: body(gzipSync(`prefix ${'z'.repeat(50_000)}`), 30) }),
    makeFlow({ responseBody: body('plain') }),
  ];
}

test('the off-loop HAR is the same HAR as the synchronous one (limits, errors, truncation)', async () => {
  const f = flows();
  assert.deepEqual(await toHarOffLoop(f, creator), toHar(f, creator));
});

test('decoding for the HAR export lets the event loop run while it inflates', async () => {
  const f = Array.from({ length: 20 }, () => makeFlow({ responseHeaders: [['Content-Encoding', 'gzip']], responseBody: body(gzipSync(Buffer.alloc(1024 * 1024, 0x62))) }));
  let turns = 0;
  const tick = setInterval(() => turns++, 0);
  const har = await toHarOffLoop(f, creator);
  clearInterval(tick);
  assert.equal(har.log.entries.length, 20);
  assert.ok(turns > 0, 'timers fired during the export: it did not hold the loop from start to end');
});
