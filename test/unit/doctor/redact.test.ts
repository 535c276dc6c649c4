import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runDoctor } from '../../../src/doctor/doctor.js';
import type { Env } from '../../../src/doctor/env-proxy.js';
import { redact } from '../../../src/doctor/redact.js';
import { renderJson, renderText } from '../../../src/doctor/report.js';

/** One distinct password per variable, so a leak names the variable it came from. */
const VARS = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'] as const;
const pw = (name: string) => `pw-${name}-Zq9`;

function leaks(text: string, secrets: string[]): string[] {
  return secrets.filter((s) => text.includes(s) || text.includes(encodeURIComponent(s)));
}

describe('doctor redacts proxy passwords', () => {
  let server: Server;
  let port: number;
  before(async () => {
    // A proxy on loopback that asks for credentials: the run reaches the authentication hop.
    server = createServer((s) => {
      s.once('data', () => s.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
      s.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  function env(): Env {
    const e: Record<string, string> = { NODE_USE_ENV_PROXY: '1', no_proxy: 'a.internal', NO_PROXY: 'b.internal' };
    // Lower and upper case differ (the warning that printed both values raw); all_proxy has no scheme.
    for (const v of VARS) e[v] = `${v.startsWith('all') || v.startsWith('ALL') ? '' : 'http://'}user-${v}:${pw(v)}@127.0.0.1:${port}`;
    e.JAVA_TOOL_OPTIONS = `-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=${port} -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=${port} -Dhttps.proxyPassword=${pw('java')}`;
    return e;
  }
  const secrets = [...VARS.map(pw), pw('java'), pw('target')];

  for (const target of ['https://example.test/', `http://tuser:${pw('target')}@example.test/x`]) {
    it(`text and JSON reports for ${redact(target)} carry no password`, async () => {
      const report = await runDoctor({ url: new URL(target), proxy: undefined, env: env(), runtime: 'all', timeoutMs: 2000 });
      const text = renderText(report);
      const json = renderJson(report);
      assert.deepEqual(leaks(text, secrets), [], text);
      assert.deepEqual(leaks(json, secrets), [], json);
      // The run went through a proxy from the environment, with its credentials, and warned about the pairs.
      assert.ok(report.proxy?.includes('***@127.0.0.1'), report.proxy ?? 'no proxy');
      assert.equal(report.hops.find((h) => h.id === 'proxy-auth')?.status, 'fail');
      assert.ok(report.warnings.some((w) => /https?_proxy=.*differ/.test(w.warning)));
      assert.ok(report.warnings.some((w) => /all_proxy=user-all_proxy:\*\*\*@/.test(w.warning)), JSON.stringify(report.warnings));
      // The user names stay: the report still says whose credentials are configured.
      assert.match(text, /user-https_proxy:\*\*\*@|user-http_proxy:\*\*\*@/);
    });
  }

  it('redact scrubs URLs and values that are not URLs alike', () => {
    assert.equal(redact('http://u:p%40ss@h:3128'), 'http://u:***@h:3128/');
    assert.equal(redact(new URL('https://u:s@h/')), 'https://u:***@h/');
    assert.equal(redact('u:p@ss@h:3128'), 'u:***@h:3128');
    assert.equal(redact('http://u:pw@h:99999'), 'http://u:***@h:99999'); // no URL parser accepts the port
    assert.equal(redact('http://h:3128'), 'http://h:3128'); // without a password: as given
    assert.equal(redact('a.com,.b.com'), 'a.com,.b.com');
  });
});
