import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launch, SKIP_BROWSER, watchedPage } from './browser.js';
import { startInspect, type InspectFixture } from './proxy-fixture.js';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; location?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers.location ? { location: res.headers.location } : {}) }));
    });
    req.on('error', reject);
    req.end();
  });
}

// The access layer (token cookie, Host allowlist, base path) is engineer A's (ui-server); these
// tests drive it through the app in a browser.
describe('inspect UI access, in a browser', { skip: SKIP_BROWSER }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launch();
  });
  after(() => browser?.close());

  describe('a UI bound beyond loopback', () => {
    let fx: InspectFixture;
    let token: string;
    before(async () => {
      fx = await startInspect(['--ui', '0.0.0.0:0']);
      token = (await readFile(join(fx.caDir, 'ui-token'), 'utf8')).trim();
    });
    after(() => fx?.close());

    test('without the token: 401 that says how to open it', async () => {
      const res = await get(fx.uiPort, '/');
      assert.equal(res.status, 401);
      assert.match(res.body, /token/);
      assert.equal((await get(fx.uiPort, '/api/flows')).status, 401);
    });

    test('with ?token= once: the token leaves the URL and the app works on its cookie', async () => {
      await fx.curlVia([`${fx.https.origin}/echo?token-test=1`]);
      const w = await watchedPage(browser, fx.ui);
      try {
        await w.page.goto(`${fx.ui}/?token=${encodeURIComponent(token)}`);
        await w.page.locator('.spacer .row', { hasText: 'token-test=1' }).waitFor({ timeout: 10_000 });
        assert.equal(new URL(w.page.url()).searchParams.get('token'), null, 'the token is not left in the address bar');
        await w.page.locator('.spacer .row', { hasText: 'token-test=1' }).click();
        await w.page.locator('aside.detail pre.body.json').waitFor();
        await w.page.locator('.live.on').waitFor();
        assert.deepEqual(w.errors, []);
        assert.deepEqual(w.foreign, []);
      } finally {
        await w.close();
      }
    });
  });

  describe('on loopback, under a base path', () => {
    let fx: InspectFixture;
    before(async () => {
      fx = await startInspect(['--ui-base-path', '/egress/']);
    });
    after(() => fx?.close());

    test('a Host that is not an allowed name is refused, naming the flag that allows it', async () => {
      const res = await get(fx.uiPort, '/egress/', { host: 'rebind.attacker.example' });
      assert.equal(res.status, 403);
      assert.match(res.body, /--ui-allowed-hosts/);
    });

    test('the app works under the prefix: list, detail, CA page, relative links only', async () => {
      await fx.curlVia([`${fx.https.origin}/echo?prefix=1`]);
      const w = await watchedPage(browser, fx.ui);
      try {
        const bare = await get(fx.uiPort, '/egress');
        assert.ok(bare.status >= 301 && bare.status <= 308 && /\/egress\/$/.test(bare.location ?? ''), `redirect to the slash: ${bare.status} ${bare.location}`);
        await w.page.goto(`${fx.ui}/egress/`);
        await w.page.locator('.spacer .row', { hasText: 'prefix=1' }).click();
        await w.page.locator('aside.detail pre.body.json').waitFor();
        assert.match(w.page.url(), /\/egress\/\?flow=/);
        await w.page.getByText('Trust the CA').click();
        await w.page.waitForURL(`${fx.ui}/egress/ca`);
        const [download] = await Promise.all([w.page.waitForEvent('download'), w.page.getByText('Download egresskit-ca.crt').click()]);
        assert.match(await readFile((await download.path())!, 'utf8'), /BEGIN CERTIFICATE/);
        assert.deepEqual(w.errors, []);
        assert.deepEqual(w.foreign, []);
      } finally {
        await w.close();
      }
    });
  });
});
