import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { runCli, startCli, type CliProxy } from '../helpers/cli.js';
import { run } from '../helpers/exec.js';
import { BIN } from '../helpers/paths.js';
import { makeTestPki, type TestPki } from '../helpers/pki.js';
import { needNetns } from '../helpers/prerequisites.js';
import { freePort } from '../helpers/raw.js';
import { startHttpsUpstream, startHttpUpstream, type Upstream } from '../helpers/upstream.js';

interface Report {
  proxy: string | null;
  runtimes: Array<{ runtime: string; proxy: string | null; why: string }>;
  hops: Array<{ id: string; status: string; detail: string; fix?: string; ms: number }>;
  egresskit: { seenBy: string; rule?: string; reason?: string } | null;
  result: { ok: boolean; failure: string | null; hop: string | null; exitCode: number };
}

/** The machine's proxy variables must not decide what doctor tests; empty counts as unset. */
const CLEAN_ENV = Object.fromEntries(['http_proxy', 'https_proxy', 'all_proxy', 'no_proxy'].flatMap((v) => [[v, ''], [v.toUpperCase(), '']]));

async function doctor(args: string[], env: NodeJS.ProcessEnv = {}, withText = false): Promise<{ code: number | null; report: Report; text: string }> {
  const json = await runCli(['doctor', '--json', '--timeout', '5s', ...args], { ...CLEAN_ENV, ...env });
  // The text report is rendered from the same report; a second run (slow on a busy machine) only where its wording is checked.
  const text = withText ? await runCli(['doctor', '--timeout', '5s', ...args], { ...CLEAN_ENV, ...env }) : { code: json.code, stdout: json.stdout, stderr: '' };
  assert.equal(json.code, text.code, `the text and JSON reports end alike: ${json.stderr}`);
  return { code: json.code, report: JSON.parse(json.stdout) as Report, text: text.stdout + json.stderr + text.stderr };
}

function failedHop(r: Report) {
  return r.hops.find((h) => h.status === 'fail');
}

