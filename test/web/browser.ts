/**
 * Browser tests of the dashboard (issue 6): Debian's Chromium driven by
 * playwright-core, headless, against a real server serving web/dist. A
 * browser is never downloaded; when Chromium is missing the tests fail with
 * a message saying so (SWITCHYARD_REQUIRE_BROWSER=1, as in CI, says the same
 * louder) — they never skip silently.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { track, untrack } from '../helpers/leaks.js';

export const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'web');
export const RESULTS = join(ROOT, 'test-results');

/** The flags the machine needs: no sandbox as root, and no network of Chromium's own (the machine has none). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function requireChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const required = process.env.SWITCHYARD_REQUIRE_BROWSER === '1';
  throw new Error(
    `Chromium was not found at ${CHROMIUM}. The dashboard's browser tests need Debian's Chromium (apt-get install chromium; .ci/run installs it)` +
      ` or SWITCHYARD_CHROMIUM pointing at one. They never download a browser.${required ? ' SWITCHYARD_REQUIRE_BROWSER=1: a missing browser is an error.' : ''}`,
  );
}

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/**
 * The built dashboard to serve: web/dist when it is newer than the sources
 * (`npm test` builds first), else a fresh build in a temporary folder, so a
 * test never runs against stale files and concurrent test files never write
 * the same folder.
 */
export function dashboardDir(): string {
  const dist = join(WEB, 'dist');
  const index = join(dist, 'index.html');
  const sources = Math.max(newestMtime(join(WEB, 'src')), newestMtime(join(WEB, 'index.html')), newestMtime(join(WEB, 'vite.config.ts')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return dist;
  const out = mkdtempSync(join(tmpdir(), 'sy-web-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', WEB, '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`building the dashboard failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** Chromium with a fresh profile in a temporary --user-data-dir, at laptop size. */
export async function launchBrowser(opts: { width?: number; height?: number } = {}): Promise<Browser> {
  requireChromium();
  const profile = mkdtempSync(join(tmpdir(), 'sy-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 860 },
  });
  const b: Browser = {
    context,
    async newPage() {
      const page = await context.newPage();
      // Uncaught errors in the page fail the test that made them.
      page.on('pageerror', (err) => errors.push(err));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      untrack(b);
    },
  };
  track(b, 'chromium');
  return b;
}

/** Uncaught exceptions of any page, checked by `expectNoPageErrors`. */
export const errors: Error[] = [];

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(RESULTS, { recursive: true });
  const path = join(RESULTS, `web-${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** Texts of the transcript's lines and their seqs, as shown. */
export async function transcriptLines(page: Page): Promise<{ seq: number; text: string }[]> {
  return page.$$eval('[data-testid="transcript"] li.ev', (lis) =>
    lis.map((li) => ({ seq: Number(li.getAttribute('data-seq')), text: (li.querySelector('.ev-body .prose')?.textContent ?? '').trim() })),
  );
}

// ----------------------------------------------------- functions run in the page
// The test code compiles without the DOM library (it must not leak into the
// server's code through the root tsconfig), so the few browser globals these
// page functions touch are declared here, as narrowly as they are used.
interface PageElement {
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
}
declare const document: { querySelector(selector: string): PageElement | null };
declare const window: Record<string, unknown>;
declare const localStorage: { getItem(key: string): string | null };
declare function getComputedStyle(el: unknown): { color: string };
declare class MutationObserver {
  constructor(callback: () => void);
  observe(target: PageElement, options: { attributes: boolean }): void;
}

export interface FirstLoad {
  /** Navigation start to DOM interactive, ms. */
  domInteractive: number;
  domContentLoaded: number;
  load: number;
  /** Bytes of JavaScript as sent (the server does not compress). */
  jsBytes: number;
}

export function firstLoadTiming(page: Page): Promise<FirstLoad> {
  // A string: Node's types of `performance` lack the browser's entry types.
  return page.evaluate(`(() => {
    const n = performance.getEntriesByType('navigation')[0];
    const js = performance.getEntriesByType('resource').filter((r) => r.name.endsWith('.js'));
    return { domInteractive: n.domInteractive, domContentLoaded: n.domContentLoadedEventEnd, load: n.loadEventEnd, jsBytes: js.reduce((b, r) => b + r.encodedBodySize, 0) };
  })()`);
}

/** Milliseconds since navigation start, in the page. */
export const pageClock = (page: Page): Promise<number> => page.evaluate('performance.now()');

/** A marker a reload would wipe out. */
export const markPage = (page: Page) => page.evaluate(() => void (window.noReload = true));
export const pageWasNotReloaded = (page: Page) => page.evaluate(() => window.noReload === true);

/** Opens the dashboard signed in with `token` (a #token= link, as `switchyard up` prints one) and waits for the board. */
export async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/#token=${token}`);
  await page.waitForSelector('h1:has-text("Board")');
}

/** A link of the dashboard's main navigation. */
export const navLink = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

export const storedToken = (page: Page) => page.evaluate(() => localStorage.getItem('switchyard.token'));

/** The board column a task's card is in. */
export const columnOf = (page: Page, taskId: string) =>
  page.evaluate((id) => document.querySelector(`[data-task-id="${id}"]`)?.closest('[data-status]')?.getAttribute('data-status') ?? null, taskId);

export const colorOf = (locator: Locator) => locator.evaluate((el) => getComputedStyle(el).color);

/** Starts recording every state the live indicator shows; `streamStates` reads them. */
export const recordStreamStates = (page: Page) =>
  page.evaluate(() => {
    const states: string[] = [];
    window.streamStates = states;
    const el = document.querySelector('[data-testid="stream-state"]')!;
    new MutationObserver(() => states.push(el.getAttribute('data-state') ?? '')).observe(el, { attributes: true });
  });
export const streamStates = (page: Page) => page.evaluate(() => window.streamStates as string[]);
