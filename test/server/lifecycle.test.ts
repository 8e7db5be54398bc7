/**
 * The task lifecycle of DESIGN.md §2 over the REST API: create, list, show,
 * cancel, retry and answer, with 409 and the current state whenever the
 * transition table refuses; then the same tasks run by a real runtime.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/core/api.js';
import type { TaskStatus } from '../../src/core/taskState.js';
import { transition } from '../../src/store/tasks.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { until } from '../helpers/wait.js';
import { apiError, call } from './http.js';

/** CI machines are busy (2 CPUs running PGlite and child processes): a runtime that throttled itself on load would make these tests slow and flaky. */
const UNTHROTTLED = { runtime: { cpu_threshold: 2 } };
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.close();
});

/** Moves a task along the table as the dispatcher and a runtime would, without either. */
async function driveTo(taskId: string, target: 'claimed' | 'executing' | 'completed' | 'failed' | 'blocked'): Promise<void> {
  const path: [TaskStatus, TaskStatus, 'dispatcher' | 'daemon'][] = [
    ['queued', 'claimed', 'dispatcher'],
    ['claimed', 'executing', 'daemon'],
  ];
  if (target === 'completed' || target === 'failed' || target === 'blocked') path.push(['executing', target, 'daemon']);
  for (const [from, to, actor] of path) {
    if (from === target) break;
    const set = to === 'claimed' ? { attempt: 1 } : to === 'blocked' ? { question: 'Which branch?' } : to === 'completed' || to === 'failed' ? { finished_at: new Date() } : {};
    const done = await s.db.tx((q) => transition(q, { taskId, from: [from], to, actor, reason: `test: ${to}`, set }));
    expect(done, `${taskId} ${from} → ${to}`).toBeDefined();
    if (to === target) return;
  }
}

describe('probes and documents', () => {
  it('answers /healthz and /readyz without a token', async () => {
    const health = await call(s.url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
    const ready = await call(s.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ status: 'ready' });
  });

  it('lists every task, workspace and token route in /openapi.json and serves /docs', async () => {
    const doc = await call(s.url, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    const paths = (doc.json as { paths: Record<string, Record<string, unknown>> }).paths;
    const routes = Object.entries(paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /api/v1/workspaces',
        'GET /api/v1/workspaces',
        'GET /api/v1/workspaces/{id}',
        'PATCH /api/v1/workspaces/{id}',
        'DELETE /api/v1/workspaces/{id}',
        'POST /api/v1/workspaces/{id}/tokens',
        'GET /api/v1/workspaces/{id}/tokens',
        'DELETE /api/v1/tokens/{id}',
        'POST /api/v1/tasks',
        'GET /api/v1/tasks',
        'GET /api/v1/tasks/{id}',
        'GET /api/v1/tasks/{id}/runs',
        'GET /api/v1/tasks/{id}/events',
        'POST /api/v1/tasks/{id}/cancel',
        'POST /api/v1/tasks/{id}/retry',
        'POST /api/v1/tasks/{id}/answer',
        'GET /api/v1/daemons',
      ]),
    );
    const docs = await call(s.url, 'GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
    expect(docs.text).toMatch(/swagger/i);
  });

  it('answers an unknown route 404 in the JSON error shape', async () => {
    for (const path of ['/nope', '/api/v1/nope', '/api/v2/tasks']) {
      const a = await call(s.url, 'GET', path, { token: s.adminToken });
      expect(a.status, path).toBe(404);
      expect(apiError(a)).toMatchObject({ code: 'not_found', message: expect.stringContaining(path) });
    }
  });
});

