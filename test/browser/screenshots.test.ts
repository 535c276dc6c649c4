import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { FlowStore } from '../../src/flows/flow-store.js';
import { createUiServer } from '../../src/ui/ui-server.js';
import { launch, SKIP_BROWSER, watchedPage } from './browser.js';
import { sampleFlows } from './sample-flows.js';

/**
 * The README's screenshots: a list of a few hundred flows and the detail of a JSON response.
 * Written to a temporary directory; regenerate docs/ui-list.png and docs/ui-detail.png with
 *   EGRESSKIT_SCREENSHOTS_DIR=docs node --test dist/test/browser/screenshots.test.js
 */
describe('UI screenshots', { skip: SKIP_BROWSER }, () => {
  const store = new FlowStore({ maxFlows: 1000 });
  const flows = sampleFlows(320);
  const server = createUiServer({ store, caCertPem: '', version: '0.1.0', mode: 'inspect', proxy: () => ({ host: '127.0.0.1', port: 8080, scheme: 'http' }) });
  let browser: Browser;
  let origin: string;
  let dir: string;

  before(async () => {
    for (const f of flows) store.add(f);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = process.env.EGRESSKIT_SCREENSHOTS_DIR ? resolve(process.env.EGRESSKIT_SCREENSHOTS_DIR) : await mkdtemp(join(tmpdir(), 'egk-shots-'));
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    server.closeAllConnections();
    server.close();
  });

  test('the list and the detail of a JSON response', async () => {
    const w = await watchedPage(browser, origin);
    try {
      await w.page.goto(`${origin}/`);
      await w.page.getByText('320 flows').waitFor();
      await w.page.screenshot({ path: join(dir, 'ui-list.png') });
      const json = flows.findLast((f) => f.host === 'api.github.com' && f.response?.status === 200 && f.request.url.includes('pulls'))!;
      await w.page.goto(`${origin}/?flow=${json.id}`);
      await w.page.locator('aside.detail pre.body.json').waitFor();
      await w.page.screenshot({ path: join(dir, 'ui-detail.png') });
      for (const name of ['ui-list.png', 'ui-detail.png']) {
        const png = await readFile(join(dir, name));
        assert.equal(png.subarray(1, 4).toString(), 'PNG');
      }
      assert.deepEqual(w.errors, []);
      assert.deepEqual(w.foreign, []);
      console.log(`screenshots in ${dir}`);
    } finally {
      await w.close();
    }
  });
});
