import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { createCA, issueCert } from '../../src/certs/index.js';
import { runCli, startCli, type CliProxy, type LogLine } from '../helpers/cli.js';
import type { ExecResult } from '../helpers/exec.js';
import { needNetns } from '../helpers/prerequisites.js';
import {
  addAddr,
  addRoute,
  createNetns,
  delRoute,
  destroyNetns,
  execIn,
  inNetns,
  linkNetns,
  removeStaleNetns,
  routes,
  spawnIn,
} from '../helpers/netns.js';

// Cluster in a box (issue 5): network namespaces stand in for Pods.
//
//   work (workload Pod)  eth0 10.250.1.1/30 ──veth── eth0 10.250.1.2/30  proxy (egresskit Pod)
//   proxy                eth1 10.250.2.1/24 ──veth── eth0 10.250.2.2/24  net ("the internet")
//   (forward :8888, mtls :8443 and inspect :8080 all run in proxy; inspect's UI on its loopback)
//                                                    eth0 10.250.2.3/24  (a second, denied address)
//
// work's only route is the on-link one to the proxy's /30: no default route, nothing towards net.
// proxy does not forward (a new namespace starts with ip_forward=0, and we assert it). net has a
// return route to work's subnet, so the only things keeping work from the internet are its routes
// and the proxy Pod not routing, as in a cluster whose NetworkPolicy lets Pods reach only the proxy.
// All of it lives in namespaces this test creates; the host's interfaces, routes, sysctls and
// firewall are never touched, and 10.250.0.0/16 exists only inside these namespaces.
//
// The upstream is addressed by IP: a hosts entry (or a resolver) per namespace would need a mount
// namespace as well, and a name like localhost would be in NO_PROXY. So its certificate carries IP
// SANs, and the proxy allows exactly net's subnet (--allow 10.250.2.0/24, not --allow-private).
//
// Ports are fixed (80/443 upstream, 8888/8443/8080 for the proxies, like the Services): each namespace
// has its own port space, so nothing else can hold them, and the upstream stays on the ports the
// proxy's default policy allows (--connect-ports 443,80).

const PREFIX = 'egk-cib-';
const NS = {
  work: `${PREFIX}${process.pid}-work`,
  proxy: `${PREFIX}${process.pid}-proxy`,
  net: `${PREFIX}${process.pid}-net`,
};
const WORK_IP = '10.250.1.1';
const PROXY_IP = '10.250.1.2';
const PROXY_NET_IP = '10.250.2.1';
const UPSTREAM = '10.250.2.2';
const DENIED = '10.250.2.3';
const NET_SUBNET = '10.250.2.0/24';
const FORWARD_URL = `http://${PROXY_IP}:8888`;
const MTLS_URL = `https://${PROXY_IP}:8443`;
const INSPECT_URL = `http://${PROXY_IP}:8080`;
/** The bundle of the inspect CA (the forward one holds the upstream's CA). */
const INSPECT_BUNDLE = 'egresskit-inspect-ca-bundle';
/** Where `k8s inject --ca-configmap` mounts the bundle inside the container. */
const IN_POD_BUNDLE_DIR = '/etc/egresskit/ca';
const CA_VARS = ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS'];

const netns = await needNetns(`${PREFIX}${process.pid}-probe`);

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: app
          image: curlimages/curl
