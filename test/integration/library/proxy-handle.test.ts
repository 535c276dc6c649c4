import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetch } from 'undici';
import { attachRecordBuffer, STREAM_BACKLOG_LIMIT } from '../../../src/control/record-buffer.js';
import { egressProxyAgent, recordChannel, startProxy, type ProxyHandle, type ProxyRecord } from '../../../src/index.js';
import { newRecord } from '../../../src/model/record.js';
import { makeTestPki } from '../../helpers/pki.js';
import { startHttpsUpstream, startHttpUpstream, type Upstream } from '../../helpers/upstream.js';

/** An absolute-URI GET through the proxy; resolves with the status once the body has ended. */
function viaProxy(proxy: ProxyHandle, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: proxy.address.port, path: url, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Records are published when the exchange ends, just after the client saw the body. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

describe('the library as a test helper: records(), recordStream(), flows()', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startHttpUpstream();
  });
  after(async () => {
    await upstream?.close();
  });
  const config = () => ({ listen: '127.0.0.1:0', admin: 'off', policy: { allowPrivate: true, connectPorts: [upstream.port] } });

  it('records() holds this proxy\'s records, oldest first, bounded by keepRecords', async () => {
    const proxy = await startProxy(config(), { keepRecords: 3 });
    const other = await startProxy(config());
    try {
      for (let i = 1; i <= 5; i++) assert.equal(await viaProxy(proxy, `${upstream.origin}/echo/${i}`), 200);
      assert.equal(await viaProxy(other, `${upstream.origin}/echo/other`), 200);
      await until(() => proxy.records().length === 3 && proxy.records()[2]?.url?.endsWith('/5') === true, 'the last record arrives');
      assert.deepEqual(
        proxy.records().map((r) => r.url),
        [3, 4, 5].map((i) => `${upstream.origin}/echo/${i}`),
      );
      assert.ok(proxy.records().every((r) => r.instance === proxy.instance && r.decision?.verdict === 'allow' && r.status === 200));
      await until(() => other.records().length === 1, 'the other proxy has its own record');
      assert.equal(other.records()[0]!.url, `${upstream.origin}/echo/other`);
    } finally {
      await proxy.close(0);
      await other.close(0);
    }
  });

  it('recordStream() yields the kept records, then new ones, and ends when the proxy closes', async () => {
    const proxy = await startProxy(config());
    await viaProxy(proxy, `${upstream.origin}/echo/before`);
    await until(() => proxy.records().length === 1, 'first record');
    const seen: ProxyRecord[] = [];
    const reading = (async () => {
      for await (const r of proxy.recordStream()) seen.push(r);
    })();
    await viaProxy(proxy, `${upstream.origin}/echo/after`);
    await until(() => seen.length === 2, 'the live record reaches the stream');
    await proxy.close(0);
    await reading;
    assert.deepEqual(
      seen.map((r) => r.url),
      [`${upstream.origin}/echo/before`, `${upstream.origin}/echo/after`],
    );
    // A stream opened after close replays what was kept, then ends at once (or yields nothing without replay).
    const none: ProxyRecord[] = [];
    for await (const r of proxy.recordStream({ replay: false })) none.push(r);
    assert.equal(none.length, 0);
    const late: ProxyRecord[] = [];
    for await (const r of proxy.recordStream()) late.push(r);
    assert.equal(late.length, 2);
  });

  it('breaking out of recordStream() stops that reader', async () => {
    const proxy = await startProxy(config());
    try {
      await viaProxy(proxy, `${upstream.origin}/echo/one`);
      await until(() => proxy.records().length === 1, 'record');
      for await (const r of proxy.recordStream()) {
        assert.match(r.url ?? '', /\/one$/);
        break;
      }
    } finally {
      await proxy.close(0);
    }
  });

  it('a stream that falls too far behind fails instead of holding everything', async () => {
    const buffer = attachRecordBuffer('lagging', 0);
    try {
      const stream = buffer.stream();
      for (let i = 0; i <= STREAM_BACKLOG_LIMIT; i++) recordChannel.publish(newRecord('lagging', 'connect', '127.0.0.1:1'));
      let read = 0;
      await assert.rejects(async () => {
        for await (const r of stream) if (r) read++;
      }, /fell more than 10000 records behind/);
      assert.equal(read, STREAM_BACKLOG_LIMIT, 'what was queued is still read first');
      assert.equal(buffer.list().length, 0, 'keepRecords 0 keeps none');
    } finally {
      buffer.end();
    }
  });

  it('flows() lists inspect mode\'s flows oldest first, and says why in other modes', async () => {
    const pki = await makeTestPki();
    const https = await startHttpsUpstream(pki.serverCert, pki.serverKey);
    const caDir = await mkdtemp(join(tmpdir(), 'egk-lib-ca-'));
    const proxy = await startProxy({
      mode: 'inspect',
      listen: '127.0.0.1:0',
      admin: 'off',
      inspect: { ui: 'off', caDir, upstreamCa: [pki.caFile] },
      policy: { allowPrivate: true, connectPorts: [https.port] },
    });
    const forward = await startProxy(config());
    try {
      const dispatcher = egressProxyAgent({ proxy: proxy.url, targetCa: await readFile(join(caDir, 'ca.crt'), 'utf8') });
      for (const path of ['/echo?first', '/echo?second']) {
        const res = await fetch(`${https.origin}${path}`, { dispatcher });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
      }
      await dispatcher.close();
      await until(() => proxy.flows().length === 2, 'two flows');
      assert.deepEqual(
        proxy.flows().map((f) => new URL(f.request.url, 'https://x').search),
        ['?first', '?second'],
      );
      assert.throws(() => forward.flows(), /flows\(\) needs interception .*runs forward/);
    } finally {
      await proxy.close(0);
      await forward.close(0);
      await https.close();
    }
  });
});
