/**
 * The Webhooks section of the Settings page in Chromium (issue 9): a
 * workspace admin creates a webhook against a receiver on 127.0.0.1 by
 * keyboard, sees the signing secret once, sends a test event and watches its
 * delivery turn delivered (the receiver got it, correctly signed) or failed,
 * pauses it (the test action is disabled, and the API refuses it), rotates
 * the secret and deletes the webhook; members and viewers see why they have
 * no webhook controls. Screenshots go to test-results/.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../src/client/index.js';
import { dashboardPlugin } from '../../src/server/dashboard.js';
import { signatureValid, startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestServer, testLog, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { colorOf, dashboardDir, errors, launchBrowser, navLink, screenshot, signIn, type Browser } from './browser.js';

/** Short backoff and two attempts, so a refused delivery fails within the test. */
const WEBHOOKS = { backoff_base: '300ms', backoff_cap: '1s', poll_interval: '50ms', max_attempts: 2, timeout: '2s' };
const WS = 'web-hooks';
/**
 * Evaluated in the page: how far the page scrolls sideways, and for a failure's message the elements that reach past the window's
 * edge (those inside a box that scrolls on its own are listed too, since an absolutely placed one escapes it).
 */
const SIDEWAYS = `(() => {
  const root = document.documentElement;
  const overflow = root.scrollWidth - root.clientWidth;
  const culprits = [];
  if (overflow > 0) {
    // The deepest elements whose removal ends the overflow (each put back at once).
    for (const el of document.querySelectorAll('body *')) {
      const was = el.style.display;
      el.style.display = 'none';
      const fits = root.scrollWidth <= root.clientWidth;
      el.style.display = was;
      if (fits) culprits.push(el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).replaceAll(' ', '.') : '') + ' ' + Math.round(el.getBoundingClientRect().right) + ' ' + (el.textContent ?? '').slice(0, 30));
    }
  }
  return { overflow, past: culprits.slice(-8) };
})()`;

