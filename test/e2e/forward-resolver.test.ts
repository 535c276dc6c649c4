import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { startCli, type CliProxy } from '../helpers/cli.js';
import type { DnsAnswers } from '../helpers/dns-stub.js';
import { createNetns, destroyNetns, execIn, inNetns, removeStaleNetns, spawnIn } from '../helpers/netns.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { needNetns } from '../helpers/prerequisites.js';

// The proxy runs in a network namespace of the test's own whose resolv.conf names a DNS stub on
// the namespace's loopback (test/helpers/dns-stub.ts): every query the proxy makes is seen, and
// the stub can answer differently each time. No query leaves the namespace.
const PREFIX = 'egk-res-';
const NS = `${PREFIX}${process.pid}`;
const ETC = `/etc/netns/${NS}`;
const STUB = join(REPO_ROOT, 'dist', 'test', 'helpers', 'dns-stub.js');

/** Each A query for rebind.test alternates: the allowed address, then the denied one. */
const ANSWERS: DnsAnswers = {
  'rebind.test': ['127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.2'],
  'slow.test': 'drop',
};

// Two destinations on one port, told apart by their answer, and a parent proxy that names what it
// was asked for (and answers itself, standing in for the destination behind it).
const SERVICES = `
const http = require('http');
for (const [ip, name] of [['127.0.0.1', 'good'], ['127.0.0.2', 'rebound']]) http.createServer((q, s) => s.end(name)).listen(8080, ip);
const inner = http.createServer((q, s) => s.end('via-parent'));
const parent = http.createServer((q, s) => { console.log(JSON.stringify({ parent: q.method + ' ' + q.url })); s.end('via-parent'); });
parent.on('connect', (q, sock) => { console.log(JSON.stringify({ parent: 'CONNECT ' + q.url })); sock.write('HTTP/1.1 200 Connection Established\\r\\n\\r\\n'); inner.emit('connection', sock); });
parent.listen(3128, '127.0.0.3', () => console.log(JSON.stringify({ listening: true })));
`;

/** A child's JSON stdout lines as they arrive; resolves once it says it is listening. */
async function jsonLines(child: ChildProcess, into: Array<Record<string, unknown>>): Promise<void> {
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited ${String(code)} before listening: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.listening) resolve();
      else into.push(parsed);
    });
  });
}

const netns = await needNetns(`${NS}-probe`);

