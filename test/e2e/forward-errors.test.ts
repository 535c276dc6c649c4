import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import { curl } from '../helpers/exec.js';
import { freePort, openSocket, rawExchange, readUntil, statusOf } from '../helpers/raw.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';


describe('forward: upstream failures become clear statuses', () => {
  let http: Upstream;
  let proxy: CliProxy;
  let closedPort: number;
  before(async () => {
    http = await startHttpUpstream();
    closedPort = await freePort();
    const dir = await mkdtemp(join(tmpdir(), 'egk-err-'));
    const config = join(dir, 'egresskit.yaml');
    await writeFile(
      config,
      [
        'policy:',
        '  allowPrivate: true',
        `  connectPorts: [${http.port}, ${closedPort}]`,
        'timeouts:',
        '  idle: 1500ms',
        '  headers: 1s',
        'limits:',
        '  maxConnections: 3',
      ].join('\n'),
    );
    proxy = await startCli(['forward', '--config', config, '--listen', '127.0.0.1:0', '--admin', 'off']);
  });
  after(async () => {
    await proxy?.stop();
    await http?.close();
  });

  it('connection refused: 502 connection_refused with the address', async () => {
    const r = await curl(['-i', '-x', proxy.url, `http://127.0.0.1:${closedPort}/`]);
    assert.equal(r.status, 502);
    assert.match(r.body, /error=connection_refused; details="127\.0\.0\.1:\d+ \(ECONNREFUSED\)"/);
    const t = await rawExchange(proxy.port, `CONNECT 127.0.0.1:${closedPort} HTTP/1.1\r\n\r\n`);
    assert.equal(statusOf(t), 502);
    assert.match(t, /destination refused the connection/);
  });

  it('an upstream that never answers: 504 after the idle timeout', async () => {
    const r = await curl(['-i', '-x', proxy.url, `${http.origin}/hang`]);
    assert.equal(r.status, 504);
    assert.match(r.body, /error=http_response_timeout/);
  });

  it('a client that trickles its headers (slowloris) gets 408 and is closed', async () => {
    const s = await openSocket(proxy.port);
    s.write('GET http://127.0.0.1/ HTTP/1.1\r\n');
    const timer = setInterval(() => s.writable && s.write('X-a: b\r\n'), 200);
    try {
      const res = await readUntil(s, '\r\n\r\n', 8000);
      assert.equal(statusOf(res), 408, res);
    } finally {
      clearInterval(timer);
      s.destroy();
    }
  });

  it('over the connection limit: 429 with Retry-After', async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await openSocket(proxy.port));
      const res = await rawExchange(proxy.port, `CONNECT 127.0.0.1:${http.port} HTTP/1.1\r\n\r\n`);
      assert.equal(statusOf(res), 429, res);
      assert.match(res, /Retry-After: 1/);
      assert.match(res, /error=connection_limit_reached/);
    } finally {
      for (const s of held) s.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await curl(['-x', proxy.url, `${http.origin}/echo`])).status, 200);
  });
});

describe('forward: idle tunnels are closed', () => {
  let silent: Server;
  let proxy: CliProxy;
  before(async () => {
    silent = createServer((s) => s.on('error', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const dir = await mkdtemp(join(tmpdir(), 'egk-idle-'));
    const config = join(dir, 'c.yaml');
    await writeFile(config, `policy: {allowPrivate: true, connectPorts: [${port}]}\ntimeouts: {idle: 500ms}\n`);
    proxy = await startCli(['forward', '-c', config, '--listen', '127.0.0.1:0', '--admin', 'off']);
  });
  after(async () => {
    await proxy?.stop();
    silent?.close();
  });

  it('closes a silent tunnel after timeouts.idle and logs idle_timeout', async () => {
    const port = (silent.address() as AddressInfo).port;
    const s = await openSocket(proxy.port);
    s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`);
    await readUntil(s, '\r\n\r\n');
    await new Promise((r) => s.once('close', r));
    const line = await proxy.waitForLog((l) => l.event === 'connect' && l.error === 'idle_timeout');
    assert.equal(line.status, 200);
  });
});
