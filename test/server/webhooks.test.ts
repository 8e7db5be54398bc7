/**
 * Webhooks against a receiver on 127.0.0.1: the subscription API and its
 * rules (secret shown once, workspace admins only, 404 across workspaces),
 * then deliveries — signed, retried with backoff and logged, kept across a
 * server restart, never crossing workspaces, the test event, the Slack
 * shape. Task events here come from cancelling queued tasks (no runtime
 * needed); test/e2e/webhooks.test.ts runs them through a daemon.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedWebhook, WebhookEvent } from '../../src/client/index.js';
import { startReceiver, signatureValid, type Receiver } from '../helpers/receiver.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { apiError, call } from './http.js';

/** Short backoffs so retries happen within a test: retry n waits [½, 1] · 300 ms · 2^(n−1). */
const WEBHOOKS = { backoff_base: '300ms', backoff_cap: '2s', poll_interval: '50ms', max_attempts: 4, timeout: '2s' };
const LATER = () => new Date(Date.now() + 3_600_000).toISOString();

let s: TestServer;
const receivers: Receiver[] = [];

beforeAll(async () => {
  s = await startTestServer({ config: { webhooks: WEBHOOKS } });
});
afterAll(async () => {
  for (const r of receivers) await r.close();
  await s?.close();
});

async function receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
  const r = await startReceiver(...args);
  receivers.push(r);
  return r;
}

/** A task.cancelled event in this workspace: a task that waits an hour, cancelled. */
async function cancelledTask(ws: WorkspaceHandle, prompt = 'wait for it'): Promise<string> {
  const t = await ws.client().tasks.create({ assignedAgent: 'fake', prompt, runAfter: LATER() });
  await ws.client().tasks.cancel(t.id);
  return t.id;
}

const taskOf = (e: Record<string, unknown>) => (e as unknown as WebhookEvent).data.task!;