describe('doctor: each failure named at its hop, with a fix and its exit code', { concurrency: true }, () => {
  let pki: TestPki;
  let https: Upstream;
  let http: Upstream;
  let closedPort: number;
  let certs: string;
  let otherCerts: string;
  let inspectCa: string;
  let forward: CliProxy;
  let auth: CliProxy;
  let mtls: CliProxy;
  let inspect: CliProxy;

  before(async () => {
    pki = await makeTestPki('egk-doctor');
    [https, http, closedPort] = await Promise.all([startHttpsUpstream(pki.serverCert, pki.serverKey), startHttpUpstream(), freePort()]);
    const dir = await mkdtemp(join(tmpdir(), 'egk-doctor-'));
    certs = join(dir, 'certs');
    otherCerts = join(dir, 'other');
    inspectCa = join(dir, 'inspect-ca');
    const made = await Promise.all([runCli(['certs', 'mtls', '--out', certs]), runCli(['certs', 'mtls', '--out', otherCerts])]);
    for (const m of made) assert.equal(m.code, 0, m.stderr);
    const users = join(dir, 'htpasswd');
    await writeFile(users, `alice:${bcrypt.hashSync('right-password', 5)}\n`);
    const ports = `${https.port},${http.port},${closedPort}`;
    const common = ['--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '--connect-ports', ports];
    [forward, auth, mtls, inspect] = await Promise.all([
      startCli(['forward', ...common, '--deny', 'blocked.example']),
      startCli(['forward', ...common, '--users', users]),
      startCli(['mtls', ...common, '--cert', join(certs, 'server.crt'), '--key', join(certs, 'server.key'), '--client-ca', join(certs, 'ca.crt')]),
      startCli(['inspect', ...common, '--ui', 'off', '--ca-dir', inspectCa, '--upstream-ca', pki.caFile]),
    ]);
  });
  after(async () => {
    await Promise.all([forward?.stop(), auth?.stop(), mtls?.stop(), inspect?.stop()]);
    await Promise.all([https?.close(), http?.close()]);
  });

  const mtlsUrl = () => `https://localhost:${mtls.port}`;
  const clientCert = () => ['--proxy-cert', join(certs, 'client.crt'), '--proxy-key', join(certs, 'client.key')];

  it('success through forward (CONNECT and plain HTTP): exit 0, every hop ok', async () => {
    const { code, report, text } = await doctor(['--proxy', forward.url, '--cacert', pki.caFile, `${https.origin}/echo`], {}, true);
    assert.equal(code, 0, text);
    assert.deepEqual(report.hops.map((h) => [h.id, h.status]), [['resolve', 'ok'], ['tcp', 'ok'], ['proxy-tls', 'skip'], ['proxy-auth', 'ok'], ['proxy-request', 'ok'], ['target-tls', 'ok'], ['http', 'ok']]);
    assert.match(text, /OK: the request works end to end/);
    const plain = await doctor(['--proxy', forward.url, `${http.origin}/echo`]);
    assert.equal(plain.code, 0, plain.text);
    assert.equal(plain.report.egresskit?.seenBy, 'Via: 1.1 egresskit');
  });

  it('success through mtls with the client certificate: exit 0, the certificate accepted', async () => {
    const { code, report, text } = await doctor(['--proxy', mtlsUrl(), '--proxy-cacert', join(certs, 'ca.crt'), ...clientCert(), '--cacert', pki.caFile, `${https.origin}/echo`]);
    assert.equal(code, 0, text);
    assert.match(report.hops.find((h) => h.id === 'proxy-tls')!.detail, /client certificate accepted/);
  });

  it('closed proxy port: proxy unreachable (exit 3) at tcp', async () => {
    const { code, report, text } = await doctor(['--proxy', `http://127.0.0.1:${closedPort}`, `${http.origin}/`], {}, true);
    assert.equal(code, 3, text);
    assert.equal(report.result.hop, 'tcp');
    assert.match(failedHop(report)!.detail, /connection refused/);
    assert.match(text, /FAILED at tcp \(proxy-unreachable, exit 3\)/);
  });

  it('a proxy certificate the client does not trust: trust (exit 5) at proxy-tls, fix names --proxy-cacert', async () => {
    const { code, report, text } = await doctor(['--proxy', mtlsUrl(), ...clientCert(), `${http.origin}/`]);
    assert.equal(code, 5, text);
    assert.equal(report.result.hop, 'proxy-tls');
    assert.match(failedHop(report)!.detail, /issued by egresskit CA.*not trusted/);
    assert.match(failedHop(report)!.fix!, /--proxy-cacert/);
  });

  it('mtls without a client certificate, and with one from another CA: refused (exit 4) with the reason', async () => {
    const [none, other] = await Promise.all([
      doctor(['--proxy', mtlsUrl(), '--proxy-cacert', join(certs, 'ca.crt'), `${http.origin}/`]),
      doctor(['--proxy', mtlsUrl(), '--proxy-cacert', join(certs, 'ca.crt'), '--proxy-cert', join(otherCerts, 'client.pem'), `${http.origin}/`]),
    ]);
    assert.equal(none.code, 4, none.text);
    assert.match(failedHop(none.report)!.detail, /requires a client certificate and none was sent/);
    assert.match(failedHop(none.report)!.fix!, /--proxy-cert/);
    assert.equal(other.code, 4, other.text);
    assert.match(failedHop(other.report)!.detail, /refused the client certificate.*ours is issued by CN=egresskit CA/);
    assert.match(failedHop(other.report)!.fix!, /egresskit certs issue/);
  });

  it('missing and wrong credentials: refused (exit 4) at proxy-auth, naming the Basic scheme', async () => {
    const [missing, wrong, right] = await Promise.all([
      doctor(['--proxy', auth.url, `${http.origin}/`]),
      doctor(['--proxy', auth.url, '--proxy-user', 'alice:wrong', `${http.origin}/`]),
      doctor(['--proxy', auth.url.replace('http://', 'http://alice:right-password@'), `${http.origin}/`]),
    ]);
    assert.equal(missing.code, 4, missing.text);
    assert.equal(missing.report.result.hop, 'proxy-auth');
    assert.match(failedHop(missing.report)!.detail, /asks for Basic authentication \(407\) and no credentials were sent/);
    assert.match(failedHop(missing.report)!.fix!, /--proxy-user USER:PASSWORD/);
    assert.equal(wrong.code, 4, wrong.text);
    assert.match(failedHop(wrong.report)!.detail, /credentials for alice were rejected/);
    assert.equal(right.code, 0, right.text);
    assert.doesNotMatch(right.text + JSON.stringify(right.report), /right-password/, 'the password is never printed');
  });

  it('policy denial: refused (exit 4) with the rule and reason egresskit gave', async () => {
    const { code, report, text } = await doctor(['--proxy', forward.url, `https://blocked.example:${https.port}/`], {}, true);
    assert.equal(code, 4, text);
    assert.equal(report.result.hop, 'proxy-request');
    assert.equal(report.egresskit?.rule, '--deny[0]', JSON.stringify(report.egresskit));
    assert.match(report.egresskit!.reason!, /denied by rule --deny\[0\] \(deny blocked\.example\)/);
    assert.match(failedHop(report)!.fix!, /remove or narrow rule --deny\[0\]/);
    assert.match(text, /The proxy is egresskit \(Proxy-Status names egresskit\)/);
  });

  it('an interception CA the client does not trust: trust (exit 5) naming egresskit; success once --cacert names it', async () => {
    const [bad, good] = await Promise.all([
      doctor(['--proxy', inspect.url, `${https.origin}/echo`]),
      doctor(['--proxy', inspect.url, '--cacert', join(inspectCa, 'ca.crt'), `${https.origin}/echo`], { NODE_EXTRA_CA_CERTS: '' }, true),
    ]);
    assert.equal(bad.code, 5, bad.text);
    assert.equal(bad.report.result.hop, 'target-tls');
    assert.match(failedHop(bad.report)!.detail, /intercepted by egresskit \(issuer egresskit inspect CA\).*by the public roots: no/);
    assert.match(failedHop(bad.report)!.fix!, /--cacert CA\.crt.*ca-dir/);
    assert.equal(good.code, 0, good.text);
    assert.match(good.report.hops.find((h) => h.id === 'target-tls')!.detail, /intercepted by egresskit/);
    assert.match(good.text, /NODE_EXTRA_CA_CERTS is not set/);
  });

  it('a target that refuses: target failed (exit 6), Proxy-Status decoded', async () => {
    const { code, report, text } = await doctor(['--proxy', forward.url, `https://127.0.0.1:${closedPort}/`]);
    assert.equal(code, 6, text);
    assert.match(failedHop(report)!.detail, /502 .*Proxy-Status: connection_refused \(the destination refused the proxy's connection\)/);
  });

  it('a URL that NO_PROXY excludes goes direct, and says which entry did it', async () => {
    const env = { https_proxy: forward.url, NO_PROXY: 'localhost' };
    const { code, report, text } = await doctor(['--runtime', 'curl', '--cacert', pki.caFile, `${https.origin}/echo`], env);
    assert.equal(code, 0, text);
    assert.equal(report.proxy, null);
    assert.match(report.runtimes[0]!.why, /NO_PROXY entry 'localhost' matches localhost/);
    assert.deepEqual(report.hops.filter((h) => h.status === 'skip').map((h) => h.id), ['proxy-tls', 'proxy-auth', 'proxy-request']);
    assert.match(report.hops.find((h) => h.id === 'tcp')!.detail, new RegExp(`connected to .*:${https.port}$`), 'dialled the target itself');
  });

  it('usage errors exit 2', async () => {
    for (const args of [['doctor', 'ftp://x/'], ['doctor', '--runtime', 'perl', 'https://x/'], ['doctor', '--timeout', 'soon', 'https://x/']]) {
      const r = await runCli(args, CLEAN_ENV);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    }
  });
});

// A name that does not resolve, without a query leaving this machine: the proxy and doctor run
// in a network namespace of the test's own that has only loopback (as forward-dns.test.ts).
const ns = `egk-doctor-${process.pid}`;
const netns = await needNetns(`${ns}-probe`);

describe('doctor: a target name the proxy cannot resolve', { skip: netns.skip }, () => {
  let proxy: CliProxy;
  before(async () => {
    netns.require();
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    proxy = await startCli(['forward', '--listen', '127.0.0.1:0', '--admin', 'off'], {}, ['ip', 'netns', 'exec', ns]);
  });
  after(async () => {
    await proxy?.stop();
    await run('ip', ['netns', 'del', ns]);
  });

  it('target failed (exit 6) with dns_error decoded and the proxy\'s hint', async () => {
    const r = await run('ip', ['netns', 'exec', ns, process.execPath, BIN, 'doctor', '--json', '--proxy', proxy.url, 'https://nowhere.example/'], CLEAN_ENV);
    assert.equal(r.code, 6, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as Report;
    assert.equal(report.result.hop, 'proxy-request');
    assert.match(failedHop(report)!.detail, /Proxy-Status: dns_error \(the proxy could not resolve the host\)/);
    assert.match(failedHop(report)!.fix!, /resolver/);
  });
});
