import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { toHar } from '../../src/flows/har.js';
import { launch, SKIP_BROWSER, watchedPage } from './browser.js';
import { startInspect, type InspectFixture } from './proxy-fixture.js';
import { sampleFlows } from './sample-flows.js';

const N = 10_000;

/**
 * 10,000 flows in the store (a HAR import, the fastest way to fill it): the list renders, scrolls
 * to the end and opens the oldest flow. The timings are printed, never asserted (the machine's
 * load decides them); what is asserted is that it works and that the DOM stays small.
 */
describe(`${N} flows in a browser`, { skip: SKIP_BROWSER }, () => {
  let fx: InspectFixture;
  let browser: Browser;

  before(async () => {
    fx = await startInspect([], `inspect:\n  maxFlows: ${N + 1000}\n`);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await fx?.close();
  });

  test('the list stays responsive: load, scroll to the end, open the oldest flow', async () => {
    const flows = sampleFlows(N);
    const har = JSON.stringify(toHar(flows));
    let t = performance.now();
    const res = await fetch(`${fx.ui}/api/har`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: har });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { imported: N, kept: N });
    const importMs = performance.now() - t;

    const w = await watchedPage(browser, fx.ui);
    try {
      t = performance.now();
      await w.page.goto(`${fx.ui}/`);
      await w.page.getByText(`${N} flows`).waitFor({ timeout: 60_000 });
      const loadMs = performance.now() - t;
      const rendered = await w.page.locator('.spacer .row').count();
      assert.ok(rendered < 120, `only the rows in view are in the DOM (${rendered})`);

      t = performance.now();
      await w.page.locator('.list').evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      const last = w.page.locator('.spacer .row').last();
      // The oldest flow is the list's last row (newest first).
      await w.page.locator('.spacer .row', { hasText: flows[0]!.request.url.slice(0, 30) }).last().waitFor();
      const scrollMs = performance.now() - t;
      const lastId = await last.getAttribute('data-id');
      assert.ok(lastId);

      t = performance.now();
      await last.click();
      await w.page.locator('aside.detail .tab-body').waitFor();
      await w.page.waitForURL((u) => u.searchParams.get('flow') === lastId);
      const openMs = performance.now() - t;

      t = performance.now();
      await w.page.locator('.list').focus();
      for (let i = 0; i < 50; i++) await w.page.keyboard.press('ArrowUp');
      await w.page.keyboard.press('Enter');
      await w.page.waitForURL((u) => u.searchParams.get('flow') !== lastId);
      const keysMs = performance.now() - t;

      console.log(
        `${N} flows: HAR import ${importMs.toFixed(0)} ms (${(har.length / 1024 / 1024).toFixed(1)} MiB); page load to ${N} rows listed ${loadMs.toFixed(0)} ms; ` +
          `scroll to the end ${scrollMs.toFixed(0)} ms; open the last flow ${openMs.toFixed(0)} ms; 50 × ArrowUp + Enter ${keysMs.toFixed(0)} ms; rows in the DOM ${rendered}`,
      );
      assert.deepEqual(w.errors, []);
      assert.deepEqual(w.foreign, []);
    } finally {
      await w.close();
    }
  });
});