describe('the webhooks API', () => {
  let A: WorkspaceHandle;
  let B: WorkspaceHandle;
  beforeAll(async () => {
    A = await s.workspace('hooks-api-a');
    B = await s.workspace('hooks-api-b');
  });

  it('answers the secret once, on creation (and rotation), never afterwards', async () => {
    const admin = A.client('admin');
    const created = await admin.webhooks.create({ url: 'https://example.com/hook', events: ['task.completed', 'task.failed'], description: 'CI' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({ workspaceId: 'hooks-api-a', format: 'json', active: true, includeRetries: false, secretPrefix: created.secret.slice(0, 10) });

    for (const path of ['/api/v1/webhooks', `/api/v1/webhooks/${created.id}`]) {
      const a = await call(s.url, 'GET', path, { token: A.tokens.admin });
      expect(a.status).toBe(200);
      expect(a.text).not.toContain(created.secret);
      expect(a.text).not.toContain('"secret"');
    }
    const patched = await admin.webhooks.update(created.id, { events: ['task.blocked'], active: false });
    expect(patched.secret).toBeUndefined();
    expect(patched).toMatchObject({ events: ['task.blocked'], active: false });

    const rotated = await admin.webhooks.update(created.id, { rotateSecret: true });
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);
    expect((await admin.webhooks.get(created.id)).secretPrefix).toBe(rotated.secret!.slice(0, 10));
  });

  it('refuses bad subscriptions with the field named', async () => {
    const bad = [
      [{ url: 'ftp://example.com/x', events: ['task.completed'] }, 'url'],
      [{ url: 'not a url', events: ['task.completed'] }, 'url'],
      [{ url: 'https://example.com', events: ['task.exploded'] }, 'events.0'],
      [{ url: 'https://example.com', events: [] }, 'events'],
      [{ url: 'https://example.com', events: ['task.failed', 'task.failed'] }, 'events'],
      [{ url: 'https://example.com', events: ['task.failed'], format: 'teams' }, 'format'],
      [{ url: 'https://example.com', events: ['task.failed'], secret: 'short' }, 'secret'],
      [{ url: 'https://example.com', events: ['task.failed'], workspaceId: 'hooks-api-b' }, 'workspaceId'],
    ] as const;
    for (const [body, field] of bad) {
      const a = await call(s.url, 'POST', '/api/v1/webhooks', { token: A.tokens.admin, body });
      expect(a.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(apiError(a).details), JSON.stringify(body)).toContain(field);
    }
  });

  it('is for workspace admins, and another workspace\'s webhook does not exist', async () => {
    const w = await A.client('admin').webhooks.create({ url: 'https://example.com/a', events: ['task.completed'] });
    for (const role of ['member', 'viewer', 'daemon'] as const) {
      expect((await call(s.url, 'GET', '/api/v1/webhooks', { token: A.tokens[role] })).status, role).toBe(403);
      expect((await call(s.url, 'POST', '/api/v1/webhooks', { token: A.tokens[role], body: { url: 'https://example.com', events: ['task.failed'] } })).status, role).toBe(403);
    }
    const requests: [string, string, unknown?][] = [
      ['GET', `/api/v1/webhooks/${w.id}`],
      ['PATCH', `/api/v1/webhooks/${w.id}`, { url: 'https://attacker.example/steal' }],
      ['PATCH', `/api/v1/webhooks/${w.id}`, { rotateSecret: true }],
      ['DELETE', `/api/v1/webhooks/${w.id}`],
      ['GET', `/api/v1/webhooks/${w.id}/deliveries`],
      ['POST', `/api/v1/webhooks/${w.id}/test`, {}],
    ];
    for (const [method, path, body] of requests) {
      const a = await call(s.url, method, path, { token: B.tokens.admin, body });
      expect(a.status, `${method} ${path}`).toBe(404);
      expect(apiError(a).code).toBe('not_found');
    }
    expect((await B.client('admin').webhooks.list()).items).toEqual([]);
    expect((await A.client('admin').webhooks.get(w.id)).url).toBe('https://example.com/a');
    // Naming another workspace is refused outright; the instance admin may.
    expect((await call(s.url, 'GET', '/api/v1/webhooks?workspace=hooks-api-a', { token: B.tokens.admin })).status).toBe(403);
    expect((await call(s.url, 'GET', `/api/v1/webhooks/${w.id}?workspace=hooks-api-a`, { token: s.adminToken })).status).toBe(200);

    const gone = await A.client('admin').webhooks.delete(w.id);
    expect(gone.id).toBe(w.id);
    expect((await call(s.url, 'GET', `/api/v1/webhooks/${w.id}`, { token: A.tokens.admin })).status).toBe(404);
  });
});

describe('deliveries', () => {
  it('POSTs the event with its headers, signed with the subscription\'s secret', async () => {
    const ws = await s.workspace('hooks-sign');
    const r = await receiver();
    const hook = await ws.client('admin').webhooks.create({ url: r.url, events: ['task.cancelled'] });
    const taskId = await cancelledTask(ws, 'Deploy the docs\nsecond line');
    const [got] = await r.waitFor(1);

    expect(got!.method).toBe('POST');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['x-switchyard-event']).toBe('task.cancelled');
    expect(signatureValid(got!, hook.secret)).toBe(true);
    expect(signatureValid(got!, `${hook.secret}x`)).toBe(false);
    const ts = Number(got!.headers['x-switchyard-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(30);

    const e = got!.json as unknown as WebhookEvent;
    expect(e).toMatchObject({ type: 'task.cancelled', workspaceId: 'hooks-sign' });
    expect(taskOf(got!.json)).toMatchObject({ id: taskId, status: 'cancelled', assignedAgent: 'fake', title: 'Deploy the docs', willRetry: false });

    // The delivery id in the header is the log's.
    const log = await until(async () => {
      const { items } = await ws.client('admin').webhooks.deliveries(hook.id);
      return items[0]?.status === 'delivered' ? items : undefined;
    }, 'the delivery to be logged as delivered');
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ id: got!.headers['x-switchyard-delivery'], eventId: e.id, event: 'task.cancelled', attempts: 1, lastStatus: 200, lastError: null });
    expect(log[0]!.payload).toEqual(got!.json);
  });

  it('retries a failing receiver with backoff until it answers 2xx, and the log shows every attempt', async () => {
    const ws = await s.workspace('hooks-retry');
    const r = await receiver((_req, n) => (n < 2 ? 500 : 204));
    const hook = await ws.client('admin').webhooks.create({ url: r.url, events: ['task.cancelled'] });
    await cancelledTask(ws);

    // After the first answer the log shows the failure and when it is tried again.
    const first = await until(async () => (await ws.client('admin').webhooks.deliveries(hook.id)).items.find((d) => d.attempts >= 1 && d.lastError), 'the first failure in the log');
    expect(first).toMatchObject({ status: 'pending', lastStatus: 500 });
    expect(first.lastError).toContain('HTTP 500: receiver says 500');

    const got = await r.waitFor(3);
    expect(got.map((g) => g.headers['x-switchyard-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(got.map((g) => g.headers['x-switchyard-delivery'])).size).toBe(1);
    expect(new Set(got.map((g) => g.body)).size).toBe(1);
    // Backoff: retry n waits at least half of 300 ms · 2^(n−1).
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(140);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(290);

    const done = await until(async () => {
      const d = (await ws.client('admin').webhooks.deliveries(hook.id)).items[0];
      return d?.status === 'delivered' ? d : undefined;
    }, 'the delivery to be delivered');
    expect(done).toMatchObject({ attempts: 3, lastStatus: 204, lastError: null, nextAttemptAt: null });
    // Nothing more arrives.
    await new Promise((res) => setTimeout(res, 400));
    expect(r.received).toHaveLength(3);
  });

  it('gives up after max_attempts and marks the delivery failed with the last error', async () => {
    const ws = await s.workspace('hooks-giveup');
    const r = await receiver(() => 503);
    const hook = await ws.client('admin').webhooks.create({ url: r.url, events: ['task.cancelled'] });
    await cancelledTask(ws);
    const failed = await until(async () => {
      const d = (await ws.client('admin').webhooks.deliveries(hook.id, { status: 'failed' })).items[0];
      return d;
    }, 'the delivery to fail for good');
    expect(failed).toMatchObject({ attempts: 4, lastStatus: 503, nextAttemptAt: null });
    expect(failed.lastError).toContain('HTTP 503');
    expect(r.received).toHaveLength(4);

    // A receiver that is not there at all: the error says so.
    const closed = await receiver();
    await closed.close();
    const nowhere = await ws.client('admin').webhooks.create({ url: closed.url, events: ['task.cancelled'] });
    await cancelledTask(ws);
    const refused = await until(async () => (await ws.client('admin').webhooks.deliveries(nowhere.id)).items.find((d) => d.lastError), 'a connection error in the log');
    expect(refused.lastError).toMatch(/ECONNREFUSED/);
    expect(refused.lastStatus).toBeNull();
  });

  it('loses nothing across a server restart: a pending retry and a request in flight are delivered by the next server', async () => {
    const ws = await s.workspace('hooks-restart');
    // First request: 500. Second (a new task's event): held open until the server stops. Then: 200.
    const r = await receiver((req, n) => (n === 0 ? 500 : n === 1 ? 'hang' : 200));
    const hook = await ws.client('admin').webhooks.create({ url: r.url, events: ['task.cancelled'] });
    const one = await cancelledTask(ws, 'one');
    await r.waitFor(1);
    const two = await cancelledTask(ws, 'two');
    await r.waitFor(2, 'the second event to be in flight');

    await s.restart();

    const got = await r.waitFor(4, 'both events to arrive after the restart');
    const byTask = (id: string) => got.filter((g) => taskOf(g.json).id === id);
    expect(byTask(one).map((g) => g.headers['x-switchyard-attempt'])).toEqual(['1', '2']);
    // The request cut off by the shutdown was given back uncounted.
    expect(byTask(two).map((g) => g.headers['x-switchyard-attempt'])).toEqual(['1', '1']);
    for (const id of [one, two]) expect(new Set(byTask(id).map((g) => g.headers['x-switchyard-delivery'])).size).toBe(1);
    for (const g of got) expect(signatureValid(g, hook.secret)).toBe(true);

    const log = await until(async () => {
      const { items } = await ws.client('admin').webhooks.deliveries(hook.id);
      return items.length === 2 && items.every((d) => d.status === 'delivered') ? items : undefined;
    }, 'both deliveries delivered');
    expect(log.map((d) => d.attempts).sort()).toEqual([1, 2]);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.received).toHaveLength(4);
  });

  it('never gives a workspace another workspace\'s events', async () => {
    const A = await s.workspace('hooks-iso-a');
    const B = await s.workspace('hooks-iso-b');
    const ra = await receiver();
    const rb = await receiver();
    const all = ['task.completed', 'task.failed', 'task.blocked', 'task.cancelled', 'daemon.offline', 'daemon.throttled'] as const;
    await A.client('admin').webhooks.create({ url: ra.url, events: [...all] });
    await B.client('admin').webhooks.create({ url: rb.url, events: [...all] });
    // The same URL subscribed in both: it hears each workspace's own events once.
    const shared = await receiver();
    await A.client('admin').webhooks.create({ url: shared.url, events: ['task.cancelled'] });
    await B.client('admin').webhooks.create({ url: shared.url, events: ['task.cancelled'] });

    const a = [await cancelledTask(A), await cancelledTask(A)];
    const b = [await cancelledTask(B)];
    await ra.waitFor(2);
    await rb.waitFor(1);
    await shared.waitFor(3);
    await new Promise((res) => setTimeout(res, 300));

    expect(ra.received.map((g) => (g.json as unknown as WebhookEvent).workspaceId)).toEqual(['hooks-iso-a', 'hooks-iso-a']);
    expect(ra.received.map((g) => taskOf(g.json).id).sort()).toEqual([...a].sort());
    expect(rb.received.map((g) => taskOf(g.json).id)).toEqual(b);
    expect(rb.received.map((g) => (g.json as unknown as WebhookEvent).workspaceId)).toEqual(['hooks-iso-b']);
    expect(shared.received.map((g) => taskOf(g.json).id).sort()).toEqual([...a, ...b].sort());
  });

  it('sends a test event on request, and not to a paused webhook', async () => {
    const ws = await s.workspace('hooks-test');
    const r = await receiver();
    const hook = await ws.client('admin').webhooks.create({ url: r.url, events: ['task.failed'] });
    const queued = await ws.client('admin').webhooks.test(hook.id);
    expect(queued).toMatchObject({ webhookId: hook.id, event: 'webhook.test', status: 'pending' });
    const [got] = await r.waitFor(1);
    expect(got!.headers['x-switchyard-event']).toBe('webhook.test');
    expect(got!.headers['x-switchyard-delivery']).toBe(queued.id);
    expect(signatureValid(got!, hook.secret)).toBe(true);
    expect(got!.json).toMatchObject({ type: 'webhook.test', workspaceId: 'hooks-test', data: { message: expect.any(String) } });
    await until(async () => (await ws.client('admin').webhooks.delivery(hook.id, queued.id)).status === 'delivered', 'the test delivery to be logged');

    await ws.client('admin').webhooks.update(hook.id, { active: false });
    const paused = await call(s.url, 'POST', `/api/v1/webhooks/${hook.id}/test`, { token: ws.tokens.admin, body: {} });
    expect(paused.status).toBe(409);
    expect(apiError(paused).message).toContain('paused');
    // A paused webhook gets no new events either.
    await cancelledTask(ws);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.received).toHaveLength(1);
  });

  it('sends Slack\'s incoming-webhook shape with format slack', async () => {
    const ws = await s.workspace('hooks-slack');
    const r = await receiver();
    const hook: CreatedWebhook = await ws.client('admin').webhooks.create({ url: r.url, events: ['task.cancelled'], format: 'slack' });
    const taskId = await cancelledTask(ws, 'Rotate the <staging> keys & certs');
    const [got] = await r.waitFor(1);
    expect(signatureValid(got!, hook.secret)).toBe(true);
    const msg = got!.json as { text: string; blocks: { type: string; text?: { type: string; text: string }; elements?: { type: string; text: string }[] }[] };
    expect(Object.keys(msg).sort()).toEqual(['blocks', 'text']);
    expect(msg.text).toBe(':no_entry_sign: Task cancelled: Rotate the <staging> keys & certs');
    expect(msg.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    // mrkdwn escapes &, < and > so a prompt cannot inject links or mentions.
    expect(msg.blocks[0]!.text!.text).toContain('Rotate the &lt;staging&gt; keys &amp; certs');
    expect(msg.blocks[1]!.type).toBe('context');
    expect(msg.blocks[1]!.elements!.map((e) => e.text).join(' ')).toContain(taskId);
    // The log keeps the event itself.
    const [logged] = (await ws.client('admin').webhooks.deliveries(hook.id)).items;
    expect(logged!.payload).toMatchObject({ type: 'task.cancelled', data: { task: { id: taskId } } });
  });
});
