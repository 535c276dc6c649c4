import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { phaseChannels, startProxy, type PhaseEvent, type ProxyHandle } from '../../../src/index.js';
import { startHttpUpstream, type Upstream } from '../../helpers/upstream.js';

describe('phase diagnostics channels', () => {
  let upstream: Upstream;
  let proxy: ProxyHandle;
  before(async () => {
    upstream = await startHttpUpstream();
    proxy = await startProxy({ listen: '127.0.0.1:0', admin: 'off', policy: { allowPrivate: true, connectPorts: [upstream.port] } });
  });
  after(async () => {
    await proxy?.close(0);
    await upstream?.close();
  });

  it('an observer sees the connect and ttfb phases of its own proxy instance, with the record they belong to', async () => {
    const seen: PhaseEvent[] = [];
    const onPhase = (msg: unknown) => {
      const e = msg as PhaseEvent;
      if (e.instance === proxy.instance) seen.push(e);
    };
    phaseChannels.connect.subscribe(onPhase);
    phaseChannels.ttfb.subscribe(onPhase);
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: proxy.address.port, path: `${upstream.origin}/echo`, agent: false }, (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
        });
        req.once('error', reject);
        req.end();
      });
      assert.equal(status, 200);
    } finally {
      phaseChannels.connect.unsubscribe(onPhase);
      phaseChannels.ttfb.unsubscribe(onPhase);
    }
    assert.deepEqual(seen.map((e) => e.phase), ['connect', 'ttfb']);
    for (const e of seen) {
      assert.ok(e.ms >= 0);
      assert.equal(e.record.url, `${upstream.origin}/echo`);
    }
  });
});
