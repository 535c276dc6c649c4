import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { Socket } from 'node:net';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { openSocket } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const DOWNLOAD_MIB = 256;
const TUNNELS = 2;

// Samples the proxy's own memory every 10 ms and writes the peaks when it exits.
const SAMPLER = `
import { writeFileSync } from 'node:fs';
const peak = { arrayBuffers: 0, rss: 0 };
setInterval(() => {
  const m = process.memoryUsage();
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  peak.rss = Math.max(peak.rss, m.rss);
}, 10).unref();
process.on('exit', () => writeFileSync(process.env.EGRESSKIT_TEST_PEAK_FILE, JSON.stringify(peak)));
`;

describe('relay: a bulk download reuses its buffers', () => {
  // 1 MiB of random bytes sent from a different offset each time, so a byte the relay took
  // from a reused buffer too early (another read's) changes the digest.
  const pattern = randomBytes(MiB);
  const chunkAt = (i: number) => Buffer.concat([pattern.subarray((i * 7919) % MiB), pattern.subarray(0, (i * 7919) % MiB)]);
  const expected = (() => {
    const h = createHash('sha256');
    for (let i = 0; i < DOWNLOAD_MIB; i++) h.update(chunkAt(i));
    return h.digest('hex');
  })();
  let dest: Server;
  let destPort: number;
  let proxy: CliProxy;
  let mtls: CliProxy;
  let certs: string;
  let peakFile: string;
  before(async () => {
    dest = createServer((socket) => {
      socket.on('error', () => undefined);
      let i = 0;
      const pump = () => {
        while (i < DOWNLOAD_MIB) if (!socket.write(chunkAt(i++))) return void socket.once('drain', pump);
        socket.end();
      };
      pump();
    });
    await new Promise<void>((r) => dest.listen(0, '127.0.0.1', r));
    destPort = (dest.address() as AddressInfo).port;
    const dir = await mkdtemp(join(tmpdir(), 'egk-peak-'));
    const sampler = join(dir, 'sampler.mjs');
    peakFile = join(dir, 'peak.json');
    await writeFile(sampler, SAMPLER);
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', String(destPort)], {
      NODE_OPTIONS: `--import ${pathToFileURL(sampler).href}`,
      EGRESSKIT_TEST_PEAK_FILE: peakFile,
    });
    certs = join(dir, 'certs');
    const made = await runCli(['certs', 'mtls', '--out', certs]);
    assert.equal(made.code, 0, made.stderr);
    mtls = await startCli([
      'mtls', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', String(destPort),
      '--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt'),
    ]);
  });
  after(async () => {
    await proxy?.stop();
    await mtls?.stop();
    dest?.close();
  });

  /** CONNECT through `s`, then the whole download's length and SHA-256. */
  const download = async (s: Socket) => {
    s.write(`CONNECT 127.0.0.1:${destPort} HTTP/1.1\r\nHost: 127.0.0.1:${destPort}\r\n\r\n`);
    const h = createHash('sha256');
    let head: Buffer | undefined = Buffer.alloc(0);
    let got = 0;
    // One listener for the head and the body: the destination speaks first, so body bytes may share the head's read.
    await new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        if (head) {
          head = Buffer.concat([head, d]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return;
          assert.match(head.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 200/);
          d = head.subarray(end + 4);
          head = undefined;
        }
        h.update(d);
        got += d.length;
      });
      s.once('end', resolve);
      s.once('error', reject);
    });
    s.destroy();
    return { got, digest: h.digest('hex') };
  };

  it(`moves ${TUNNELS} x ${DOWNLOAD_MIB} MiB intact with the proxy's buffers bounded`, async () => {
    const results = await Promise.all(Array.from({ length: TUNNELS }, async () => download(await openSocket(proxy.port))));
    for (const r of results) {
      assert.equal(r.got, DOWNLOAD_MIB * MiB);
      assert.equal(r.digest, expected, 'the bytes arrived changed');
    }
    await proxy.stop();
    const peak = JSON.parse(await readFile(peakFile, 'utf8')) as { arrayBuffers: number; rss: number };
    // A fresh copy per read piles up 40-80 MiB of buffers before V8 collects them; reused slabs
    // stay at a few MiB (the shared 1 MiB read buffer, a slab or two per tunnel, free slabs).
    assert.ok(peak.arrayBuffers < 20 * MiB, `the proxy held ${(peak.arrayBuffers / MiB).toFixed(1)} MiB of buffers at its peak`);
  });

  it(`moves ${TUNNELS} x ${DOWNLOAD_MIB} MiB intact to TLS clients (mtls: slabs handed to OpenSSL)`, async () => {
    const [ca, cert, key] = await Promise.all(['ca.crt', 'client.crt', 'client.key'].map((f) => readFile(join(certs, f))));
    const open = () =>
      new Promise<Socket>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: mtls.port, servername: 'localhost', ca, cert, key }, () => resolve(s));
        s.once('error', reject);
      });
    const results = await Promise.all(Array.from({ length: TUNNELS }, async () => download(await open())));
    for (const r of results) {
      assert.equal(r.got, DOWNLOAD_MIB * MiB);
      assert.equal(r.digest, expected, 'the bytes arrived changed');
    }
  });
});
