import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runtimeChoice, type Env } from '../../../src/doctor/env-proxy.js';
import { envWarnings } from '../../../src/doctor/env-warnings.js';
import { parseProxyStatus } from '../../../src/doctor/proxy-status.js';
import { RUNTIME_RULES, RUNTIMES, type RuntimeId } from '../../../src/doctor/runtime-rules.js';

const P = 'http://p:3128';
const Q = 'http://q:3128';
const ON = { NODE_USE_ENV_PROXY: '1' };

/** [url, env, expected proxy (undefined = direct), reason that must appear] per runtime. */
type Case = [string, Env, string | undefined, RegExp];

const CASES: Record<RuntimeId, Case[]> = {
  curl: [
    ['http://a.com/', { HTTP_PROXY: P }, undefined, /none of http_proxy/],
    ['http://a.com/', { http_proxy: P }, P, /http_proxy/],
    ['https://a.com/', { HTTPS_PROXY: P }, P, /HTTPS_PROXY/],
    ['https://a.com/', { https_proxy: P, HTTPS_PROXY: Q }, P, /https_proxy/],
    ['https://a.com/', { ALL_PROXY: P }, P, /ALL_PROXY/],
    ['https://a.com/', { https_proxy: P, ALL_PROXY: Q }, P, /https_proxy/],
    ['https://10.1.2.3/', { https_proxy: P, NO_PROXY: '10.0.0.0/8' }, undefined, /'10\.0\.0\.0\/8'/],
    ['https://x.a.com/', { https_proxy: P, no_proxy: 'a.com' }, undefined, /'a\.com'/],
    ['https://a.com/', { https_proxy: P, no_proxy: '.a.com' }, undefined, /'\.a\.com'/],
    ['https://x.a.com/', { https_proxy: P, no_proxy: '*.a.com' }, P, /https_proxy/],
    ['https://nota.com/', { https_proxy: P, no_proxy: 'a.com' }, P, /https_proxy/],
    ['https://a.com:8443/', { https_proxy: P, no_proxy: 'a.com:443' }, P, /https_proxy/],
    ['https://127.0.0.1/', { https_proxy: P }, P, /https_proxy/],
  ],
  go: [
    ['http://a.com/', { HTTP_PROXY: P, http_proxy: Q }, P, /HTTP_PROXY/],
    ['https://a.com/', { HTTP_PROXY: P }, undefined, /none of HTTPS_PROXY, https_proxy/],
    ['https://a.com/', { ALL_PROXY: P }, undefined, /none of/],
    ['https://x.a.com/', { HTTPS_PROXY: P, NO_PROXY: '.a.com' }, undefined, /'\.a\.com'/],
    ['https://a.com/', { HTTPS_PROXY: P, NO_PROXY: '.a.com' }, P, /HTTPS_PROXY/],
    ['https://a.com/', { HTTPS_PROXY: P, NO_PROXY: 'a.com' }, undefined, /'a\.com'/],
    ['https://10.1.2.3/', { HTTPS_PROXY: P, NO_PROXY: '10.0.0.0/8' }, undefined, /10\.0\.0\.0/],
    ['https://localhost:8443/', { HTTPS_PROXY: P }, undefined, /loopback/],
    ['https://127.0.0.2/', { HTTPS_PROXY: P }, undefined, /loopback/],
    ['http://a.com/', { HTTP_PROXY: P, REQUEST_METHOD: 'GET' }, undefined, /CGI/],
    ['http://a.com/', { HTTP_PROXY: P, http_proxy: Q, REQUEST_METHOD: 'GET' }, Q, /http_proxy/],
  ],
  'python-urllib': [
    ['http://a.com/', { HTTP_PROXY: P, http_proxy: Q }, Q, /http_proxy/],
    ['https://a.com/', { all_proxy: P }, undefined, /none of/],
    ['https://10.1.2.3/', { https_proxy: P, no_proxy: '10.0.0.0/8' }, P, /https_proxy/],
    ['https://a.com/', { https_proxy: P, no_proxy: '.a.com' }, undefined, /'\.a\.com'/],
    ['https://nota.com/', { https_proxy: P, no_proxy: 'a.com' }, P, /https_proxy/],
    ['http://a.com/', { HTTP_PROXY: P, REQUEST_METHOD: 'GET' }, undefined, /CGI/],
  ],
  'python-requests': [
    ['https://a.com/', { all_proxy: P }, P, /all_proxy/],
    ['https://10.1.2.3/', { https_proxy: P, no_proxy: '10.0.0.0/8' }, undefined, /10\.0\.0\.0/],
    ['https://nota.com/', { https_proxy: P, no_proxy: 'a.com' }, undefined, /'a\.com'/],
  ],
  'node-http': [
    ['https://a.com/', { HTTPS_PROXY: P }, undefined, /NODE_USE_ENV_PROXY=1/],
    ['https://a.com/', { ...ON, HTTPS_PROXY: P, https_proxy: Q }, Q, /https_proxy/],
    ['https://a.com/', { NODE_OPTIONS: '--use-env-proxy', HTTPS_PROXY: P }, P, /HTTPS_PROXY/],
    ['https://a.com/', { ...ON, HTTP_PROXY: P }, undefined, /none of https_proxy, HTTPS_PROXY/],
    ['https://x.a.com/', { ...ON, HTTPS_PROXY: P, NO_PROXY: 'a.com' }, P, /HTTPS_PROXY/],
    ['https://a.com/', { ...ON, HTTPS_PROXY: P, NO_PROXY: 'a.com' }, undefined, /'a\.com'/],
    ['https://10.0.0.7/', { ...ON, HTTPS_PROXY: P, NO_PROXY: '10.0.0.1-10.0.0.9' }, undefined, /10\.0\.0\.1-10\.0\.0\.9/],
    ['https://10.0.0.7/', { ...ON, HTTPS_PROXY: P, NO_PROXY: '10.0.0.0/8' }, P, /HTTPS_PROXY/],
  ],
  'node-fetch': [
    ['https://a.com/', { HTTP_PROXY: P }, undefined, /NODE_USE_ENV_PROXY/],
    ['https://a.com/', { ...ON, HTTP_PROXY: P }, P, /serves https too/],
    ['https://x.a.com/', { ...ON, https_proxy: P, no_proxy: '*.a.com' }, undefined, /'\*\.a\.com'/],
    ['https://a.com/', { ...ON, https_proxy: P, no_proxy: '.a.com' }, undefined, /'\.a\.com'/],
  ],
  java: [
    ['https://a.com/', { HTTPS_PROXY: P }, undefined, /ignores proxy variables/],
    ['https://a.com/', { JAVA_TOOL_OPTIONS: '-Dhttps.proxyHost=p -Dhttps.proxyPort=3128' }, P, /JAVA_TOOL_OPTIONS/],
    ['https://a.com/', { JDK_JAVA_OPTIONS: '-Dhttps.proxyHost=p' }, 'http://p:443', /JDK_JAVA_OPTIONS/],
    ['https://x.corp/', { JAVA_TOOL_OPTIONS: '-Dhttps.proxyHost=p -Dhttp.nonProxyHosts=*.corp|localhost' }, undefined, /'\*\.corp'/],
    ['https://localhost/', { JAVA_TOOL_OPTIONS: '-Dhttps.proxyHost=p' }, undefined, /localhost/],
  ],
};