describe('forward: what the proxy asks its resolver (a DNS stub in a network namespace)', { skip: netns.skip }, () => {
  const queries: Array<Record<string, unknown>> = [];
  const parentSaw: Array<Record<string, unknown>> = [];
  const children: ChildProcess[] = [];
  let proxy: CliProxy;
  let viaParent: CliProxy;

  before(async () => {
    netns.require();
    await removeStaleNetns(PREFIX);
    // `ip netns exec` mounts these over /etc/resolv.conf and /etc/hosts for the processes it starts.
    await mkdir(ETC, { recursive: true });
    await writeFile(join(ETC, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:3 attempts:1\n');
    await writeFile(join(ETC, 'hosts'), '127.0.0.1 localhost\n');
    await createNetns(NS);
    const stub = spawnIn(NS, process.execPath, [STUB, JSON.stringify(ANSWERS)]);
    const services = spawnIn(NS, process.execPath, ['-e', SERVICES]);
    children.push(stub, services);
    await Promise.all([jsonLines(stub, queries), jsonLines(services, parentSaw)]);
    const dir = await mkdtemp(join(tmpdir(), 'egk-res-'));
    const config = join(dir, 'egresskit.yaml');
    // The DNS deadline is timeouts.connect; 127.0.0.2 stands for the internal address a rebinding attacker wants.
    await writeFile(config, 'timeouts:\n  connect: 700ms\npolicy:\n  allowPrivate: true\n  connectPorts: [8080]\n  rules:\n    - { id: not-that-one, action: deny, hosts: [127.0.0.2/32] }\n');
    proxy = await startCli(['forward', '-c', config, '--listen', '127.0.0.1:8888', '--admin', 'off'], {}, inNetns(NS));
    viaParent = await startCli(['forward', '-c', config, '--listen', '127.0.0.1:8889', '--admin', 'off', '--upstream-proxy', 'http://127.0.0.3:3128'], {}, inNetns(NS));
  });
  after(async () => {
    await Promise.all([proxy?.stop(), viaParent?.stop()]);
    for (const c of children) c.kill();
    await destroyNetns(NS);
    await rm(ETC, { recursive: true, force: true });
  });

  const curlIn = (proxyUrl: string, args: string[]) => execIn(NS, 'curl', ['-sS', '-m', '10', '-w', '\n%{http_code}', '-x', proxyUrl, ...args]);
  const aQueries = (name: string) => queries.filter((q) => q.name === name && q.type === 1);

  it('a name is resolved once per connection, and the address dialled is the one decided on (no rebinding between them)', async () => {
    // 1st connection (CONNECT): answered 127.0.0.1, allowed, dialled. A second lookup at dial time would get 127.0.0.2.
    const first = await curlIn(proxy.url, ['-p', 'http://rebind.test:8080/']);
    assert.equal(first.stdout, 'good\n200', first.stderr);
    assert.equal(aQueries('rebind.test').length, 1, JSON.stringify(queries));
    const tunnel = await proxy.waitForLog((l) => l.event === 'connect' && l.target === 'rebind.test:8080');
    assert.equal(tunnel.resolved, '127.0.0.1:8080');
    // 2nd connection (plain HTTP): its own lookup, answered 127.0.0.2, refused by the rule.
    const second = await curlIn(proxy.url, ['http://rebind.test:8080/']);
    assert.match(second.stdout, /\n403$/, second.stdout);
    assert.equal(aQueries('rebind.test').length, 2);
    // 3rd (plain HTTP): 127.0.0.1 again, allowed, and that is the address that answers.
    const third = await curlIn(proxy.url, ['http://rebind.test:8080/third']);
    assert.equal(third.stdout, 'good\n200', third.stderr);
    assert.equal(aQueries('rebind.test').length, 3);
    // 4th (CONNECT): 127.0.0.2, refused before anything is dialled.
    const fourth = await curlIn(proxy.url, ['-p', 'http://rebind.test:8080/']);
    assert.match(fourth.stdout + fourth.stderr, /403/);
    assert.equal(aQueries('rebind.test').length, 4, JSON.stringify(queries));
    const refused = await proxy.waitForLog((l) => l.event === 'connect' && l.status === 403);
    assert.equal(refused.rule, 'not-that-one');
  });

  it('a resolver that does not answer: 504 dns_timeout after timeouts.connect, with the name', async () => {
    const r = await execIn(NS, 'curl', ['-sS', '-i', '-m', '10', '-x', proxy.url, 'http://slow.test:8080/']);
    assert.match(r.stdout, /^HTTP\/1\.1 504/, r.stdout + r.stderr);
    assert.match(r.stdout, /Proxy-Status: egresskit; error=dns_timeout; details="slow\.test/i);
    const line = await proxy.waitForLog((l) => l.event === 'http' && l.error === 'dns_timeout');
    assert.equal(line.status, 504);
    // The stub was asked and kept quiet; without the proxy's own deadline (700 ms) the resolver
    // gives up after its 3 s and the answer is a 502 dns_error instead.
    assert.ok(queries.some((q) => q.name === 'slow.test'), 'the stub was asked');
  });

  it('through a parent proxy, the name is left to the parent: egresskit sends no query for it', async () => {
    const before = queries.length;
    const tunnel = await curlIn(viaParent.url, ['-p', 'http://parent-only.test:8080/']);
    assert.equal(tunnel.stdout, 'via-parent\n200', tunnel.stderr);
    const plain = await curlIn(viaParent.url, ['http://parent-only.test:8080/plain']);
    assert.equal(plain.stdout, 'via-parent\n200', plain.stderr);
    assert.deepEqual(parentSaw.map((p) => p.parent), ['CONNECT parent-only.test:8080', 'GET http://parent-only.test:8080/plain']);
    assert.deepEqual(queries.slice(before), [], 'no DNS query from egresskit');
    const line = await viaParent.waitForLog((l) => l.event === 'connect' && l.target === 'parent-only.test:8080');
    assert.equal(line.via, 'parent');
  });
});
