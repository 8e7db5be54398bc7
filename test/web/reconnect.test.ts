/**
 * The server restarts while a task page is open: the page reconnects (with
 * backoff), resubscribes after the last seq it has, and ends with the whole
 * transcript, each line once, in order (issue 6).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardPlugin } from '../../src/server/dashboard.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, testLog, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { dashboardDir, errors, launchBrowser, recordStreamStates, screenshot, signIn, streamStates, transcriptLines, type Browser } from './browser.js';

const LINES = 200;
/** Leases long enough that a busy machine does not lose the run while the server is down. */
const runtime = { lease: '15s' };

describe('the task page across a server restart', () => {
  let s: TestServer;
  let d: TestDaemon;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    s = await startTestServer({ config: { runtime }, plugins: [dashboardPlugin(testLog, dashboardDir())] });
    d = await startTestDaemon(s.url, s.daemonToken, { config: { runtime } });
    page = await browser.newPage();
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await d?.stop();
    await s?.close();
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  it('recovers and shows the complete transcript, unduplicated', async () => {
    const ws = await s.workspace('web-reconnect');
    const task = await ws.client().tasks.create({ assignedAgent: 'fake', prompt: `work --lines ${LINES} --rate 25` });
    await signIn(page, s.url, ws.tokens.viewer);
    await page.goto(`${s.url}/#/tasks/${task.id}`);
    await until(async () => (await transcriptLines(page)).length >= 20, 'the first lines', 30_000);

    await recordStreamStates(page);
    const before = (await transcriptLines(page)).length;
    await s.restart();
    await until(async () => (await page.getAttribute('[data-testid="stream-state"]', 'data-state')) === 'open', 'the page to reconnect', 30_000);
    const states = await streamStates(page);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('open');

    await until(async () => (await page.getAttribute('[data-testid="task-page"]', 'data-status')) === 'completed', 'the task to complete', 45_000);
    const lines = await until(async () => {
      const l = await transcriptLines(page);
      return l.length >= LINES ? l : undefined;
    }, 'the whole transcript', 30_000);
    expect(before).toBeLessThan(LINES);
    // Every line once, in order; seqs strictly increasing with no gap.
    expect(lines.map((l) => l.text)).toEqual(Array.from({ length: LINES }, (_, i) => `line ${i + 1}`));
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
    expect(await page.getByTestId('event-count').textContent()).toBe(String(LINES));
    await screenshot(page, 'task-after-restart');
  }, 90_000);
});
