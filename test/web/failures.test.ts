/**
 * The Failures page in Chromium against a real server and runtime: runs that
 * really failed (the fake agent's exit code, a command agent's login error),
 * counted by class, agent, model and prompt over a time window, each row
 * linking to its tasks. Signed in with a workspace token; another
 * workspace's failure never shows. Leaves screenshots in test-results/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardPlugin } from '../../src/server/dashboard.js';
import type { SwitchyardClient } from '../../src/client/index.js';
import { authbotAgent, fakeAgent } from '../helpers/config.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, testLog, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { failTask, until } from '../helpers/wait.js';
import { dashboardDir, errors, launchBrowser, navLink, screenshot, signIn, type Browser } from './browser.js';

/** Leases long enough that a busy machine (browser, server, daemon and agents on two cores) does not lose runs. */
const CONFIG = { runtime: { lease: '15s', cpu_threshold: 2 }, agents: [fakeAgent(), authbotAgent] };

/** Fails a task; a page test on a busy machine gets 30 s. */
const fail = (c: SwitchyardClient, agent: string, prompt: string, model?: string) => failTask(c, agent, prompt, { ...(model ? { model } : {}), timeoutMs: 30_000 });

describe('the Failures page in Chromium', () => {
  let s: TestServer;
  let ws: WorkspaceHandle;
  let d: TestDaemon;
  let browser: Browser;
  let page: Page;
  const ids: string[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
    s = await startTestServer({ config: CONFIG, plugins: [dashboardPlugin(testLog, dashboardDir())] });
    ws = await s.workspace('web-failures');
    d = await startTestDaemon(s.url, s.daemonToken, { name: 'laptop', config: CONFIG });
    const c = ws.client();
    ids.push(await fail(c, 'fake', '--exit 3 migrate the billing tables', 'm-1'));
    ids.push(await fail(c, 'fake', '--exit 3 migrate the billing tables', 'm-1'));
    ids.push(await fail(c, 'authbot', 'publish the release'));
    // Another workspace's failure, which this page must never count.
    await fail(s.admin, 'fake', '--exit 9 somebody else');
    page = await browser.newPage();
    await signIn(page, s.url, ws.tokens.viewer);
  }, 120_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await d?.stop();
    await s?.close();
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  const rows = (p: Page) => p.locator('[data-testid="failure-pattern"]');
  /** Each row's key and count, as shown. */
  const shown = (p: Page) =>
    rows(p).evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-key') ?? '', Number(li.querySelector('.bar-count')?.textContent ?? '')] as [string, number]));
  const group = (p: Page, name: string) => p.getByRole('group', { name: 'Group by' }).getByRole('button', { name, exact: true });
  const windowButton = (p: Page, name: string) => p.getByRole('group', { name: 'Time window' }).getByRole('button', { name, exact: true });

  it('counts the failures by class, agent, model and prompt, with bars scaled to the largest', async () => {
    await navLink(page, 'Failures').click();
    await expect.poll(() => shown(page), { timeout: 15_000 }).toEqual([
      ['agent_error', 2],
      ['auth', 1],
    ]);
    expect(await page.getByTestId('failures-summary').textContent()).toMatch(/^3 failed runs since .+ in 2 groups by failure class\./);
    // The largest group's bar fills the track; the other is half as long.
    const widths = await rows(page).locator('.bar').evaluateAll((bars) => bars.map((b) => b.getAttribute('style') ?? ''));
    expect(widths).toEqual(['width: 100%;', 'width: 50%;']);
    expect(await rows(page).first().textContent()).toContain('agents: fake 2');
    await screenshot(page, 'failures-by-class');

    await group(page, 'Agent').click();
    await expect.poll(() => shown(page), { timeout: 15_000 }).toEqual([
      ['fake', 2],
      ['authbot', 1],
    ]);
    expect(await rows(page).first().textContent()).toContain('classes: agent_error 2');

    await group(page, 'Model').click();
    await expect.poll(() => shown(page), { timeout: 15_000 }).toEqual([
      ['m-1', 2],
      ['', 1],
    ]);
    expect(await rows(page).last().textContent()).toContain('(no model)');

    await group(page, 'Prompt').click();
    await expect.poll(() => rows(page).locator('.bar-key').allTextContents(), { timeout: 15_000 }).toEqual(['--exit 3 migrate the billing tables', 'publish the release']);
    await screenshot(page, 'failures-by-prompt');
  }, 60_000);

  it('links each row to its tasks', async () => {
    await group(page, 'Failure class').click();
    await expect.poll(() => shown(page), { timeout: 15_000 }).toEqual([
      ['agent_error', 2],
      ['auth', 1],
    ]);
    const links = rows(page).first().getByRole('link');
    // The most recently failed first.
    expect(await links.evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual([`#/tasks/${ids[1]}`, `#/tasks/${ids[0]}`]);
    await links.first().click();
    await page.waitForURL(new RegExp(`#/tasks/${ids[1]}$`));
    await until(async () => (await page.getAttribute('[data-testid="task-page"]', 'data-status')) === 'failed', 'the task page to show the failed task', 15_000);
  }, 30_000);

  it('narrows the window: failures older than 24 hours leave it', async () => {
    await page.goto(`${s.url}/#/failures`);
    await expect.poll(() => shown(page), { timeout: 15_000 }).toHaveLength(2);
    await s.db.query(`UPDATE task_runs SET ended_at = ended_at - interval '3 days' WHERE task_id = ANY($1::uuid[])`, [ids]);
    try {
      await windowButton(page, '24 hours').click();
      await page.getByTestId('failures-empty').waitFor({ timeout: 15_000 });
      expect(await page.getByTestId('failures-empty').textContent()).toMatch(/^No failed runs since /);
      await windowButton(page, '30 days').click();
      await expect.poll(() => shown(page), { timeout: 15_000 }).toEqual([
        ['agent_error', 2],
        ['auth', 1],
      ]);
    } finally {
      await s.db.query(`UPDATE task_runs SET ended_at = ended_at + interval '3 days' WHERE task_id = ANY($1::uuid[])`, [ids]);
    }
  }, 30_000);
});