`;

// The "internet": plain HTTP on :80 and HTTPS on :443 of each address it is given. The answer
// names the peer it saw, which is the proxy's net-side address when the request came through it.
const UPSTREAM_SCRIPT = `
import { readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';
const [certFile, keyFile, ...addresses] = process.argv.slice(2);
const tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
const handler = (req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ upstream: 'net', tls: Boolean(req.socket.encrypted), host: req.headers.host, path: req.url, via: req.headers.via ?? null, peer: req.socket.remoteAddress }));
};
const servers = addresses.flatMap((a) => [[createHttp(handler), a, 80], [createHttps(tls, handler), a, 443]]);
await Promise.all(servers.map(([s, a, p]) => new Promise((resolve, reject) => { s.once('error', reject); s.listen(p, a, resolve); })));
console.log(JSON.stringify({ event: 'ready' }));
process.on('SIGTERM', () => process.exit(0));
`;

interface Container {
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string; items?: { key: string; path: string }[] } }[];
}
interface ConfigMap {
  metadata: { name: string };
  data: Record<string, string>;
}

/**
 * The environment `k8s inject` gave the container, with each path inside a mounted ConfigMap
 * mapped to a file holding that ConfigMap's data (what the kubelet would mount).
 */
async function podEnv(injected: string, configMaps: ConfigMap[], dir: string): Promise<Record<string, string>> {
  const spec = (parse(injected) as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
  const container = spec.containers[0]!;
  const files = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    const source = spec.volumes?.find((v) => v.name === mount.name)?.configMap;
    const cm = configMaps.find((c) => c.metadata.name === source?.name);
    assert.ok(source && cm, `volume ${mount.name} mounts ConfigMap ${String(source?.name)}, which this test did not build`);
    for (const item of source.items ?? []) {
      const file = join(dir, `${cm.metadata.name}-${item.path}`);
      await writeFile(file, cm.data[item.key]!);
      files.set(`${mount.mountPath}/${item.path}`, file);
    }
  }
  const env: Record<string, string> = {};
  for (const { name, value } of container.env ?? []) env[name] = files.get(value ?? '') ?? value ?? '';
  return env;
}

function without(env: Record<string, string>, names: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !names.includes(k)));
}

/** What GET /api/flows returns for each flow (the fields this test reads). */
interface FlowJson {
  url: string;
  method: string;
  status: number | null;
  intercepted: boolean;
  error: { code: string; message: string } | null;
}

interface CurlResult extends ExecResult {
  status: number;
  connectStatus: number;
  body: string;
  ms: number;
}

/** curl inside `ns` with exactly `env`; no -x: the proxy comes from the environment. */
async function curlIn(ns: string, env: Record<string, string>, args: string[], maxTime = 10): Promise<CurlResult> {
  const start = performance.now();
  const r = await execIn(ns, 'curl', ['-sS', '--max-time', String(maxTime), '-w', '\n%{http_code} %{http_connect}', ...args], env);
  const idx = r.stdout.lastIndexOf('\n');
  const [status, connectStatus] = r.stdout.slice(idx + 1).split(' ').map(Number);
  return { ...r, status: status ?? 0, connectStatus: connectStatus ?? 0, body: r.stdout.slice(0, idx), ms: performance.now() - start };
}

const PY_FETCH = `import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
    print(json.dumps({"status": r.status, "body": json.loads(r.read()), "proxies": urllib.request.getproxies()}))`;
const PY_BYPASS = `import json, sys, urllib.request
print(json.dumps({h: bool(urllib.request.proxy_bypass_environment(h)) for h in sys.argv[1:]}))`;

async function startUpstream(script: string, certFile: string, keyFile: string): Promise<ChildProcess> {
  const child = spawnIn(NS.net, process.execPath, [script, certFile, keyFile, UPSTREAM, DENIED]);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines = createInterface({ input: child.stdout! });
  const ready = new Promise<void>((resolve) => lines.on('line', (l) => l.includes('"ready"') && resolve()));
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`the upstream in ${NS.net} exited with ${String(code)}: ${stderr}`);
  });
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the upstream in ${NS.net} was not ready in 10 s: ${stderr}`)), 10_000).unref());
  await Promise.race([ready, exited, timeout]);
  exited.catch(() => {}); // it exits on purpose in after()
  return child;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

const fromWork = (l: LogLine): boolean => String(l.client).startsWith(`${WORK_IP}:`);