describe('doctor: which proxy each runtime takes from the environment', () => {
  for (const [runtime, cases] of Object.entries(CASES) as Array<[RuntimeId, Case[]]>) {
    describe(RUNTIMES[runtime].label, () => {
      for (const [url, env, proxy, why] of cases) {
        it(`${url} with ${JSON.stringify(env)} -> ${proxy ?? 'direct'}`, () => {
          const c = runtimeChoice(runtime, env, new URL(url));
          assert.equal(c.proxy, proxy, c.why);
          assert.match(c.why, why);
        });
      }
    });
  }

  it('every runtime has rules, each runtime reading variables names its proxy and NO_PROXY variables', () => {
    for (const id of Object.keys(RUNTIMES) as RuntimeId[]) {
      const rules = RUNTIME_RULES.filter((r) => r.runtime === id);
      assert.ok(rules.length > 0, id);
      if (id === 'java') continue;
      for (const kind of ['no-proxy-vars', 'no-proxy-cidr'] as const) assert.ok(rules.some((r) => r.kind === kind), `${id} ${kind}`);
      for (const scheme of ['http', 'https']) assert.ok(rules.some((r) => r.kind === 'proxy-vars' && r.scheme === scheme), `${id} ${scheme}`);
    }
  });
});

describe('doctor: environment warnings', () => {
  const url = new URL('https://a.com/');
  const all = (env: Env) => (Object.keys(RUNTIMES) as RuntimeId[]).map((id) => runtimeChoice(id, env, url));
  const text = (env: Env, interception = false, files: Record<string, string> = {}) =>
    envWarnings(env, all(env), { interception, readFile: (p) => files[p] ?? '' }).map((w) => `${w.warning} | ${w.fix}`).join('\n');

  it('upper- and lowercase variables that differ', () => {
    assert.match(text({ https_proxy: P, HTTPS_PROXY: Q }), /https_proxy=http:\/\/p:3128 and HTTPS_PROXY=http:\/\/q:3128 differ/);
    assert.equal(text({ https_proxy: P, HTTPS_PROXY: P }), '');
  });
  it('a CIDR in NO_PROXY that a runtime ignores', () => {
    const t = text({ https_proxy: P, NO_PROXY: '10.0.0.0/8' });
    assert.match(t, /Python urllib ignores 10\.0\.0\.0\/8/);
    assert.doesNotMatch(t, /Go net\/http ignores/);
  });
  it('in Kubernetes, NO_PROXY without .svc / .cluster.local / the API Service address', () => {
    assert.match(text({ KUBERNETES_SERVICE_HOST: '10.96.0.1', https_proxy: P, NO_PROXY: 'localhost' }), /lacks \.svc, \.cluster\.local, 10\.96\.0\.1.*k8s inject/s);
    assert.doesNotMatch(text({ KUBERNETES_SERVICE_HOST: '10.96.0.1', NO_PROXY: '.svc,.cluster.local,10.96.0.0/12' }), /lacks/);
  });
  it('SSL_CERT_FILE or REQUESTS_CA_BUNDLE with no public root replaces the store', async () => {
    const { makeTestPki } = await import('../../helpers/pki.js');
    const pki = await makeTestPki('egk-doctor-unit');
    assert.match(text({ REQUESTS_CA_BUNDLE: '/b.pem' }, false, { '/b.pem': pki.caPem }), /REQUESTS_CA_BUNDLE=\/b\.pem replaces the trust store of Python requests.*no public root/);
    const { rootCertificates } = await import('node:tls');
    assert.doesNotMatch(text({ SSL_CERT_FILE: '/b.pem' }, false, { '/b.pem': pki.caPem + rootCertificates[0] }), /SSL_CERT_FILE/);
  });
  it('Node without NODE_EXTRA_CA_CERTS when TLS is intercepted', () => {
    assert.match(text({}, true), /NODE_EXTRA_CA_CERTS is not set/);
    assert.equal(text({ NODE_EXTRA_CA_CERTS: '/ca.crt' }, true), '');
  });
});

describe('doctor: Proxy-Status decoding (RFC 9209)', () => {
  it('takes the proxy nearest the client and decodes its error type', () => {
    const ps = parseProxyStatus('parent; error=connection_timeout, egresskit; error=http_request_denied; details="denied by rule x, \\"quoted\\""');
    assert.equal(ps?.proxy, 'egresskit');
    assert.equal(ps?.error, 'http_request_denied');
    assert.equal(ps?.details, 'denied by rule x, "quoted"');
    assert.equal(ps?.kind, 'refused');
    assert.equal(parseProxyStatus('egresskit; error=dns_error')?.kind, 'target');
  });
});
