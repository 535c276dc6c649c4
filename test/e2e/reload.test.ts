import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import { copyFileSync } from 'node:fs';
import { runCli, startCli, type CliProxy, type LogLine } from '../helpers/cli.js';
import { startHttpUpstream, type Upstream } from '../helpers/upstream.js';

/** An absolute-URI GET through the proxy: each one is its own decision. */
function get(proxy: CliProxy, url: string, agent: Agent | false = false, user?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(proxy.url);
    const headers: Record<string, string> = user ? { 'proxy-authorization': `Basic ${Buffer.from(user).toString('base64')}` } : {};
    const req = request({ host: '127.0.0.1', port, path: url, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function metric(proxy: CliProxy, name: string): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${proxy.adminPort}/metrics`).then((r) => r.text());
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  assert.ok(m, `${name} is exported`);
  return Number(m[1]);
}

/** Config YAML: rules allow 127.0.0.1 on the given upstream ports, one rule per port, ids "to-PORT". */
function configYaml(a: Upstream, b: Upstream, allowPorts: number[], extra = ''): string {
  const rules = allowPorts.map((p) => `    - id: to-${p}\n      action: allow\n      hosts: ["127.0.0.1"]\n      ports: [${p}]\n`).join('');
  return `listen: 127.0.0.1:0\nadmin: 127.0.0.1:0\n${extra}policy:\n  allowPrivate: true\n  connectPorts: [${a.port}, ${b.port}]\n  rules:\n${rules}`;
}

/** Replaces a file the way kubectl cp, editors with backup files and configuration tools do: a new inode renamed over the old. */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

const reloaded = (version?: string) => (l: LogLine) => l.event === 'config_reloaded' && (version === undefined || l.config_version !== version);

describe('reload: policy, htpasswd and config files, watched and on SIGHUP', () => {
  let a: Upstream;
  let b: Upstream;
  let dir: string;
  const proxies: CliProxy[] = [];
  const start = async (args: string[]) => {
    const p = await startCli(args);
    proxies.push(p);
    return p;
  };
  before(async () => {
    a = await startHttpUpstream();
    b = await startHttpUpstream();
    dir = mkdtempSync(join(tmpdir(), 'egk-reload-'));
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await a?.close();
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a policy replaced during traffic: no request fails, and the next request after the reload line sees the new rule', async () => {
    const file = join(dir, 'traffic.yaml');
    writeFileSync(file, configYaml(a, b, [a.port]));
    const proxy = await start(['forward', '--config', file]);
    const first = String((await proxy.waitForLog((l) => l.event === 'listening')).config_version);
    assert.equal(await get(proxy, `${b.origin}/echo`), 403, 'b is not allowed yet');
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    let stop = false;
    const statuses: number[] = [];
    const loop = async () => {
      while (!stop) statuses.push(await get(proxy, `${a.origin}/echo`, agent).catch(() => -1));
    };
    const loops = Promise.all([loop(), loop(), loop()]);
    await sleep(300);
    replaceFile(file, configYaml(a, b, [b.port, a.port]));
    const line = await proxy.waitForLog(reloaded(first), 10_000);
    assert.equal(await get(proxy, `${b.origin}/echo`), 200, 'the request right after the reload line sees the new rule');
    await sleep(200);
    stop = true;
    await loops;
    agent.destroy();
    assert.ok(statuses.length > 20, `the loop ran (${statuses.length} requests)`);
    assert.deepEqual(statuses.filter((s) => s !== 200), [], 'every request of the loop was answered 200');
    assert.deepEqual(line.rules_added, [`to-${b.port}`]);
    assert.equal(line.trigger, 'watch');
    assert.equal(proxy.logs.filter((l) => l.event === 'config_reloaded' || l.event === 'config_reload_failed').length, 1);
    const versions = new Set(proxy.logs.filter((l) => l.event === 'http').map((l) => l.config_version));
    assert.deepEqual([...versions].sort(), [first, line.config_version].sort(), 'every record names the version it was decided under');
    assert.equal(await metric(proxy, 'egresskit_config_reloads_total'), 1);
  });

  it('an invalid policy keeps the last good one: one log line with file, line and problem; the metrics move', async () => {
    const file = join(dir, 'invalid.yaml');
    writeFileSync(file, configYaml(a, b, [a.port]));
    const proxy = await start(['forward', '--config', file]);
    const good = String((await proxy.waitForLog((l) => l.event === 'listening')).config_version);
    const bad = configYaml(a, b, [a.port]).replace('hosts: ["127.0.0.1"]', 'hosts: ["*.*.example.com"]');
    replaceFile(file, bad);
    const failed = await proxy.waitForLog((l) => l.event === 'config_reload_failed');
    assert.equal(failed.file, file);
    assert.equal(failed.line, bad.split('\n').findIndex((l) => l.includes('*.*.example.com')) + 1, 'the line of the bad pattern');
    assert.match(String(failed.reason), /policy\.rules\[0\]\.hosts\[0\]/);
    assert.equal(failed.config_version, good);
    assert.equal(failed.level, 'warn');
    assert.equal(await get(proxy, `${a.origin}/echo`), 200, 'the old policy still decides');
    assert.equal(await get(proxy, `${b.origin}/echo`), 403);
    assert.equal(await metric(proxy, 'egresskit_config_reload_failures_total'), 1);
    assert.equal(await metric(proxy, 'egresskit_config_last_reload_success'), 0);
    replaceFile(file, configYaml(a, b, [a.port, b.port]));
    await proxy.waitForLog(reloaded(good));
    assert.equal(await metric(proxy, 'egresskit_config_last_reload_success'), 1);
    assert.equal(await get(proxy, `${b.origin}/echo`), 200);
    assert.equal(proxy.logs.filter((l) => l.event === 'config_reload_failed').length, 1, 'one line per bad version');
  });

  it('an emptied config file (what a file being written looks like) is refused while running, not read as "allow everything"', async () => {
    const file = join(dir, 'emptied.yaml');
    writeFileSync(file, configYaml(a, b, [a.port]));
    const proxy = await start(['forward', '--config', file]);
    replaceFile(file, '# nothing yet\n');
    const failed = await proxy.waitForLog((l) => l.event === 'config_reload_failed');
    assert.equal(failed.file, file);
    assert.match(String(failed.reason), /is empty/);
    assert.equal(await get(proxy, `${b.origin}/echo`), 403, 'the allow-list still decides');
  });

  it('a ConfigMap-style symlink swap (..data renamed over) is seen, twice, well before the fallback poll', async () => {
    const mount = join(dir, 'configmap');
    mkdirSync(mount);
    let n = 0;
    // What kubelet's AtomicWriter does: a new timestamped directory, a ..data_tmp link to it
    // renamed over ..data, then the old directory removed. config.yaml -> ..data/config.yaml never changes.
    const publish = (text: string) => {
      const stamp = `..2026_01_01_00_00_0${n++}.000`;
      mkdirSync(join(mount, stamp));
      writeFileSync(join(mount, stamp, 'config.yaml'), text);
      symlinkSync(stamp, join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
      if (n > 1) rmSync(join(mount, `..2026_01_01_00_00_0${n - 2}.000`), { recursive: true });
    };
    publish(configYaml(a, b, [a.port]));
    symlinkSync('..data/config.yaml', join(mount, 'config.yaml'));
    const proxy = await start(['forward', '--config', join(mount, 'config.yaml')]);
    const v1 = String((await proxy.waitForLog((l) => l.event === 'listening')).config_version);
    publish(configYaml(a, b, [a.port, b.port]));
    // Less than the 10 s fallback poll: only a watch on the directory holding ..data sees this in time.
    const l2 = await proxy.waitForLog(reloaded(v1), 5000);
    assert.equal(await get(proxy, `${b.origin}/echo`), 200);
    publish(configYaml(a, b, [b.port]));
    await proxy.waitForLog(reloaded(String(l2.config_version)), 5000);
    assert.equal(await get(proxy, `${a.origin}/echo`), 403, 'the second swap is seen too');
  });

  it('SIGHUP reloads at once, even a change no watch reports, and with nothing changed says so', async () => {
    // The file sits under a symlinked directory (hup/current -> real-1). Swapping that link
    // happens in hup/, which is not watched: only the 10 s re-read would see it, SIGHUP at once.
    const root = join(dir, 'hup');
    for (const [name, ports] of [['real-1', [a.port]], ['real-2', [a.port, b.port]]] as const) {
      mkdirSync(join(root, name), { recursive: true });
      writeFileSync(join(root, name, 'egresskit.yaml'), configYaml(a, b, [...ports]));
    }
    symlinkSync('real-1', join(root, 'current'));
    const proxy = await start(['forward', '--config', join(root, 'current', 'egresskit.yaml')]);
    const v1 = String((await proxy.waitForLog((l) => l.event === 'listening')).config_version);
    proxy.child.kill('SIGHUP');
    const same = await proxy.waitForLog((l) => l.event === 'config_reloaded');
    assert.equal(same.trigger, 'signal');
    assert.equal(same.unchanged, true);
    assert.equal(same.config_version, v1);
    symlinkSync('real-2', join(root, 'current.tmp'));
    renameSync(join(root, 'current.tmp'), join(root, 'current'));
    proxy.child.kill('SIGHUP');
    const line = await proxy.waitForLog(reloaded(v1), 5000);
    assert.equal(line.trigger, 'signal');
    assert.equal(await get(proxy, `${b.origin}/echo`), 200);
    assert.equal(proxy.child.exitCode, null, 'the proxy is still running');
  });

  it('htpasswd: a new user is accepted and a removed one refused; a bad file names its line and changes nothing', async () => {
    const users = join(dir, 'htpasswd');
    writeFileSync(users, `alice:${bcrypt.hashSync('pw-a', 4)}\n`);
    const file = join(dir, 'auth.yaml');
    writeFileSync(file, configYaml(a, b, [a.port]));
    const proxy = await start(['forward', '--config', file, '--users', users]);
    const v1 = String((await proxy.waitForLog((l) => l.event === 'listening')).config_version);
    assert.equal(await get(proxy, `${a.origin}/echo`, false, 'alice:pw-a'), 200);
    assert.equal(await get(proxy, `${a.origin}/echo`, false, 'bob:pw-b'), 407);
    replaceFile(users, `# bob replaces alice\nbob:${bcrypt.hashSync('pw-b', 4)}\n`);
    const line = await proxy.waitForLog(reloaded(v1));
    assert.equal(line.users, 1);
    assert.equal(await get(proxy, `${a.origin}/echo`, false, 'bob:pw-b'), 200, 'the new user');
    assert.equal(await get(proxy, `${a.origin}/echo`, false, 'alice:pw-a'), 407, 'the removed user, even with a cached successful check');
    replaceFile(users, `bob:${bcrypt.hashSync('pw-b', 4)}\ncarol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n`);
    const failed = await proxy.waitForLog((l) => l.event === 'config_reload_failed');
    assert.equal(failed.file, users);
    assert.equal(failed.line, 2);
    assert.match(String(failed.reason), /carol.*bcrypt/);
    assert.equal(await get(proxy, `${a.origin}/echo`, false, 'bob:pw-b'), 200, 'the last good users stay');
  });

  it('a changed listen address is logged as needing a restart; the proxy stays where it is and the policy still reloads', async () => {
    const file = join(dir, 'listen.yaml');
    writeFileSync(file, configYaml(a, b, [a.port]));
    const proxy = await start(['forward', '--config', file]);
    const v1 = String((await proxy.waitForLog((l) => l.event === 'listening')).config_version);
    replaceFile(file, configYaml(a, b, [a.port, b.port]).replace('listen: 127.0.0.1:0', 'listen: 127.0.0.1:1'));
    const restart = await proxy.waitForLog((l) => l.event === 'needs_restart');
    assert.deepEqual(restart.fields, ['listen']);
    assert.equal(restart.file, file);
    assert.match(String(restart.reason), /restart egresskit.*listen stays "127\.0\.0\.1:0"/);
    assert.equal(restart.level, 'warn');
    await proxy.waitForLog(reloaded(v1));
    assert.equal(await get(proxy, `${b.origin}/echo`), 200, 'still listening on the old port, under the new policy');
  });

  it('mtls: SIGHUP also re-reads the listener certificate, key and client CA at once (not at the next tls.reloadInterval)', async () => {
    const sets = [join(dir, 'pki-1'), join(dir, 'pki-2')];
    for (const out of sets) assert.equal((await runCli(['certs', 'mtls', '--out', out])).code, 0);
    const live = join(dir, 'tls-live');
    mkdirSync(live);
    const install = (from: string) => {
      for (const [src, dst] of [['server.crt', 'tls.crt'], ['server.key', 'tls.key'], ['ca.crt', 'ca.crt']] as const) {
        copyFileSync(join(from, src), join(live, `${dst}.tmp`));
        renameSync(join(live, `${dst}.tmp`), join(live, dst));
      }
    };
    install(sets[0]!);
    const file = join(dir, 'mtls.yaml');
    writeFileSync(file, `listen: 127.0.0.1:0\nadmin: 'off'\ntls:\n  dir: ${live}\n  reloadInterval: 1h\n`);
    const proxy = await start(['mtls', '--config', file]);
    install(sets[1]!);
    proxy.child.kill('SIGHUP');
    const line = await proxy.waitForLog((l) => l.event === 'reloaded', 5000);
    assert.ok(Array.isArray(line.files));
    await proxy.waitForLog((l) => l.event === 'config_reloaded' && l.trigger === 'signal');
  });
});