describe('create, list, show, cancel', () => {
  let ws: WorkspaceHandle;
  beforeAll(async () => {
    ws = await s.workspace('lc-basic');
  });

  it('creates a queued task, shows it with its timeline, and cancels it once', async () => {
    const created = await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: { assignedAgent: 'fake', prompt: 'Fix the flaky login test', priority: 5, metadata: { ticket: 'ENG-42' } } });
    expect(created.status).toBe(201);
    const task = created.json as Task;
    expect(task).toMatchObject({ workspaceId: 'lc-basic', assignedAgent: 'fake', prompt: 'Fix the flaky login test', status: 'queued', priority: 5, attempt: 0, maxAttempts: 3, metadata: { ticket: 'ENG-42' }, actions: ['cancel'] });
    expect(task.promptHash).toMatch(/^[0-9a-f]{64}$/);

    const shown = await call(s.url, 'GET', `/api/v1/tasks/${task.id}`, { token: ws.tokens.viewer });
    expect(shown.status).toBe(200);
    expect((shown.json as Task).timeline).toEqual([expect.objectContaining({ from: null, to: 'queued', actor: 'user', reason: 'created' })]);

    const cancelled = await call(s.url, 'POST', `/api/v1/tasks/${task.id}/cancel`, { token: ws.tokens.member, body: { reason: 'not needed' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ id: task.id, status: 'cancelled', statusReason: 'not needed', actions: [] });

    const again = await call(s.url, 'POST', `/api/v1/tasks/${task.id}/cancel`, { token: ws.tokens.member });
    expect(again.status).toBe(409);
    expect(apiError(again)).toMatchObject({ code: 'state_conflict', details: { currentStatus: 'cancelled' } });

    const after = (await ws.client('viewer').tasks.get(task.id)).timeline!;
    expect(after.map((t) => `${t.from ?? '·'}→${t.to}`)).toEqual(['·→queued', 'queued→cancelled']);
    expect(after[1]).toMatchObject({ actor: 'user', reason: 'not needed' });
  });

  it('lists newest first, filters by status and agent, and pages with a cursor', async () => {
    const w = await s.workspace('lc-list');
    const c = w.client();
    const made: Task[] = [];
    for (let i = 0; i < 7; i++) made.push(await c.tasks.create({ assignedAgent: i % 3 === 0 ? 'codex' : 'fake', prompt: `task ${i}` }));
    await c.tasks.cancel(made[1]!.id);
    await c.tasks.cancel(made[4]!.id);

    const all = await c.tasks.list();
    expect(all.items.map((t) => t.prompt)).toEqual(['task 6', 'task 5', 'task 4', 'task 3', 'task 2', 'task 1', 'task 0']);
    expect(all.nextCursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await call(s.url, 'GET', `/api/v1/tasks?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: w.tokens.viewer });
      expect(page.status).toBe(200);
      const body = page.json as { items: Task[]; nextCursor: string | null };
      expect(body.items.length).toBeLessThanOrEqual(3);
      seen.push(...body.items.map((t) => t.prompt));
      cursor = body.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(all.items.map((t) => t.prompt));

    expect((await c.tasks.list({ status: 'cancelled' })).items.map((t) => t.prompt)).toEqual(['task 4', 'task 1']);
    expect((await c.tasks.list({ agent: 'codex' })).items.map((t) => t.prompt)).toEqual(['task 6', 'task 3', 'task 0']);
    expect((await c.tasks.list({ status: 'queued,cancelled', agent: 'fake' })).items.map((t) => t.prompt)).toEqual(['task 5', 'task 4', 'task 2', 'task 1']);
    expect((await c.tasks.list({ status: 'completed' })).items).toEqual([]);
  });

  it('refuses an agent the workspace does not allow with 422 naming the allowed agents', async () => {
    const w = await s.workspace('lc-allowed', { allowedAgents: ['fake', 'codex'] });
    const a = await call(s.url, 'POST', '/api/v1/tasks', { token: w.tokens.member, body: { assignedAgent: 'claude-code', prompt: 'hi' } });
    expect(a.status).toBe(422);
    const e = apiError(a);
    expect(e.code).toBe('agent_not_allowed');
    expect(e.message).toContain('claude-code');
    expect(e.message).toContain('fake, codex');
    expect(e.details).toEqual({ agent: 'claude-code', allowed: ['fake', 'codex'] });
    expect((await w.client().tasks.list()).items).toEqual([]);
  });
});

describe('retry and answer follow the transition table', () => {
  let ws: WorkspaceHandle;
  /** One task in each state a user can meet, reached through the store. */
  const inState: Partial<Record<TaskStatus, string>> = {};
  beforeAll(async () => {
    ws = await s.workspace('lc-table');
    const c = ws.client();
    for (const st of ['queued', 'claimed', 'executing', 'completed', 'failed', 'blocked', 'cancelled'] as const) {
      const t = await c.tasks.create({ assignedAgent: 'fake', prompt: `to ${st}` });
      if (st === 'cancelled') await c.tasks.cancel(t.id);
      else if (st !== 'queued') await driveTo(t.id, st);
      inState[st] = t.id;
    }
  });

  it.each(['queued', 'claimed', 'executing', 'completed', 'blocked', 'cancelled'] as const)('refuses to retry a %s task with 409 and its state', async (st) => {
    const a = await call(s.url, 'POST', `/api/v1/tasks/${inState[st]}/retry`, { token: ws.tokens.member });
    expect(a.status).toBe(409);
    expect(apiError(a)).toMatchObject({ code: 'state_conflict', details: { currentStatus: st } });
    expect((await ws.client().tasks.get(inState[st]!)).status).toBe(st);
  });

  it.each(['queued', 'claimed', 'executing', 'completed', 'failed', 'cancelled'] as const)('refuses to answer a %s task with 409 and its state', async (st) => {
    const a = await call(s.url, 'POST', `/api/v1/tasks/${inState[st]}/answer`, { token: ws.tokens.member, body: { answer: 'main' } });
    expect(a.status).toBe(409);
    expect(apiError(a)).toMatchObject({ code: 'state_conflict', details: { currentStatus: st } });
    expect((await ws.client().tasks.get(inState[st]!)).status).toBe(st);
  });

  it.each(['completed', 'failed'] as const)('refuses to cancel a %s task with 409 and its state', async (st) => {
    const a = await call(s.url, 'POST', `/api/v1/tasks/${inState[st]}/cancel`, { token: ws.tokens.member });
    expect(a.status).toBe(409);
    expect(apiError(a)).toMatchObject({ code: 'state_conflict', details: { currentStatus: st } });
  });

  it('re-queues a failed task on retry, granting one more attempt', async () => {
    const id = inState.failed!;
    const a = await call(s.url, 'POST', `/api/v1/tasks/${id}/retry`, { token: ws.tokens.member, body: { reason: 'flake' } });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ id, status: 'queued', attempt: 1, runAfter: null, finishedAt: null });
    const t = await ws.client().tasks.get(id);
    expect(t.timeline!.at(-1)).toMatchObject({ from: 'failed', to: 'queued', actor: 'user', reason: 'flake' });
    const twice = await call(s.url, 'POST', `/api/v1/tasks/${id}/retry`, { token: ws.tokens.member });
    expect(twice.status).toBe(409);
    expect(apiError(twice).details).toEqual({ currentStatus: 'queued' });
  });

  it('re-queues a blocked task with its answer', async () => {
    const id = inState.blocked!;
    expect((await ws.client().tasks.get(id)).actions).toEqual(['cancel', 'answer']);
    const a = await call(s.url, 'POST', `/api/v1/tasks/${id}/answer`, { token: ws.tokens.member, body: { answer: 'use main' } });
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ id, status: 'queued', answer: 'use main', question: 'Which branch?' });
    expect((await ws.client().tasks.get(id)).timeline!.at(-1)).toMatchObject({ from: 'blocked', to: 'queued', actor: 'user', reason: 'answered' });
  });

  it('cancels a claimed task at once and an executing one on request (202)', async () => {
    const claimed = await call(s.url, 'POST', `/api/v1/tasks/${inState.claimed}/cancel`, { token: ws.tokens.member });
    expect(claimed.status).toBe(200);
    expect(claimed.json).toMatchObject({ status: 'cancelled' });
    // Nothing runs it here, so the request stays pending: the task keeps executing until a runtime reports.
    const executing = await call(s.url, 'POST', `/api/v1/tasks/${inState.executing}/cancel`, { token: ws.tokens.member });
    expect(executing.status).toBe(202);
    expect(executing.json).toMatchObject({ status: 'executing', cancelRequested: true, actions: [] });
  });
});

describe('with a runtime', () => {
  let ws: WorkspaceHandle;
  let d: TestDaemon;
  beforeAll(async () => {
    ws = await s.workspace('lc-run');
    d = await startTestDaemon(s.url, ws.tokens.daemon, { config: UNTHROTTLED });
  });
  afterAll(async () => {
    await d?.stop();
  });

  const settle = (id: string, status: TaskStatus) => until(async () => (await ws.client().tasks.get(id)).status === status, `task ${id} to be ${status}`);

  it('runs a task to completion, after which cancel, retry and answer are refused', async () => {
    const c = ws.client();
    const t = await c.tasks.create({ assignedAgent: 'fake', prompt: 'work --lines 3' });
    await settle(t.id, 'completed');
    const done = await c.tasks.get(t.id);
    expect(done.timeline!.map((x) => x.to)).toEqual(['queued', 'claimed', 'executing', 'completed']);
    expect(done).toMatchObject({ attempt: 1, daemonId: d.id, actions: [] });
    expect((await c.tasks.runs(t.id)).items).toEqual([expect.objectContaining({ attempt: 1, status: 'completed', exitCode: 0, daemonId: d.id, agentVersion: '1.2.3' })]);
    expect((await c.tasks.events(t.id)).items.map((e) => e.text)).toEqual(['line 1', 'line 2', 'line 3']);

    for (const [verb, body] of [['cancel', {}], ['retry', {}], ['answer', { answer: 'x' }]] as const) {
      const a = await call(s.url, 'POST', `/api/v1/tasks/${t.id}/${verb}`, { token: ws.tokens.member, body });
      expect(a.status, verb).toBe(409);
      expect(apiError(a).details, verb).toEqual({ currentStatus: 'completed' });
    }
  });

  it('fails a run that exits 1 with no attempts left, and runs it again on retry', async () => {
    const c = ws.client();
    const t = await c.tasks.create({ assignedAgent: 'fake', prompt: 'boom --exit 1', maxAttempts: 1 });
    await settle(t.id, 'failed');
    const failed = await c.tasks.get(t.id);
    expect(failed).toMatchObject({ attempt: 1, runAfter: null, actions: ['retry'] });
    expect(failed.statusReason).toMatch(/agent_error/);
    expect((await c.tasks.runs(t.id)).items).toEqual([expect.objectContaining({ status: 'failed', exitCode: 1, failureClass: 'agent_error' })]);

    const retried = await c.tasks.retry(t.id);
    expect(retried).toMatchObject({ maxAttempts: 2 });
    await until(async () => (await c.tasks.runs(t.id)).items.length === 2 && (await c.tasks.get(t.id)).status === 'failed', 'the second attempt to fail');
    expect((await c.tasks.get(t.id)).timeline!.map((x) => x.to)).toEqual(['queued', 'claimed', 'executing', 'failed', 'queued', 'claimed', 'executing', 'failed']);
  });

  it('cancels a running task: 202 at once, cancelled once its process is gone', async () => {
    const c = ws.client();
    const t = await c.tasks.create({ assignedAgent: 'fake', prompt: 'wait --hang' });
    await settle(t.id, 'executing');
    const a = await call(s.url, 'POST', `/api/v1/tasks/${t.id}/cancel`, { token: ws.tokens.member });
    expect(a.status).toBe(202);
    expect(a.json).toMatchObject({ status: 'executing', cancelRequested: true });
    await settle(t.id, 'cancelled');
    expect((await c.tasks.runs(t.id)).items[0]).toMatchObject({ status: 'cancelled' });
  });

  it('says so on a queued task whose agent no runtime has', async () => {
    const a = await call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: { assignedAgent: 'ghost', prompt: 'anyone?' } });
    expect(a.status).toBe(201);
    expect(a.json).toMatchObject({ status: 'queued', statusReason: 'no runtime has agent ghost' });
    const listed = await ws.client().tasks.list({ agent: 'ghost' });
    expect(listed.items[0]).toMatchObject({ status: 'queued', statusReason: 'no runtime has agent ghost' });
  });

  it('runs higher priority first, then oldest first', async () => {
    const w = await s.workspace('lc-prio', { maxConcurrentTasks: 1 });
    const c = w.client();
    const ids: Record<string, string> = {};
    for (const [name, priority] of [['p0', 0], ['p5-old', 5], ['p-1', -1], ['p10', 10], ['p5-new', 5]] as const) {
      ids[name] = (await c.tasks.create({ assignedAgent: 'fake', prompt: `${name} --lines 1`, priority })).id;
    }
    // Nobody serves this workspace until now, so all five wait in the queue together.
    const runtime = await startTestDaemon(s.url, w.tokens.daemon, { name: 'prio-daemon', config: UNTHROTTLED });
    try {
      await until(async () => (await c.tasks.list({ status: 'completed' })).items.length === 5, 'all five to complete');
      const claimedAt = async (id: string) => Date.parse((await c.tasks.get(id)).timeline!.find((x) => x.to === 'claimed')!.at);
      const order = await Promise.all(Object.entries(ids).map(async ([name, id]) => ({ name, at: await claimedAt(id) })));
      expect(order.sort((a, b) => a.at - b.at).map((o) => o.name)).toEqual(['p10', 'p5-old', 'p5-new', 'p0', 'p-1']);
    } finally {
      await runtime.stop();
    }
  });
});
