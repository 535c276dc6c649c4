/**
 * Socket-level property: random request heads sent to a real proxy listener either get a
 * well-formed answer (the destination's, for a head the strict reference parser accepts; or an
 * error from the table with Proxy-Status), within a bounded time, and a head the reference
 * refuses never reaches the loopback upstream (its connections and requests are counted).
 * `npm run fuzz` runs it for much longer (test/helpers/fuzz.ts).
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { recordChannel, startProxy, type ProxyHandle, type ProxyRecord } from '../../../src/index.js';
import { ERROR_TABLE, isErrorCode } from '../../../src/model/error-table.js';
import { startCountingUpstream, type CountingUpstream } from '../../helpers/counting-upstream.js';
import { fuzzParams } from '../../helpers/fuzz.js';
import { referenceHead, requestHead } from './request-heads.js';

/** Far above what a loopback exchange takes; reaching it means the proxy left the client hanging. */
const CASE_TIMEOUT_MS = 5000;
/** The port the generator writes; each case puts its upstream's in its place. */
const PORT = 65001;
const ERROR_STATUSES = new Set(Object.values(ERROR_TABLE).filter((s) => !s.outcomeOnly).map((s) => s.status));

/**
 * How long a head may wait for an answer before the client says it has sent everything (a
 * half-close): an incomplete head is only answered then. Node's server drops a request whose
 * client half-closes (as squid does by default), so a valid head answered later than this
 * may end with no answer; an invalid one is refused as soon as it is parsed.
 */
const GRACE_MS = 50;

/**
 * Sends `bytes` and reads the first answer: a 2xx head (forwarded; its body is the
 * destination's business) or an error response to its close. Half-closes after GRACE_MS of
 * silence; `hung` when neither an answer nor a close came within CASE_TIMEOUT_MS.
 */
function exchange(port: number, bytes: Buffer): Promise<{ data: string; hung: boolean; halfClosed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let data = '';
    let halfClosed = false;
    const done = (hung: boolean) => {
      clearTimeout(grace);
      clearTimeout(bound);
      socket.destroy();
      resolve({ data, hung, halfClosed });
    };
    const grace = setTimeout(() => {
      halfClosed = true;
      socket.end();
    }, GRACE_MS);
    const bound = setTimeout(() => done(true), CASE_TIMEOUT_MS);
    socket.setEncoding('latin1').on('data', (d: string) => {
      clearTimeout(grace);
      data += d;
      if (/^HTTP\/1\.1 2\d\d [^]*?\r\n\r\n/.test(data)) done(false);
    });
    // A reset after the answer (the proxy closing on unread bytes) is an ending like any other.
    socket.on('error', () => undefined);
    socket.once('close', () => done(false));
    socket.write(bytes);
  });
}

describe('property: request heads on a real listener', () => {
  /**
   * Three upstreams, one per case in turn: a valid request the client gave up on may still
   * reach its upstream a little after its case ended, and must not be counted against the next.
   */
  let upstreams: CountingUpstream[] = [];
  let upstream: CountingUpstream;
  let turn = 0;
  let proxy: ProxyHandle;
  let published = 0;
  let previous = '';
  const onRecord = (r: unknown) => {
    if ((r as ProxyRecord).instance === proxy.instance) published++;
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /**
   * Waits until the last exchange is over: its one record published (a blank one publishes
   * none) and the upstream quiet, so that bytes a tunnel or an abandoned request still had on
   * the way are not counted against the next case.
   */
  async function settled(records: number | undefined): Promise<void> {
    for (let i = 0; i < 300 && records === published; i++) await sleep(10);
    const lastActivity = () => Math.max(...upstreams.map((u) => u.lastActivity));
    for (let i = 0; i < 100 && performance.now() - lastActivity() < 20; i++) await sleep(10);
  }
  before(async () => {
    upstreams = await Promise.all([startCountingUpstream(), startCountingUpstream(), startCountingUpstream()]);
    upstream = upstreams[0]!;
    // Only loopback is allowed: a mutated host is refused by name, before any DNS, and a
    // mutated address is refused, so nothing leaves the machine.
    const loopback = { action: 'allow' as const, hosts: ['localhost', '127.0.0.1', '::1'] };
    proxy = await startProxy({ listen: '127.0.0.1:0', admin: 'off', policy: { default: 'deny', allowPrivate: true, connectPorts: upstreams.map((u) => u.port), rules: [loopback] } });
    recordChannel.subscribe(onRecord);
  });
  after(async () => {
    recordChannel.unsubscribe(onRecord);
    await proxy?.close(0);
    await Promise.all(upstreams.map((u) => u.close()));
  });

  test('answered well-formed and in time; forwarded only when the head is valid', async () => {
    await fc.assert(
      fc.asyncProperty(requestHead(PORT), async (generated) => {
        upstream = upstreams[turn++ % upstreams.length]!;
        const head = generated.replaceAll(String(PORT), String(upstream.port));
        const bytes = Buffer.from(head, 'latin1');
        const ref = referenceHead(bytes.toString('latin1'));
        const blank = /^[\r\n]*$/.test(bytes.toString('latin1'));
        await settled(undefined);
        const seen = { connections: upstream.connections, requests: upstream.requests, records: published };
        const { data, hung, halfClosed } = await exchange(proxy.address.port, bytes);
        await settled(blank ? undefined : seen.records);
        assert.equal(hung, false, `no answer and no close within ${CASE_TIMEOUT_MS} ms; got ${JSON.stringify(data.slice(0, 200))}`);
        const contacted = upstream.connections !== seen.connections || upstream.requests !== seen.requests;
        if (!ref) assert.equal(contacted, false, `a head the reference refuses reached the upstream ${JSON.stringify({ seen, now: { c: upstream.connections, r: upstream.requests }, previous, data: data.slice(0, 100) })}`);
        previous = head;
        if (data === '') {
          // Nothing to answer (no request line was started), or a valid request the client gave up on.
          if (!ref) assert.ok(blank, 'closed without an answer');
          assert.equal(halfClosed, true, 'closed without an answer before the client was done');
          return;
        }
        const status = /^HTTP\/1\.1 (\d{3}) [^\r\n]*\r\n/.exec(data);
        assert.ok(status, `not an HTTP/1.1 status line: ${JSON.stringify(data.slice(0, 120))}`);
        const code = Number(status[1]);
        if (code === 200) {
          assert.ok(ref, 'answered 200 to a head the reference refuses');
          assert.equal(contacted, true, '200 without the upstream');
          return;
        }
        assert.ok(ERROR_STATUSES.has(code), `status ${code} is not one of the error table's`);
        const headEnd = data.indexOf('\r\n\r\n');
        assert.match(data.slice(0, headEnd), /\r\nProxy-Status: egresskit; error=[a-z_]+/);
      }),
      fuzzParams(150, 20),
    );
    // The generator reaches both sides: heads that were forwarded and heads that were refused.
    const forwarded = upstreams.reduce((n, u) => n + u.requests, 0);
    assert.ok(forwarded > 0 && published > forwarded, `forwarded ${forwarded} of ${published}`);
  });

  test('every record names its error with a code from the table, and the proxy still serves', async () => {
    for (const r of proxy.records()) assert.ok(r.error === undefined || isErrorCode(r.error), JSON.stringify(r));
    const before = upstream.requests;
    const { data } = await exchange(proxy.address.port, Buffer.from(`GET http://127.0.0.1:${upstream.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`));
    assert.match(data, /^HTTP\/1\.1 200 /);
    assert.equal(upstream.requests, before + 1);
  });
});
