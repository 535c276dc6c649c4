import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Browser tests drive Debian's chromium (`apt-get install chromium`), never a downloaded build.
 * EGRESSKIT_CHROMIUM points at another binary; EGRESSKIT_TEST_SKIP_BROWSER=1 skips them (the
 * only way they are skipped: a missing browser fails).
 */
export const CHROMIUM = process.env.EGRESSKIT_CHROMIUM ?? '/usr/bin/chromium';
export const SKIP_BROWSER = process.env.EGRESSKIT_TEST_SKIP_BROWSER === '1' ? 'EGRESSKIT_TEST_SKIP_BROWSER=1' : false;

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium (or set EGRESSKIT_CHROMIUM; EGRESSKIT_TEST_SKIP_BROWSER=1 skips these tests)`);
  }
  // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export interface Watched {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors. */
  errors: string[];
  /** Requests the page tried to make outside the UI's origin (they were aborted). */
  foreign: string[];
  close(): Promise<void>;
}

/**
 * A page that may only talk to `origin`: any other request is aborted and recorded, and every
 * console error or uncaught exception is recorded, so a test can assert both lists are empty.
 */
export async function watchedPage(browser: Browser, origin: string, opts: { acceptDownloads?: boolean; colorScheme?: 'light' | 'dark' } = {}): Promise<Watched> {
  const context = await browser.newContext({ acceptDownloads: opts.acceptDownloads ?? true, viewport: { width: 1400, height: 820 }, colorScheme: opts.colorScheme ?? 'light' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const errors: string[] = [];
  const foreign: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`) || url === origin || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  return { context, page, errors, foreign, close: () => context.close() };
}
