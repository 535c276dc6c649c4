import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startProxy, type ConfigInput, type ProxyHandle, type ProxyRecord } from '../../../src/index.js';
import { connectTunnel, startEchoHost, startSharedHost, tlsThrough, type SharedHost } from '../../helpers/fronting.js';

/** The record of the next tunnel this proxy finishes. */
async function nextRecord(proxy: ProxyHandle, stream: AsyncIterableIterator<ProxyRecord>): Promise<ProxyRecord> {
  const r = await stream.next();
  assert.ok(!r.done, 'the proxy closed before publishing a record');
  return r.value;
}

describe('SNI check on forward tunnels (no decryption)', () => {
  let host: SharedHost;
  let echo: Awaited<ReturnType<typeof startEchoHost>>;
  const proxies: ProxyHandle[] = [];
  const start = async (sni: ConfigInput['sni'], rules: NonNullable<ConfigInput['policy']>['rules'] = []) => {
    const p = await startProxy({
      listen: '127.0.0.1:0',
      admin: 'off',
      policy: { allowPrivate: true, connectPorts: [host.port, echo.port], rules },
      sni: { ports: [host.port, echo.port], ...sni },
    });
    proxies.push(p);
    return p;
  };
  before(async () => {
    host = await startSharedHost();
    echo = await startEchoHost();
  });
  after(async () => {
    for (const p of proxies) await p.close(0);
    await host?.close();
    await echo?.close();
  });

  it('report (the default): a server name other than the CONNECT host goes through, recorded with both names', async () => {
    const proxy = await start({});
    const records = proxy.recordStream({ replay: false });
    const tunnel = await connectTunnel(proxy.address.port, `localhost:${host.port}`);
    const answer = await tlsThrough(tunnel, { servername: 'fronted.test', ca: host.caPem });
    assert.match(answer, /^HTTP\/1.1 200/);
    const r = await nextRecord(proxy, records);
    assert.equal(r.target, `localhost:${host.port}`);
    assert.equal(r.sni, 'fronted.test');
    assert.equal(r.tls, true);
    assert.equal(r.sniMismatch, true);
    assert.equal(r.error, undefined);
    assert.ok(r.bytesUp > 0);
  });

  it('enforce: the tunnel is closed after a TLS alert (unrecognized_name), and the destination receives none of its bytes', async () => {
    const proxy = await start({ check: 'enforce' });
    const records = proxy.recordStream({ replay: false });
    const before = host.received.length;
    const handshakes = host.names.length;
    const tunnel = await connectTunnel(proxy.address.port, `localhost:${host.port}`);
    await assert.rejects(tlsThrough(tunnel, { servername: 'fronted.test', ca: host.caPem }), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'ERR_SSL_TLSV1_UNRECOGNIZED_NAME', String(err));
      return true;
    });
    const r = await nextRecord(proxy, records);
    assert.equal(r.error, 'sni_mismatch');
    assert.match(r.errorDetail ?? '', /"fronted\.test" differs from the CONNECT host localhost/);
    assert.equal(r.sni, 'fronted.test');
    assert.equal(r.sniMismatch, true);
    // The destination was dialled (before the 200) but received not one byte.
    await sleep(50);
    assert.equal(host.received.length, before + 1);
    assert.equal(host.received[before], 0);
    assert.equal(host.names.length, handshakes, 'no handshake reached the destination');
  });

  it('enforce: the same name in another case, with a trailing dot, or no server name at all goes through', async () => {
    const proxy = await start({ check: 'enforce' });
    const records = proxy.recordStream({ replay: false });
    for (const servername of ['LocalHost', 'localhost.']) {
      const tunnel = await connectTunnel(proxy.address.port, `localhost:${host.port}`);
      // Node refuses a servername with a trailing dot only in checkServerIdentity: compare ourselves.
      const answer = await tlsThrough(tunnel, { servername, ca: host.caPem, checkServerIdentity: () => undefined });
      assert.match(answer, /^HTTP\/1.1 200/, servername);
      const r = await nextRecord(proxy, records);
      assert.equal(r.sni, servername);
      assert.equal(r.sniMismatch, undefined);
      assert.equal(r.error, undefined);
    }
    const tunnel = await connectTunnel(proxy.address.port, `localhost:${host.port}`);
    // servername '' sends no server_name extension; the certificate is still checked against "localhost".
    assert.match(await tlsThrough(tunnel, { servername: '', host: 'localhost', ca: host.caPem }), /^HTTP\/1.1 200/);
    const r = await nextRecord(proxy, records);
    assert.equal(r.tls, 'no-sni');
    assert.equal(r.sni, undefined);
    assert.equal(r.error, undefined);
  });

  it('a rule may enforce for its hosts while the proxy only reports; off does not look at all', async () => {
    const proxy = await start({ check: 'report' }, [{ id: 'strict', action: 'allow', hosts: ['localhost'], sniCheck: 'enforce' }]);
    const records = proxy.recordStream({ replay: false });
    const tunnel = await connectTunnel(proxy.address.port, `localhost:${host.port}`);
    await assert.rejects(tlsThrough(tunnel, { servername: 'fronted.test', ca: host.caPem }));
    assert.equal((await nextRecord(proxy, records)).error, 'sni_mismatch');

    const off = await start({ check: 'off' });
    const offRecords = off.recordStream({ replay: false });
    const t2 = await connectTunnel(off.address.port, `localhost:${host.port}`);
    assert.match(await tlsThrough(t2, { servername: 'fronted.test', ca: host.caPem }), /^HTTP\/1.1 200/);
    const r = await nextRecord(off, offRecords);
    assert.equal(r.tls, undefined);
    assert.equal(r.sni, undefined);
  });

  it('a ClientHello sent together with the CONNECT (in the same packet) is checked too', async () => {
    const proxy = await start({ check: 'enforce' });
    const records = proxy.recordStream({ replay: false });
    const hello = await captureClientHello('fronted.test');
    const before = host.received.length;
    const tunnel = await connectTunnel(proxy.address.port, `localhost:${host.port}`, { head: hello });
    tunnel.resume();
    await new Promise((resolve) => tunnel.once('close', resolve));
    const r = await nextRecord(proxy, records);
    assert.equal(r.error, 'sni_mismatch');
    assert.equal(host.received[before], 0);
  });

  it('a tunnel that is not TLS is recorded as such and passes, unless TLS is required (then nothing reaches the destination)', async () => {
    const proxy = await start({ check: 'enforce' });
    const records = proxy.recordStream({ replay: false });
    const tunnel = await connectTunnel(proxy.address.port, `localhost:${echo.port}`);
    tunnel.write('hello\n');
    tunnel.setEncoding('latin1');
    const [echoed] = (await onceData(tunnel)) as [string];
    assert.equal(echoed, 'hello\n');
    tunnel.end();
    const r = await nextRecord(proxy, records);
    assert.equal(r.tls, false);
    assert.equal(r.error, undefined);

    const strict = await start({ check: 'report', requireTls: true });
    const strictRecords = strict.recordStream({ replay: false });
    const before = echo.received.length;
    const t2 = await connectTunnel(strict.address.port, `localhost:${echo.port}`);
    t2.write('hello\n');
    t2.resume();
    await new Promise((resolve) => t2.once('close', resolve));
    const r2 = await nextRecord(strict, strictRecords);
    assert.equal(r2.error, 'tls_required');
    assert.equal(r2.tls, false);
    assert.equal(echo.received[before], 0);
  });

  it('bounds: a record longer than TLS allows is settled at once; a ClientHello that stops halfway at the time bound', async () => {
    const proxy = await start({ check: 'enforce', peekTimeout: 300 });
    const records = proxy.recordStream({ replay: false });
    const t1 = await connectTunnel(proxy.address.port, `localhost:${host.port}`);
    t1.write(Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]));
    t1.resume();
    const r1 = await nextRecord(proxy, records);
    assert.equal(r1.error, 'sni_mismatch');
    assert.match(r1.errorDetail ?? '', /claims 65535 bytes/);

    const hello = await captureClientHello('localhost');
    const t2 = await connectTunnel(proxy.address.port, `localhost:${host.port}`);
    const started = performance.now();
    t2.write(hello.subarray(0, 20));
    t2.resume();
    const r2 = await nextRecord(proxy, records);
    assert.equal(r2.error, 'sni_mismatch');
    assert.match(r2.errorDetail ?? '', /not complete after 300 ms/);
    assert.ok(performance.now() - started >= 250);
    assert.equal(r2.tls, true);
  });

  it('a silent client is not held: after the time bound it is a tunnel that is not TLS', async () => {
    const proxy = await start({ check: 'enforce', peekTimeout: 200 });
    const records = proxy.recordStream({ replay: false });
    const tunnel = await connectTunnel(proxy.address.port, `localhost:${echo.port}`);
    await sleep(400);
    tunnel.write('late\n');
    tunnel.setEncoding('latin1');
    const [echoed] = (await onceData(tunnel)) as [string];
    assert.equal(echoed, 'late\n');
    tunnel.end();
    const r = await nextRecord(proxy, records);
    assert.equal(r.tls, false);
    assert.equal(r.error, undefined);
  });
});

/** The next chunk (connectTunnel leaves the socket paused, so that nothing is lost before a reader attaches). */
function onceData(s: NodeJS.ReadableStream): Promise<unknown[]> {
  const got = new Promise<unknown[]>((resolve) => s.once('data', (...args: unknown[]) => resolve(args)));
  s.resume();
  return got;
}

/** The bytes of a real ClientHello (Node's own) for `servername`, captured from a throwaway server. */
async function captureClientHello(servername: string): Promise<Buffer> {
  const { createServer, connect } = await import('node:net');
  const { connect: tls } = await import('node:tls');
  return new Promise((resolve) => {
    const server = createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
        server.close();
      });
    }).listen(0, '127.0.0.1', () => {
      const raw = connect((server.address() as { port: number }).port, '127.0.0.1');
      const c = tls({ socket: raw, servername });
      c.on('error', () => undefined);
    });
  });
}
