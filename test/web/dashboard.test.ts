/**
 * The dashboard in a real browser against a real server, a real daemon and
 * the fake agent (issue 6, "What it must show"). Each test leaves a
 * screenshot in test-results/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardPlugin } from '../../src/server/dashboard.js';
import { transition } from '../../src/store/tasks.js';
import { fakeAgent } from '../helpers/config.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, testLog, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import {
  colorOf,
  columnOf,
  dashboardDir,
  errors,
  firstLoadTiming,
  launchBrowser,
  markPage,
  navLink,
  pageClock,
  pageWasNotReloaded,
  RESULTS,
  screenshot,
  signIn,
  storedToken,
  transcriptLines,
  type Browser,
} from './browser.js';

const MISSING_BINARY = '/nonexistent/bin/ghost-agent';
/** Leases long enough that a busy machine (browser, server, daemon and agents on two cores) does not lose runs. */
const runtime = { lease: '15s' };

describe('the dashboard in Chromium', () => {
  let s: TestServer;
  let d: TestDaemon;
  let broken: TestDaemon;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    s = await startTestServer({ config: { runtime }, plugins: [dashboardPlugin(testLog, dashboardDir())] });
    d = await startTestDaemon(s.url, s.daemonToken, { name: 'laptop', config: { runtime } });
    // A runtime whose config names an agent whose binary does not exist.
    broken = await startTestDaemon(s.url, s.daemonToken, { name: 'broken-box', config: { runtime, agents: [fakeAgent(), { name: 'ghost', binary: MISSING_BINARY }] } });
    page = await browser.newPage();
    // Signed in once for the tests that do not test signing in (each may run alone with -t).
    await signIn(page, s.url, s.adminToken);
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await broken?.stop();
    await d?.stop();
    await s?.close();
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  const statusOf = (p: Page) => p.getAttribute('[data-testid="task-page"]', 'data-status');
  /** Waits for the task page to show `status`; on timeout the error says what the server and the page had. */
  const pageShows = async (p: Page, taskId: string, status: string, timeoutMs = 30_000) => {
    try {
      await until(async () => (await statusOf(p)) === status, `the page to show ${status}`, timeoutMs);
    } catch (err) {
      const t = await s.admin.tasks.get(taskId).catch(() => undefined);
      const shown = await statusOf(p).catch(() => 'no task page');
      const live = await p.getAttribute('[data-testid="stream-state"]', 'data-state').catch(() => '?');
      throw new Error(`${(err as Error).message}; the server has ${t?.status} (cancel requested: ${t?.cancelRequested}), the page shows ${shown}, stream ${live}`, { cause: err });
    }
  };

  it('signs in with #token, creates a task, streams its lines live, and moves it to completed on the board without a reload', async () => {
    const started = Date.now();
    await signIn(page, s.url, s.adminToken);
    const ready = await pageClock(page);
    const timing = await firstLoadTiming(page);
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'web-first-load.json'), JSON.stringify({ ...timing, boardRendered: ready, wallMs: Date.now() - started }, null, 2));
    console.log(`first load: DOM interactive ${timing.domInteractive.toFixed(0)} ms, board rendered ${ready.toFixed(0)} ms, ${timing.jsBytes} bytes of JS`);

    // The token went into localStorage and out of the address bar.
    expect(page.url()).not.toContain('token');
    expect(await storedToken(page)).toBe(s.adminToken);
    await markPage(page);

    await navLink(page, 'New task').click();
    await page.getByLabel('Prompt').fill('work --lines 60 --rate 10');
    expect(await page.locator('#agent option').allTextContents()).toContain('fake');
    await page.selectOption('#agent', 'fake');
    await page.getByLabel('Priority').fill('5');
    await page.getByRole('button', { name: 'Create task' }).click();
    await page.waitForURL(/#\/tasks\/[0-9a-f-]{36}$/);
    const taskId = page.url().split('/').at(-1)!;

    // Lines arrive while the agent is still running.
    const partial = await until(async () => {
      const lines = await transcriptLines(page);
      return lines.length >= 5 && lines.length < 60 && (await statusOf(page)) === 'executing' ? lines : undefined;
    }, 'the first lines to appear while the agent runs', 30_000);
    expect(partial.map((l) => l.text)).toEqual(partial.map((_, i) => `line ${i + 1}`));
    await screenshot(page, 'task-live');

    // To the board (a hash change, not a reload): the card moves to completed by itself.
    await navLink(page, 'Board').click();
    await page.waitForSelector(`[data-task-id="${taskId}"]`);
    await until(async () => (await columnOf(page, taskId)) === 'completed', 'the card to move to completed', 30_000);
    expect(await pageWasNotReloaded(page)).toBe(true);
    expect(await page.locator(`[data-task-id="${taskId}"]`).textContent()).toMatch(/fake.*P5/);
    await screenshot(page, 'board-completed');

    // Back on the task: the whole transcript, once each, in order.
    await page.locator(`[data-task-id="${taskId}"]`).click();
    await pageShows(page, taskId, 'completed');
    const lines = await until(async () => {
      const l = await transcriptLines(page);
      return l.length >= 60 ? l : undefined;
    }, 'the whole transcript', 30_000);
    expect(lines.map((l) => l.text)).toEqual(Array.from({ length: 60 }, (_, i) => `line ${i + 1}`));
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    await expect.poll(() => page.locator('[data-testid="timeline"] li').count(), { timeout: 15_000 }).toBe(4);
    await expect.poll(() => page.locator('[data-testid="run"]').first().textContent(), { timeout: 15_000 }).toMatch(/code 0/);
    await screenshot(page, 'task-completed');
  }, 120_000);

  it('cancels a long task from its page', async () => {
    const task = await s.admin.tasks.create({ assignedAgent: 'fake', prompt: 'long --lines 1000 --rate 5' });
    await page.goto(`${s.url}/#/tasks/${task.id}`);
    await until(async () => (await statusOf(page)) === 'executing' && (await transcriptLines(page)).length > 0, 'the task to run', 30_000);
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.getByRole('button', { name: 'Yes, cancel it' }).click();
    await pageShows(page, task.id, 'cancelled');
    expect((await s.admin.tasks.get(task.id)).status).toBe('cancelled');
    await expect.poll(() => page.locator('[data-testid="run"]').first().textContent(), { timeout: 15_000 }).toMatch(/cancelled/);
    expect(await page.getByRole('button', { name: 'Cancel task' }).count()).toBe(0);
    await screenshot(page, 'task-cancelled');
  }, 60_000);

  it('answers a blocked task, which goes back to the queue', async () => {
    // No runtime has this agent, so nothing claims it; the store then plays
    // dispatcher and daemon to park it in blocked with a question.
    const task = await s.admin.tasks.create({ assignedAgent: 'nobody-has-this', prompt: 'needs a decision' });
    await transition(s.db, { taskId: task.id, from: ['queued'], to: 'claimed', actor: 'dispatcher' });
    await transition(s.db, { taskId: task.id, from: ['claimed'], to: 'executing', actor: 'daemon' });
    await transition(s.db, { taskId: task.id, from: ['executing'], to: 'blocked', actor: 'daemon', set: { question: 'Push to main or open a pull request?' } });

    await page.goto(`${s.url}/#/tasks/${task.id}`);
    await pageShows(page, task.id, 'blocked');
    expect(await page.getByTestId('question').textContent()).toContain('Push to main or open a pull request?');
    await page.getByLabel('Your answer').fill('Open a pull request.');
    await screenshot(page, 'task-blocked');
    await page.getByRole('button', { name: 'Send answer' }).click();
    await pageShows(page, task.id, 'queued');
    const after = await s.admin.tasks.get(task.id);
    expect(after).toMatchObject({ status: 'queued', answer: 'Open a pull request.' });
    await expect.poll(() => page.locator('[data-testid="timeline"] li').last().textContent(), { timeout: 15_000 }).toMatch(/queued.*user.*answered/s);
  }, 60_000);

  it('flags a missing agent binary in red on Runtimes, with the path it tried', async () => {
    await page.goto(`${s.url}/#/runtimes`);
    const card = page.locator('[data-testid="runtime"]', { hasText: 'broken-box' });
    const ghost = card.locator('[data-testid="agent-row"][data-agent="ghost"]');
    await ghost.waitFor();
    expect(await ghost.getAttribute('data-agent-status')).toBe('missing');
    expect(await ghost.textContent()).toContain(MISSING_BINARY);
    const color = await colorOf(ghost.locator('.bad-text'));
    const [r, g, b] = color.match(/\d+/g)!.map(Number);
    expect(r! > 150 && g! < 100 && b! < 100, `missing agent drawn in red, not ${color}`).toBe(true);
    // The healthy agent next to it is not flagged.
    expect(await card.locator('[data-agent="fake"]').getAttribute('data-agent-status')).toBe('ok');
    await ghost.scrollIntoViewIfNeeded();
    await screenshot(page, 'runtimes-missing-agent');
  }, 30_000);
});
