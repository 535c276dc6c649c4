import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import type { Browser, Page } from 'playwright-core';
import { run } from '../helpers/exec.js';
import { harErrors } from '../unit/inspect/flows/har-validate.js';
import { launch, SKIP_BROWSER, watchedPage, type Watched } from './browser.js';
import { startInspect, type InspectFixture } from './proxy-fixture.js';

/**
 * The page's document, inside functions that run in the page (this file is compiled without the
 * DOM's types; strings would need eval, which the app's CSP refuses).
 */
type PageDocument = { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };

const rows = (page: Page, text?: string) => page.locator('.spacer .row', text === undefined ? {} : { hasText: text });

async function rowCount(page: Page, text: string, n: number): Promise<void> {
  await page.waitForFunction(
    ([t, want]) => Array.from((globalThis as unknown as { document: PageDocument }).document.querySelectorAll('.spacer .row')).filter((r) => r.textContent?.includes(t as string)).length === want,
    [text, n] as const,
    { timeout: 10_000 },
  );
}

describe('inspect UI in a browser (Debian chromium)', { skip: SKIP_BROWSER }, () => {
  let fx: InspectFixture;
  let browser: Browser;
  let w: Watched;
  /** Console errors a test expects (a 400 a bad filter answers is logged by the browser). */
  let allowedErrors: RegExp | undefined;

  before(async () => {
    fx = await startInspect();
    browser = await launch();
    w = await watchedPage(browser, fx.ui);
  });
  after(async () => {
    await w?.close();
    await browser?.close();
    await fx?.close();
  });
  afterEach(() => {
    const errors = w.errors.splice(0).filter((e) => !allowedErrors?.test(e));
    allowedErrors = undefined;
    assert.deepEqual(errors, [], 'no console errors');
    assert.deepEqual(w.foreign.splice(0), [], 'no request outside the UI origin');
  });

  test('the page loads with no console error and no request outside its origin', async () => {
    const res = await w.page.goto(`${fx.ui}/`);
    assert.equal(res?.status(), 200);
    await w.page.locator('.list').waitFor();
    await w.page.locator('.live.on').waitFor();
  });

  test('a flow appears live, without a reload, after a curl through the proxy', async () => {
    const r = await fx.curlVia([`${fx.https.origin}/echo?live=1`]);
    assert.equal(r.status, 200);
    await rows(w.page, '/echo?live=1').waitFor({ timeout: 10_000 });
    assert.equal(await rows(w.page, '/echo?live=1').locator('.c-proto').textContent(), 'h1');
  });

  test('the detail view shows the request body and the pretty-printed JSON response', async () => {
    const r = await fx.curlVia(['-H', 'content-type: application/json', '--data-binary', '{"hello":"world","n":[1,2]}', `${fx.https.origin}/echo?detail=1`]);
    assert.equal(r.status, 200);
    await rows(w.page, '/echo?detail=1').click();
    const detail = w.page.locator('aside.detail');
    await detail.locator('pre.body.json').waitFor();
    const response = await detail.locator('pre.body.json').textContent();
    assert.match(response ?? '', /^\{\n {2}"method": "POST",\n {2}"path": "\/echo\?detail=1",/);
    assert.match(await w.page.url(), /[?&]flow=/);
    await detail.getByRole('tab', { name: 'Request' }).click();
    assert.equal(await detail.locator('pre.body').textContent(), '{\n  "hello": "world",\n  "n": [\n    1,\n    2\n  ]\n}');
    await detail.getByRole('tab', { name: 'Timing' }).click();
    await detail.getByText('Total').waitFor();
    await detail.getByRole('tab', { name: 'Policy' }).click();
    await detail.getByText('allowed', { exact: true }).waitFor();
  });

  test('keyboard: down moves the cursor, Enter opens the flow, Escape closes it', async () => {
    await w.page.goto(`${fx.ui}/`);
    await rows(w.page).first().waitFor();
    await w.page.locator('.list').focus();
    await w.page.keyboard.press('ArrowDown');
    await w.page.keyboard.press('Enter');
    const second = await rows(w.page).nth(1).getAttribute('data-id');
    await w.page.waitForURL((u) => u.searchParams.get('flow') === second);
    await w.page.locator('aside.detail').waitFor();
    await w.page.locator('.list').focus();
    await w.page.keyboard.press('Escape');
    await w.page.locator('aside.detail').waitFor({ state: 'detached' });
    await w.page.keyboard.press('/');
    // Focus moves on the next render.
    await w.page.waitForFunction(() => (globalThis as unknown as { document: { activeElement: { getAttribute(n: string): string | null } | null } }).document.activeElement?.getAttribute('aria-label') === 'filter');
  });

  // Needs the filter language (engineer A: api/flows?filter=, 400 with a position).
  test('the filter narrows the list and lives in the URL; a bad filter shows its error and position', async () => {
    await fx.curlVia(['-X', 'PUT', '--data-binary', 'x', `${fx.https.origin}/echo?filter=put`]);
    await w.page.goto(`${fx.ui}/`);
    await rows(w.page, '/echo?filter=put').waitFor();
    await w.page.getByLabel('filter').fill('~m PUT');
    await w.page.waitForURL((u) => u.searchParams.get('filter') === '~m PUT');
    await w.page.waitForFunction(() => Array.from((globalThis as unknown as { document: PageDocument }).document.querySelectorAll('.spacer .c-method')).every((c) => c.textContent === 'PUT'), undefined, { timeout: 10_000 });
    assert.equal(await rows(w.page).count(), 1);
    // The URL keeps the view: a reload (or a colleague) sees the same list.
    await w.page.reload();
    assert.equal(await w.page.getByLabel('filter').inputValue(), '~m PUT');
    await rows(w.page, '/echo?filter=put').waitFor();
    assert.equal(await rows(w.page).count(), 1);
    allowedErrors = /status of 400/;
    await w.page.getByLabel('filter').fill('~m PUT & (');
    const err = w.page.locator('.filter-error');
    await err.waitFor();
    const caret = (await err.locator('pre').textContent()) ?? '';
    const [shown, marker] = caret.split('\n');
    assert.equal(shown, '~m PUT & (');
    assert.match(marker ?? '', /^ *\^$/);
    assert.match((await err.textContent()) ?? '', /at character \d+/);
    // The last good list stays: never a blank list.
    assert.equal(await rows(w.page).count(), 1);
    await w.page.getByLabel('filter').fill('');
    await err.waitFor({ state: 'detached' });
  });

  test('copy as curl: the command, run with curl, reaches the same upstream (a new flow)', async () => {
    await w.page.goto(`${fx.ui}/`);
    await rows(w.page, '/echo?detail=1').first().click();
    await w.page.getByRole('button', { name: 'Copy as curl' }).click();
    const command = (await w.page.locator('.copied textarea').inputValue()).trim();
    assert.match(command, /^curl --proxy 'http:\/\/127\.0\.0\.1:\d+' --cacert '[^']+ca\.crt' -X 'POST' /);
    assert.equal(await w.page.evaluate('navigator.clipboard.readText()'), `${command}\n`);
    const r = await run('sh', ['-c', `${command} -sS -o /dev/null -w '%{http_code}'`]);
    assert.equal(r.stdout, '200', r.stderr);
    await rowCount(w.page, '/echo?detail=1', 2);
  });

  test('resend, with a header edited, creates a second flow and opens it', async () => {
    await fx.curlVia([`${fx.https.origin}/echo?resend=1`]);
    await w.page.goto(`${fx.ui}/`);
    await rows(w.page, '/echo?resend=1').click();
    await w.page.getByRole('button', { name: 'Resend…' }).click();
    const headers = w.page.getByLabel('headers');
    await headers.fill(`${await headers.inputValue()}\nX-Resent: yes`);
    const first = await rows(w.page, '/echo?resend=1').getAttribute('data-id');
    await w.page.getByRole('button', { name: 'Send through the proxy' }).click();
    // The new flow opens once the proxy has answered.
    await w.page.waitForURL((u) => u.searchParams.get('flow') !== first);
    await rowCount(w.page, '/echo?resend=1', 2);
    await w.page.locator('aside.detail pre.body.json', { hasText: '"x-resent": "yes"' }).waitFor();
  });

  test('HAR download: the view as HAR 1.2, valid against the schema', async () => {
    await w.page.goto(`${fx.ui}/`);
    await rows(w.page).first().waitFor();
    const [download] = await Promise.all([w.page.waitForEvent('download'), w.page.getByText('HAR ↓').first().click()]);
    const har = JSON.parse(await readFile((await download.path())!, 'utf8')) as { log: { entries: Array<{ request: { url: string } }> } };
    assert.deepEqual(harErrors(har), []);
    assert.ok(har.log.entries.some((e) => e.request.url.endsWith('/echo?detail=1')));
  });

  test('HAR import: a colleague\'s capture shows as read-only flows marked imported', async () => {
    const har = {
      log: {
        version: '1.2',
        creator: { name: 'chrome', version: '1' },
        entries: ['one', 'two', 'three'].map((p, i) => ({
          startedDateTime: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
          time: 12,
          request: { method: 'GET', url: `https://colleague.example/${p}`, httpVersion: 'HTTP/2.0', headers: [{ name: 'accept', value: '*/*' }], queryString: [], cookies: [], headersSize: -1, bodySize: 0 },
          response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/2.0', headers: [{ name: 'content-type', value: 'application/json' }], cookies: [], content: { size: 9, mimeType: 'application/json', text: `{"n":${i}}` }, redirectURL: '', headersSize: -1, bodySize: 9 },
          cache: {},
          timings: { send: 1, wait: 10, receive: 1 },
        })),
      },
    };
    await w.page.goto(`${fx.ui}/`);
    await w.page.getByLabel('import HAR').setInputFiles({ name: 'colleague.har', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(har)) });
    await w.page.getByText('Imported 3 entries from colleague.har').waitFor();
    await rowCount(w.page, 'colleague.example', 3);
    const row = rows(w.page, '/two');
    assert.equal(await row.locator('.badge').textContent(), 'imported');
    assert.equal(await row.locator('.c-proto').textContent(), 'h2');
    await row.click();
    await w.page.locator('aside.detail pre.body.json').getByText('"n": 1').waitFor();
  });

  test('untrusted text from traffic stays text: markup in a host, path, header or body never runs', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const har = {
      log: {
        version: '1.2',
        creator: { name: 'x', version: '1' },
        entries: [{
          startedDateTime: new Date().toISOString(),
          time: 1,
          request: { method: 'GET', url: `https://evil.example/${encodeURIComponent(evil)}`, httpVersion: 'HTTP/1.1', headers: [{ name: 'x-evil', value: `<script>window.__pwned=2</script>${evil}` }], queryString: [], cookies: [], headersSize: -1, bodySize: 0 },
          response: { status: 200, statusText: 'OK', httpVersion: 'HTTP/1.1', headers: [{ name: 'content-type', value: 'text/html' }], cookies: [], content: { size: 60, mimeType: 'text/html', text: `<script>window.__pwned=3</script>${evil}` }, redirectURL: '', headersSize: -1, bodySize: 60 },
          cache: {},
          timings: { send: 0, wait: 1, receive: 0 },
        }],
      },
    };
    await w.page.goto(`${fx.ui}/`);
    await w.page.getByLabel('import HAR').setInputFiles({ name: 'evil.har', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(har)) });
    await rows(w.page, 'evil.example').click();
    await w.page.locator('aside.detail pre.body', { hasText: '<script>window.__pwned=3</script>' }).waitFor();
    await w.page.locator('aside.detail').getByRole('tab', { name: 'Request' }).click();
    await w.page.locator('aside.detail').getByText('<script>window.__pwned=2</script>', { exact: false }).waitFor();
    assert.equal(await w.page.evaluate('window.__pwned'), undefined);
    assert.equal(await w.page.locator('img[src="x"], .detail script, .list script').count(), 0);
  });

  test('the CA page: instructions for each runtime, and a ca.crt that verifies a leaf the proxy minted', async () => {
    await w.page.goto(`${fx.ui}/ca`);
    // The page fills in the proxy's address and the fingerprint once api/meta answers.
    await w.page.locator('code.fp').waitFor();
    const text = (await w.page.locator('main').textContent()) ?? '';
    for (const needle of ['update-ca-certificates', 'apk add', 'update-ca-trust', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'keytool -importcert', 'egresskit k8s ca-configmap', 'k8s inject', '--ca-configmap', fx.proxy.url]) {
      assert.ok(text.includes(needle), `the CA page mentions ${needle}`);
    }
    const [download] = await Promise.all([w.page.waitForEvent('download'), w.page.getByText('Download egresskit-ca.crt').click()]);
    const caPem = await readFile((await download.path())!, 'utf8');
    const ca = new X509Certificate(caPem);
    assert.ok(text.includes(ca.fingerprint256), 'the page shows the fingerprint of the CA it serves');
    // A TLS connection through the proxy, trusting nothing but the downloaded CA.
    const leaf = await mintedLeaf(fx, caPem);
    assert.ok(leaf.verify(ca.publicKey), 'the minted leaf is signed by the downloaded CA');
    assert.ok(leaf.checkIssued(ca));
  });

  test('delete one flow, then clear all', async () => {
    await w.page.goto(`${fx.ui}/`);
    await rows(w.page).first().waitFor();
    const before = await rows(w.page).count();
    const id = await rows(w.page).first().getAttribute('data-id');
    await rows(w.page).first().click();
    await w.page.getByRole('button', { name: 'Delete' }).click();
    await w.page.locator(`.row[data-id="${id}"]`).waitFor({ state: 'detached' });
    assert.equal(await rows(w.page).count(), before - 1);
    assert.equal((await fetch(`${fx.ui}/api/flows/${id}`)).status, 404);
    w.page.once('dialog', (d) => void d.accept());
    await w.page.getByRole('button', { name: 'Clear' }).click();
    await w.page.getByText('No flows yet').waitFor();
  });
});

/** The leaf certificate the proxy presents for the HTTPS upstream, verified against caPem only. */
function mintedLeaf(fx: InspectFixture, caPem: string): Promise<X509Certificate> {
  const url = new URL(fx.proxy.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method: 'CONNECT', path: `localhost:${fx.https.port}`, agent: false });
    req.on('error', reject);
    req.on('connect', (res, socket: Socket) => {
      if (res.statusCode !== 200) return reject(new Error(`CONNECT answered ${res.statusCode}`));
      const tls = tlsConnect({ socket, servername: 'localhost', ca: caPem }, () => {
        const cert = tls.getPeerX509Certificate();
        tls.destroy();
        if (cert) resolve(cert);
        else reject(new Error('no peer certificate'));
      });
      tls.on('error', reject);
    });
    req.end();
  });
}