describe('cluster in a box: a workload Pod reaches the internet only through egresskit', { skip: netns.skip }, () => {
  let dir = '';
  let upstream: ChildProcess | undefined;
  let forward: CliProxy | undefined;
  let mtls: CliProxy | undefined;
  let mtlsCerts = '';
  let inspect: CliProxy | undefined;
  /** Where inspect created its CA (--ca-dir), as a fresh Pod would on first start. */
  let inspectCaDir = '';
  /** The inspect UI port, on the proxy namespace's loopback. */
  let uiPort = 0;
  /** The container's environment from `k8s inject --proxy FORWARD_URL --ca-configmap ...`. */
  let env: Record<string, string> = {};
  /** The same for a workload pointed at the mtls proxy. */
  let mtlsEnv: Record<string, string> = {};
  /** The same for a workload pointed at the inspect proxy, with the inspect CA's bundle. */
  let inspectEnv: Record<string, string> = {};

  before(async () => {
    netns.require();
    await removeStaleNetns(PREFIX);
    dir = await mkdtemp(join(tmpdir(), 'egk-cib-'));

    // Pods and wires.
    await Promise.all(Object.values(NS).map(createNetns));
    await linkNetns({ ns: NS.work, dev: 'eth0' }, { ns: NS.proxy, dev: 'eth0' });
    await linkNetns({ ns: NS.proxy, dev: 'eth1' }, { ns: NS.net, dev: 'eth0' });
    await addAddr(NS.work, 'eth0', `${WORK_IP}/30`);
    await addAddr(NS.proxy, 'eth0', `${PROXY_IP}/30`);
    await addAddr(NS.proxy, 'eth1', `${PROXY_NET_IP}/24`);
    await addAddr(NS.net, 'eth0', `${UPSTREAM}/24`);
    await addAddr(NS.net, 'eth0', `${DENIED}/24`);
    await addRoute(NS.net, '10.250.1.0/30', { gateway: PROXY_NET_IP });

    // The upstream's certificate, from a CA of the test's own. makeTestPki() (test/helpers/pki.ts)
    // cannot be used as is: its server certificate names only localhost, 127.0.0.1 and ::1, and
    // it does not return the CA key to issue another; these are the same two calls it makes.
    const ca = await createCA({ cn: 'egresskit cluster-in-a-box upstream CA' });
    const leaf = await issueCert({ ca, kind: 'server', cn: UPSTREAM, sans: [UPSTREAM, DENIED] });
    const caFile = join(dir, 'upstream-ca.crt');
    const certFile = join(dir, 'upstream.crt');
    const keyFile = join(dir, 'upstream.key');
    const script = join(dir, 'upstream.mjs');
    const deployment = join(dir, 'deployment.yaml');
    mtlsCerts = join(dir, 'mtls');
    inspectCaDir = join(dir, 'inspect');
    await Promise.all([
      writeFile(caFile, ca.certPem),
      writeFile(certFile, leaf.certPem),
      writeFile(keyFile, leaf.keyPem, { mode: 0o600 }),
      writeFile(script, UPSTREAM_SCRIPT),
      writeFile(deployment, DEPLOYMENT),
    ]);

    // What a platform engineer would run: the CA bundle ConfigMap, inject, and the mtls certificates.
    const inject = (proxy: string, bundle = 'egresskit-ca-bundle') =>
      runCli(['k8s', 'inject', '--proxy', proxy, '--ca-configmap', bundle, '--label', '-f', deployment]);
    const policy = ['--admin', '127.0.0.1:0', '--allow', NET_SUBNET, '--deny', DENIED];
    // inspect starts alongside: it creates its CA in --ca-dir, which the workload's bundle needs.
    // Its UI is on the proxy namespace's loopback (no token), like `kubectl port-forward` reaches it.
    const inspectStarted = startCli(
      ['inspect', '--listen', `${PROXY_IP}:8080`, ...policy, '--ui', '127.0.0.1:0', '--ca-dir', inspectCaDir, '--upstream-ca', caFile],
      {},
      inNetns(NS.proxy),
    );
    const [cm, injected, injectedMtls, certs, injectedInspect] = await Promise.all([
      runCli(['k8s', 'ca-configmap', '--ca', caFile]),
      inject(FORWARD_URL),
      inject(MTLS_URL),
      runCli(['certs', 'mtls', '--out', mtlsCerts, '--san', PROXY_IP]),
      inject(INSPECT_URL, INSPECT_BUNDLE),
    ]);
    for (const r of [cm, injected, injectedMtls, certs, injectedInspect]) assert.equal(r.code, 0, r.stderr);
    const configMaps = [parse(cm.stdout) as ConfigMap];
    env = await podEnv(injected.stdout, configMaps, dir);
    mtlsEnv = await podEnv(injectedMtls.stdout, configMaps, dir);

    [upstream, forward, mtls, inspect] = await Promise.all([
      startUpstream(script, certFile, keyFile),
      startCli(['forward', '--listen', `${PROXY_IP}:8888`, ...policy], {}, inNetns(NS.proxy)),
      startCli(
        ['mtls', '--listen', `${PROXY_IP}:8443`, ...policy, '--cert', join(mtlsCerts, 'server.crt'), '--key', join(mtlsCerts, 'server.key'), '--client-ca', join(mtlsCerts, 'ca.crt')],
        {},
        inNetns(NS.proxy),
      ),
      inspectStarted,
    ]);
    const listening = await inspect.waitForLog((l) => l.event === 'listening');
    uiPort = Number(/:(\d+)$/.exec(String(listening.ui))![1]);
    const inspectCm = await runCli(['k8s', 'ca-configmap', '--ca', join(inspectCaDir, 'ca.crt'), '--name', INSPECT_BUNDLE]);
    assert.equal(inspectCm.code, 0, inspectCm.stderr);
    inspectEnv = await podEnv(injectedInspect.stdout, [parse(inspectCm.stdout) as ConfigMap], dir);
  });

  after(async () => {
    await Promise.allSettled([forward?.stop(), mtls?.stop(), inspect?.stop(), stopChild(upstream)]);
    for (const ns of Object.values(NS)) await destroyNetns(ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('inject gave the container the proxy, NO_PROXY for in-cluster names, and the CA bundle', () => {
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy']) assert.equal(env[name], FORWARD_URL, name);
    for (const name of ['NO_PROXY', 'no_proxy']) {
      const entries = env[name]!.split(',');
      for (const e of ['.svc', '.svc.cluster.local', '.cluster.local', 'kubernetes.default', 'localhost', '127.0.0.1']) assert.ok(entries.includes(e), `${name} lacks ${e}: ${env[name]}`);
    }
    for (const name of CA_VARS) {
      assert.ok(env[name], `${name} is not set`);
      assert.ok(env[name]!.startsWith(dir), `${name}=${env[name]} is not a file from the ConfigMap mounted at ${IN_POD_BUNDLE_DIR}`);
    }
    assert.equal(mtlsEnv.HTTPS_PROXY, MTLS_URL);
  });

  it('direct egress from the workload fails at once: its only route is the link to the proxy', async () => {
    assert.deepEqual(
      (await routes(NS.work)).trim().split('\n').map((l) => l.split(' ').slice(0, 3).join(' ')),
      ['10.250.1.0/30 dev eth0'],
      'work has exactly one route, on-link to the proxy',
    );
    const forwarding = await execIn(NS.proxy, 'cat', ['/proc/sys/net/ipv4/ip_forward']);
    assert.equal(forwarding.stdout.trim(), '0', 'the proxy namespace does not route');
    for (const url of [`http://${UPSTREAM}/`, `https://${UPSTREAM}/`]) {
      const r = await curlIn(NS.work, env, ['--noproxy', '*', url], 2);
      assert.equal(r.code, 7, `curl ${url} directly: exit ${r.code} ${r.stderr}`);
      assert.match(r.stderr, /Network is unreachable|Couldn't connect/);
      assert.ok(r.ms < 1500, `it failed at once (ENETUNREACH), not by timing out: ${Math.round(r.ms)} ms`);
    }
  });

  it('a workload that adds its own route via the proxy Pod still gets nowhere: the proxy Pod does not forward', async () => {
    await addRoute(NS.work, `${UPSTREAM}/32`, { gateway: PROXY_IP });
    try {
      const r = await curlIn(NS.work, env, ['--noproxy', '*', `http://${UPSTREAM}/`], 1);
      assert.ok([7, 28].includes(r.code), `curl exit ${r.code}: ${r.stderr}`);
    } finally {
      await delRoute(NS.work, `${UPSTREAM}/32`);
    }
  });

  it('curl takes the proxy from the env: plain HTTP through egresskit gets 200', async () => {
    const r = await curlIn(NS.work, env, [`http://${UPSTREAM}/plain`]);
    assert.equal(r.status, 200, `${r.code} ${r.stderr} ${r.body}`);
    const body = JSON.parse(r.body) as { via: string; peer: string; tls: boolean };
    assert.equal(body.via, '1.1 egresskit');
    assert.equal(body.peer, PROXY_NET_IP, 'the upstream saw the proxy, not the workload');
    const line = await forward!.waitForLog((l) => l.event === 'http' && l.url === `http://${UPSTREAM}/plain` && fromWork(l));
    assert.equal(line.decision, 'allow');
    assert.equal(line.rule, '--allow[0]');
    assert.equal(line.status, 200);
  });

  it('curl takes the proxy and the CA bundle from the env: HTTPS through egresskit gets 200', async () => {
    const r = await curlIn(NS.work, env, [`https://${UPSTREAM}/tls`]);
    assert.equal(r.status, 200, `${r.code} ${r.stderr} ${r.body}`);
    assert.equal(r.connectStatus, 200, 'a CONNECT tunnel');
    const body = JSON.parse(r.body) as { peer: string; tls: boolean };
    assert.equal(body.tls, true);
    assert.equal(body.peer, PROXY_NET_IP);
    const line = await forward!.waitForLog((l) => l.event === 'connect' && l.target === `${UPSTREAM}:443` && fromWork(l));
    assert.equal(line.decision, 'allow');
    assert.equal(line.resolved, `${UPSTREAM}:443`);
    assert.equal(line.status, 200);
    // The trust comes from the mounted bundle: without the CA variables the upstream is not trusted.
    const untrusted = await curlIn(NS.work, without(env, CA_VARS), [`https://${UPSTREAM}/tls`]);
    assert.equal(untrusted.code, 60, `curl without the bundle: exit ${untrusted.code} ${untrusted.stderr}`);
  });

  it('Python urllib takes the proxy and the CA bundle from the env: HTTPS gets 200', async () => {
    const r = await execIn(NS.work, 'python3', ['-c', PY_FETCH, `https://${UPSTREAM}/python`], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { status: number; body: { peer: string }; proxies: Record<string, string> };
    assert.equal(out.status, 200);
    assert.equal(out.body.peer, PROXY_NET_IP);
    assert.equal(out.proxies.https, FORWARD_URL);
    await forward!.waitForLog((l) => l.event === 'connect' && l.target === `${UPSTREAM}:443` && fromWork(l) && l.status === 200);
  });

  it('a denied destination gets 403 and is in the proxy log with its rule and reason', async () => {
    // The address is up and answers (from the proxy Pod itself): the 403 is policy, not reachability.
    const reachable = await curlIn(NS.proxy, {}, ['--noproxy', '*', `http://${DENIED}/`]);
    assert.equal(reachable.status, 200, reachable.stderr);

    const plain = await curlIn(NS.work, env, [`http://${DENIED}/`]);
    assert.equal(plain.status, 403, plain.stderr);
    assert.match(plain.body, /destination refused by policy: denied by rule --deny\[0\]/);
    const tunnel = await curlIn(NS.work, env, [`https://${DENIED}/`]);
    assert.equal(tunnel.connectStatus, 403, `curl exit ${tunnel.code}: ${tunnel.stderr}`);
    assert.equal(tunnel.code, 56);

    for (const [event, target] of [['http', `${DENIED}:80`], ['connect', `${DENIED}:443`]] as const) {
      const line = await forward!.waitForLog((l) => l.event === event && l.target === target && fromWork(l));
      assert.equal(line.decision, 'deny');
      assert.equal(line.status, 403);
      assert.equal(line.rule, '--deny[0]');
      assert.match(String(line.reason), new RegExp(`denied by rule --deny\\[0\\] \\(deny ${DENIED.replaceAll('.', '\\.')}\\)`));
      assert.equal(line.error, 'policy_denied');
    }
  });

  it('NO_PROXY from inject keeps in-cluster names direct (as the client library decides it)', async () => {
    const hosts = ['something.svc.cluster.local', 'api.payments.svc', 'kubernetes.default', UPSTREAM];
    const r = await execIn(NS.work, 'python3', ['-c', PY_BYPASS, ...hosts], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      'something.svc.cluster.local': true,
      'api.payments.svc': true,
      'kubernetes.default': true,
      [UPSTREAM]: false,
    });
  });

  it('mtls: curl with the client certificate reaches the HTTPS upstream; the proxy logs the identity', async () => {
    // Env alone cannot carry a client certificate, so the proxy URL from the env goes into explicit flags.
    const r = await curlIn(NS.work, mtlsEnv, [
      '--proxy', mtlsEnv.HTTPS_PROXY!, '--proxy-cacert', join(mtlsCerts, 'ca.crt'), '--proxy-cert', join(mtlsCerts, 'client.pem'),
      `https://${UPSTREAM}/mtls`,
    ]);
    assert.equal(r.status, 200, `${r.code} ${r.stderr} ${r.body}`);
    assert.equal((JSON.parse(r.body) as { peer: string }).peer, PROXY_NET_IP);
    const line = await mtls!.waitForLog((l) => l.event === 'connect' && l.target === `${UPSTREAM}:443` && fromWork(l));
    assert.equal(line.status, 200);
    assert.equal(line.identity_kind, 'certificate');
    assert.equal(line.identity, 'egresskit client');
  });

  it('mtls: without a client certificate the handshake is refused, and the proxy logs why', async () => {
    const r = await curlIn(NS.work, mtlsEnv, ['--proxy', mtlsEnv.HTTPS_PROXY!, '--proxy-cacert', join(mtlsCerts, 'ca.crt'), `https://${UPSTREAM}/mtls`]);
    assert.ok([35, 52, 56].includes(r.code), `curl exit ${r.code}: ${r.stderr}`);
    assert.notEqual(r.status, 200);
    const line = await mtls!.waitForLog((l) => l.event === 'tls_error' && fromWork(l));
    assert.match(String(line.error_detail), /the client sent no certificate/);
  });

  it('inspect: curl over HTTPS gets 200 through interception, trusting only the inspect CA from the injected bundle', async () => {
    for (const name of ['HTTPS_PROXY', 'https_proxy']) assert.equal(inspectEnv[name], INSPECT_URL, name);
    const r = await curlIn(NS.work, inspectEnv, [`https://${UPSTREAM}/inspect-curl`]);
    assert.equal(r.status, 200, `${r.code} ${r.stderr} ${r.body}`);
    assert.equal(r.connectStatus, 200, 'a CONNECT, terminated by the proxy');
    const body = JSON.parse(r.body) as { peer: string; tls: boolean; path: string };
    assert.deepEqual([body.tls, body.peer, body.path], [true, PROXY_NET_IP, '/inspect-curl'], 'the proxy made its own TLS connection upstream');
    const line = await inspect!.waitForLog((l) => l.event === 'http' && l.url === `https://${UPSTREAM}/inspect-curl` && fromWork(l));
    assert.equal(line.status, 200);
    // The leaf curl accepted was minted by the inspect CA: the upstream CA's bundle does not verify it.
    const upstreamTrust = Object.fromEntries(CA_VARS.map((name) => [name, env[name]!]));
    const wrongCa = await curlIn(NS.work, { ...inspectEnv, ...upstreamTrust }, [`https://${UPSTREAM}/inspect-curl`]);
    assert.equal(wrongCa.code, 60, `curl trusting the upstream CA instead: exit ${wrongCa.code} ${wrongCa.stderr}`);
  });

  it('inspect: Python urllib over HTTPS gets 200 through interception', async () => {
    const r = await execIn(NS.work, 'python3', ['-c', PY_FETCH, `https://${UPSTREAM}/inspect-python`], inspectEnv);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { status: number; body: { peer: string; path: string }; proxies: Record<string, string> };
    assert.equal(out.status, 200);
    assert.equal(out.body.path, '/inspect-python');
    assert.equal(out.body.peer, PROXY_NET_IP);
    assert.equal(out.proxies.https, INSPECT_URL);
  });

  it('inspect: the flow is in the UI API, read from inside the proxy Pod', async () => {
    const sent = await curlIn(NS.work, inspectEnv, [`https://${UPSTREAM}/inspect-flow`]);
    assert.equal(sent.status, 200, `${sent.code} ${sent.stderr}`);
    await inspect!.waitForLog((l) => l.event === 'http' && l.url === `https://${UPSTREAM}/inspect-flow` && fromWork(l));
    const r = await execIn(NS.proxy, 'curl', ['-sS', '--max-time', '5', '--noproxy', '*', `http://127.0.0.1:${uiPort}/api/flows`]);
    assert.equal(r.code, 0, r.stderr);
    const { flows } = JSON.parse(r.stdout) as { flows: FlowJson[] };
    const flow = flows.find((f) => f.url === `https://${UPSTREAM}/inspect-flow`);
    assert.ok(flow, `no flow for /inspect-flow: ${flows.map((f) => `${f.method} ${f.url} ${f.status}`).join(', ')}`);
    assert.equal(flow.method, 'GET');
    assert.equal(flow.status, 200);
    assert.equal(flow.intercepted, true);
    assert.equal(flow.error, null);
  });

  it('inspect: a denied destination gets 403, with the rule and reason in the log', async () => {
    const tunnel = await curlIn(NS.work, inspectEnv, [`https://${DENIED}/`]);
    assert.equal(tunnel.connectStatus, 403, `curl exit ${tunnel.code}: ${tunnel.stderr}`);
    assert.equal(tunnel.code, 56);
    const line = await inspect!.waitForLog((l) => l.event === 'connect' && l.target === `${DENIED}:443` && fromWork(l));
    assert.equal(line.decision, 'deny');
    assert.equal(line.status, 403);
    assert.equal(line.rule, '--deny[0]');
    assert.match(String(line.reason), new RegExp(`denied by rule --deny\\[0\\] \\(deny ${DENIED.replaceAll('.', '\\.')}\\)`));
    assert.equal(line.error, 'policy_denied');
  });
});