describe('webhooks on the settings page', () => {
  let s: TestServer;
  let ws: WorkspaceHandle;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchBrowser();
    // The secret's copy button writes to the clipboard; the test reads it back.
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write']);
    receiver = await startReceiver();
    s = await startTestServer({ config: { webhooks: WEBHOOKS }, plugins: [dashboardPlugin(testLog, dashboardDir())] });
    ws = await s.workspace(WS);
    page = await browser.newPage();
  }, 60_000);
  afterAll(async () => {
    await page?.close();
    await browser?.close();
    await s?.close();
    await receiver?.close();
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  /** Signs in with `token` (a #token= link replaces the session) and opens Settings. */
  const openSettings = async (token: string, role: string) => {
    await signIn(page, s.url, token);
    await navLink(page, 'Settings').click();
    await page.getByText(`Signed in as`).filter({ hasText: role }).waitFor();
  };
  const section = () => page.getByTestId('webhooks');
  const item = (id: string) => page.locator(`[data-testid="webhook"][data-webhook-id="${id}"]`);
  const rows = (hook: Locator) => hook.locator('[data-testid="delivery"]');
  /** Waits for the delivery's row to show `status`; on timeout says what the server and the page had. */
  const rowShows = async (hook: Locator, hookId: string, deliveryId: string, status: string) => {
    const row = hook.locator(`[data-delivery-id="${deliveryId}"]`);
    try {
      await until(async () => (await row.getAttribute('data-status', { timeout: 1_000 })) === status, `the delivery to show ${status}`, 30_000);
    } catch (err) {
      const d = await ws.client('admin').webhooks.delivery(hookId, deliveryId).catch(() => undefined);
      const shown = await row.getAttribute('data-status', { timeout: 1_000 }).catch(() => 'no row');
      throw new Error(`${(err as Error).message}; the server has ${d?.status} after ${d?.attempts} attempts, the page shows ${shown}`, { cause: err });
    }
    return row;
  };
  /** Clicks "Send test event" and answers the id of the delivery row that appears for it. */
  const sendTest = async (hook: Locator): Promise<string> => {
    const before = new Set(await rows(hook).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-delivery-id'))));
    await hook.getByRole('button', { name: 'Send test event' }).click();
    return until(async () => {
      const ids = await rows(hook).evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-delivery-id')));
      return ids.find((id) => id && !before.has(id));
    }, 'the test delivery to appear in the log', 15_000);
  };

  it('creates a webhook (by keyboard), shows the secret once, and a test event turns delivered, correctly signed', async () => {
    await openSettings(ws.tokens.admin, 'admin');
    await section().getByRole('heading', { name: `Webhooks of ${WS}` }).waitFor();
    expect(await section().getByText('No webhooks yet').count()).toBe(1);

    // By keyboard: Enter on the button opens the form with the URL focused, Space ticks an event, Enter in the URL submits.
    await section().getByRole('button', { name: 'New webhook' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('input[type="url"]:focus').waitFor();
    expect(await section().getByRole('checkbox', { name: /task\.completed/ }).isChecked()).toBe(true);
    expect(await section().getByRole('checkbox', { name: /task\.failed/ }).isChecked()).toBe(true);
    await page.keyboard.type(receiver.url);
    await section().getByRole('checkbox', { name: /task\.blocked/ }).focus();
    await page.keyboard.press('Space');
    await section().getByRole('checkbox', { name: 'Include retries' }).check();
    await section().getByLabel('Description (optional)').fill('CI pipeline');
    await section().getByLabel('URL', { exact: true }).focus();
    await page.keyboard.press('Enter');

    // The secret, once, focused, with "you will not see it again" and a copy button.
    const notice = section().getByTestId('webhook-secret');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('You will not see it again');
    const secret = (await notice.locator('.command code').textContent())!;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(await page.locator('.focus-target:focus').count()).toBe(1);
    await notice.getByRole('button', { name: 'Copy secret' }).click();
    await notice.getByText('Copied').waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);

    const [hook] = (await ws.client('admin').webhooks.list()).items;
    expect(hook).toMatchObject({ url: receiver.url, events: ['task.completed', 'task.failed', 'task.blocked'], includeRetries: true, active: true, format: 'json', description: 'CI pipeline', secretPrefix: secret.slice(0, 10) });
    const card = item(hook!.id);
    expect(await card.getAttribute('data-active')).toBe('true');
    expect(await card.textContent()).toContain(`${secret.slice(0, 10)}…`);
    await screenshot(page, 'webhook-created');

    // Hidden, and after a reload nowhere on the page.
    await notice.getByRole('button', { name: 'I saved it, hide it' }).click();
    expect(await notice.count()).toBe(0);
    await page.reload();
    await card.waitFor();
    expect(await page.content()).not.toContain(secret);

    // A test event: its row appears in the log, pending or already delivered, and turns delivered.
    const deliveryId = await sendTest(card);
    expect(await card.getByRole('button', { name: 'Hide deliveries' }).getAttribute('aria-expanded')).toBe('true');
    const row = await rowShows(card, hook!.id, deliveryId, 'delivered');
    expect(await row.textContent()).toMatch(/webhook\.test.*HTTP 200.*delivered/s);

    const [got] = await receiver.waitFor(1, 'the test event');
    expect(got!.headers['x-switchyard-event']).toBe('webhook.test');
    expect(got!.headers['x-switchyard-delivery']).toBe(deliveryId);
    expect(signatureValid(got!, secret)).toBe(true);
    await screenshot(page, 'webhook-delivered');
  }, 90_000);

  it('shows a refused delivery as failed, pauses (test disabled and refused), resumes, rotates the secret and deletes', async () => {
    await openSettings(ws.tokens.admin, 'admin');
    const created = await ws.client('admin').webhooks.create({ url: receiver.url, events: ['task.cancelled'], description: 'refused' });
    await page.reload();
    const card = item(created.id);
    await card.waitFor();

    // The receiver refuses: the delivery is retried once, then failed, with the status it got.
    receiver.script(() => 500);
    const refused = await sendTest(card);
    const row = await rowShows(card, created.id, refused, 'failed');
    expect(await row.textContent()).toMatch(/HTTP 500.*gave up after 2/s);
    receiver.script(() => 200);

    // Paused: the state says so, the test action is disabled and the API refuses it.
    await card.getByRole('button', { name: 'Pause' }).click();
    await until(async () => (await card.getAttribute('data-active')) === 'false', 'the webhook to show paused');
    expect(await card.getByTestId('webhook-state').textContent()).toBe('paused');
    const test = card.getByRole('button', { name: 'Send test event' });
    expect(await test.isDisabled()).toBe(true);
    expect(await test.getAttribute('aria-describedby')).toBeTruthy();
    const refusal = await ws
      .client('admin')
      .webhooks.test(created.id)
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(refusal).toBeInstanceOf(ApiError);
    expect((refusal as ApiError).status).toBe(409);
    expect((await ws.client('admin').webhooks.get(created.id)).active).toBe(false);
    await screenshot(page, 'webhook-paused');

    await card.getByRole('button', { name: 'Resume' }).click();
    await until(async () => (await card.getAttribute('data-active')) === 'true', 'the webhook to show active');
    expect(await test.isEnabled()).toBe(true);

    // Rotation is confirmed, shows the new secret once, and deliveries are signed with it.
    await card.getByRole('button', { name: 'Rotate secret' }).click();
    await card.getByRole('button', { name: 'Keep the secret' }).click();
    expect(await card.getByTestId('webhook-secret').count()).toBe(0);
    await card.getByRole('button', { name: 'Rotate secret' }).click();
    await card.getByRole('button', { name: 'Rotate now' }).click();
    const notice = card.getByTestId('webhook-secret');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('You will not see it again');
    const rotated = (await notice.locator('.command code').textContent())!;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(created.secret);
    const seen = receiver.received.length;
    const signedAnew = await sendTest(card);
    await rowShows(card, created.id, signedAnew, 'delivered');
    const got = receiver.received.slice(seen).find((r) => r.headers['x-switchyard-delivery'] === signedAnew);
    expect(got && signatureValid(got, rotated)).toBe(true);
    expect(got && signatureValid(got, created.secret)).toBe(false);

    // Deletion is confirmed too.
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.getByRole('button', { name: 'Delete now' }).click();
    await card.waitFor({ state: 'detached' });
    expect((await ws.client('admin').webhooks.list()).items.map((w) => w.id)).not.toContain(created.id);
  }, 90_000);

  it('fits a narrow window in the dark theme', async () => {
    const admin = ws.client('admin');
    const created = await admin.webhooks.create({ url: receiver.url, events: ['task.failed'], format: 'slack', description: 'a long description that has to wrap on a phone' });
    const sent = await admin.webhooks.test(created.id);
    await until(async () => (await admin.webhooks.delivery(created.id, sent.id)).status === 'delivered', 'the test event to be delivered', 30_000);
    await openSettings(ws.tokens.admin, 'admin');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      const card = item(created.id);
      await card.getByRole('button', { name: 'Deliveries' }).click();
      const badge = card.locator(`[data-delivery-id="${sent.id}"][data-status="delivered"] .badge`);
      await badge.waitFor();
      // The page itself never scrolls sideways; the delivery table scrolls in its own box.
      const sideways = await page.evaluate<{ overflow: number; past: string[] }>(SIDEWAYS);
      expect(sideways.overflow, `the page scrolls sideways; past the edge: ${sideways.past.join(' | ')}`).toBeLessThanOrEqual(0);
      // Dark theme colours: the delivered badge is the dark palette's green.
      expect(await colorOf(badge)).toBe('rgb(74, 222, 128)');
      await card.scrollIntoViewIfNeeded();
      await screenshot(page, 'webhooks-narrow-dark');
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
      await page.emulateMedia({ colorScheme: 'light' });
    }
  }, 60_000);

  it('shows members and viewers why they cannot manage webhooks, with no controls', async () => {
    // A webhook exists, so an empty section would not prove anything.
    await ws.client('admin').webhooks.create({ url: receiver.url, events: ['task.completed'] });
    for (const role of ['member', 'viewer'] as const) {
      await openSettings(ws.tokens[role], role);
      const notice = section().getByTestId('webhooks-not-admin');
      await notice.waitFor();
      expect(await notice.textContent()).toMatch(new RegExp(`admin token of this workspace.*${role}`, 's'));
      expect(await page.locator('[data-testid="webhook"]').count()).toBe(0);
      for (const name of ['New webhook', 'Send test event', 'Pause', 'Delete', 'Rotate secret']) {
        expect(await page.getByRole('button', { name }).count(), `${role} sees "${name}"`).toBe(0);
      }
    }
    await screenshot(page, 'webhooks-member');
  }, 60_000);
});
