import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import { BodyTextCache } from '../../../../src/flows/flow-subject.js';
import type { Flow } from '../../../../src/flows/flow.js';
import { compileFilter } from '../../../../src/flows/filter/match.js';
import { parseFilter } from '../../../../src/flows/filter/parse.js';
import { selectFlows } from '../../../../src/flows/select-flows.js';
import { body, makeFlow, makeWebSocketFlow } from '../../inspect/flows/make-flow.js';

async function ids(filter: string, flows: Flow[], cache = new BodyTextCache()): Promise<string[]> {
  const r = parseFilter(filter);
  assert.ok(r.ok, `${filter}: ${r.ok ? '' : r.error}`);
  const out = await selectFlows(flows, compileFilter(r.ast), { cache });
  return out.flows.map((f) => f.id);
}

const zstdCompressSync = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync;

describe('filter matcher: one row per operator', () => {
  const api = makeFlow({ method: 'POST', host: 'api.example.com', url: '/v1/orders?id=7', requestHeaders: [['User-Agent', 'curl/8.5'], ['Content-Type', 'application/json']], requestBody: body('{"card":"4242"}'), status: 201, responseHeaders: [['Content-Type', 'application/json; charset=utf-8']], responseBody: body('{"created":true}') });
  api.identity = 'spiffe://cluster.local/ns/shop/sa/checkout';
  api.decision = { verdict: 'allowed', ruleId: 'shop-egress', reason: 'allowed by rule shop-egress' };
  const broken = makeFlow({ host: 'down.example.org', url: '/health', status: 503, responseHeaders: [['Content-Type', 'text/plain'], ['Retry-After', '5']], responseBody: body('Service Unavailable: upstream error') });
  broken.client = '10.0.3.7:5555';
  broken.request.httpVersion = '2';
  const denied = makeFlow({ host: '169.254.169.254', url: '/latest/meta-data', status: 403, responseBody: body('') });
  denied.kind = 'tunnel';
  denied.decision = { verdict: 'denied', ruleId: 'block-metadata', reason: 'metadata address' };
  const report = makeFlow({ host: 'tracker.example.net', status: 404 });
  report.decision = { verdict: 'would-deny', ruleId: 'no-trackers', reason: 'report mode' };
  report.passthrough = true;
  const failed = makeFlow({ host: 'expired.example', status: null, error: { code: 'upstream_tls', message: 'certificate has expired' } });
  const ws = makeWebSocketFlow();
  const imported = makeFlow({ host: 'har.example', status: 200 });
  imported.imported = true;
  const gz = makeFlow({ host: 'gz.example', responseHeaders: [['Content-Encoding', 'gzip']], responseBody: body(gzipSync('hidden needle in gzip')) });
  const br = makeFlow({ host: 'br.example', responseHeaders: [['Content-Encoding', 'br']], responseBody: body(brotliCompressSync('hidden needle in brotli')) });
  const df = makeFlow({ host: 'df.example', responseHeaders: [['Content-Encoding', 'deflate']], responseBody: body(deflateSync('hidden needle in deflate')) });
  const raw = makeFlow({ host: 'raw.example', responseHeaders: [['Content-Encoding', 'deflate']], responseBody: body(deflateRawSync('hidden needle raw deflate')) });
  const both = makeFlow({ host: 'both.example', responseHeaders: [['Content-Encoding', 'deflate, gzip']], responseBody: body(gzipSync(deflateSync('hidden needle two codings'))) });
  const bin = makeFlow({ host: 'bin.example', responseHeaders: [['Content-Type', 'application/octet-stream']], responseBody: body(Buffer.concat([Buffer.from([0, 0xff, 0xfe]), Buffer.from('MAGIC')])) });
  const all = [api, broken, denied, report, failed, ws, imported, gz, br, df, raw, both, bin];
  const id = (...fs: Flow[]) => fs.map((f) => f.id);
  const cases: Array<[string, Flow[]]> = [
    ['~d example.com', [api]],
    ['~d EXAMPLE.ORG', [broken]],
    ['~u /v1/orders?id=7', [api]],
    ['~u https://down.example.org/health', [broken]],
    ['~m post', [api]],
    ['~m GE', []],
    ['~c 201', [api]],
    ['~c 5xx', [broken]],
    ['~c 40x', [denied, report]],
    ['~c 10x', [ws]],
    ['~h curl', [api]],
    ['~h "user-agent: curl"', [api]],
    ['~h user-agent curl', [api]],
    ['~h user-agent wget', []],
    ['~h user curl', []],
    ['~hq retry-after', []],
    ['~hs retry-after 5', [broken]],
    ['~b 4242', [api]],
    ['~bq created', []],
    ['~bs CREATED', [api]],
    ['~bs needle', [gz, br, df, raw, both]],
    ['~b magic', [bin]],
    ['~t charset=utf-8', [api]],
    ['~tq json', [api]],
    ['~ts text/plain', [broken]],
    ['~i spiffe://cluster.local/ns/shop/', [api]],
    ['~src 10.0.3.', [broken]],
    ['~x allowed', [api]],
    ['~x denied', [denied]],
    ['~denied', [denied]],
    ['~x would-deny', [report]],
    ['~rule metadata', [denied]],
    ['~p h2', [broken]],
    ['~p ws', [ws]],
    ['~websocket', [ws]],
    ['~p tunnel', [denied]],
    ['~e', [failed]],
    ['~q', [failed]],
    ['~passthrough', [report]],
    ['~imported', [imported]],
    ['!~imported & ~d har', []],
    ['checkout', [api]],
    ['retry-after', [broken]],
    ['503', [broken]],
    ['needle', []],
    ['~d example.com & ~c 2xx', [api]],
    ['~d example.com & ~c 5xx', []],
    ['~b "upstream error" | ~c 4xx', [broken, denied, report]],
    ['~m POST & !~h user-agent curl', []],
    ['!(~s | ~q)', []],
  ];
  for (const [filter, expected] of cases) {
    test(filter, async () => assert.deepEqual(await ids(filter, all), id(...expected)));
  }

  test('~all and the empty filter match everything', async () => {
    assert.deepEqual(await ids('~all', all), id(...all));
    assert.deepEqual(await ids('', all), id(...all));
    assert.deepEqual(await ids('~s', all).then((x) => x.length), all.length - 1);
  });

  test('zstd bodies are decoded where node:zlib has zstd (Node 22.15+), else searched as sent', async () => {
    if (!zstdCompressSync) {
      const z = makeFlow({ responseHeaders: [['Content-Encoding', 'zstd']], responseBody: body(Buffer.from('28b52ffd0058290000', 'hex')) });
      assert.deepEqual(await ids('~bs needle', [z]), []);
      return;
    }
    const z = makeFlow({ responseHeaders: [['Content-Encoding', 'zstd']], responseBody: body(zstdCompressSync(Buffer.from('hidden needle in zstd'))) });
    assert.deepEqual(await ids('~bs needle', [z]), [z.id]);
  });
});

describe('body decoding bounds', () => {
  test('a gzip bomb past 16 MiB decoded (the HAR limit) is searched as sent, not inflated', async () => {
    const bomb = Buffer.concat([Buffer.alloc(17 * 1024 * 1024, 0x61), Buffer.from('needle')]);
    const f = makeFlow({ responseHeaders: [['Content-Encoding', 'gzip']], responseBody: body(gzipSync(bomb)) });
    const cache = new BodyTextCache();
    assert.deepEqual(await ids('~bs needle', [f], cache), []);
    assert.deepEqual(await ids('~bs aaaa', [f], cache), []);
  });

  test('a truncated gzip capture still decodes its prefix', async () => {
    const full = gzipSync(Buffer.from(`start needle ${randomBytes(50_000).toString('hex')}`));
    const f = makeFlow({ responseHeaders: [['Content-Encoding', 'gzip']], responseBody: body(full, 200) });
    assert.ok(f.response!.body.truncated);
    assert.deepEqual(await ids('~bs "start needle"', [f]), [f.id]);
  });

  test('the text cache keeps to its budget, dropping the least recently used', async () => {
    const cache = new BodyTextCache(100);
    const flows = Array.from({ length: 10 }, (_, i) => makeFlow({ responseBody: body(`${i}`.repeat(40)) }));
    await ids('~bs zzz', flows, cache);
    assert.equal(cache.size, 2, 'two 40-character texts fit in 100');
  });

  test('an and/or tries the side without bodies first: an encoded body is never decoded when the rest decides', async () => {
    let decodes = 0;
    const f = makeFlow({ host: 'nope.example', responseHeaders: [['Content-Encoding', 'gzip']], responseBody: body(gzipSync('needle')) });
    const cache = new BodyTextCache();
    const spy = cache.set.bind(cache);
    cache.set = (b, t) => {
      decodes++;
      spy(b, t);
    };
    assert.deepEqual(await ids('~bs needle & ~d api.example', [f], cache), []);
    assert.deepEqual(await ids('~bs needle | ~d nope', [f], cache), [f.id]);
    assert.equal(decodes, 0);
    assert.deepEqual(await ids('~bs needle & ~d nope', [f], cache), [f.id]);
    assert.equal(decodes, 1);
  });

  test('a selection stops when its client has gone (cancelled), with what it found so far', async () => {
    const flows = Array.from({ length: 500 }, () => makeFlow({ host: 'x.example' }));
    let checks = 0;
    const parsed = parseFilter('~d x.example');
    assert.ok(parsed.ok);
    const r = await selectFlows(flows, compileFilter(parsed.ast), {
      cache: new BodyTextCache(),
      cancelled: () => ++checks > 2,
    });
    assert.equal(r.flows.length, 128, 'two chunks of 64 were looked at');
  });
});
