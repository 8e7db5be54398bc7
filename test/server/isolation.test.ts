/**
 * Workspaces are the unit of isolation (DESIGN.md §6): every token of
 * workspace B, whatever its role, meets workspace A's objects exactly as it
 * meets objects that do not exist — 404, or 403 where its role could not do
 * the thing anyway — and no listing or stream ever shows it A's objects.
 * Then the role rules inside one workspace, and tokens that are no tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/core/api.js';
import { createToken } from '../../src/store/tokens.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../helpers/server.js';
import { connectStream } from '../helpers/stream.js';
import { until } from '../helpers/wait.js';
import { apiError, call, type Answer } from './http.js';

type Role = 'admin' | 'member' | 'viewer' | 'daemon';
const ROLES: Role[] = ['admin', 'member', 'viewer', 'daemon'];
const RANK: Record<Role, number> = { viewer: 1, member: 2, admin: 3, daemon: 0 };
const NOTHING = '00000000-0000-4000-8000-000000000000';

/** CI machines are busy (2 CPUs running PGlite and child processes): a runtime that throttled itself on load would make these tests slow and flaky. */
const UNTHROTTLED = { runtime: { cpu_threshold: 2 } };
let s: TestServer;
let A: WorkspaceHandle;
let B: WorkspaceHandle;
let daemonA: TestDaemon;
/** A's objects, and ids of the same kinds that name nothing. */
const a = { ws: 'iso-a', task: '', token: '', daemon: '' };
const none = { ws: 'iso-none', task: NOTHING, token: NOTHING, daemon: NOTHING };
let taskB: Task;

beforeAll(async () => {
  s = await startTestServer();
  A = await s.workspace('iso-a', { name: 'Workspace A' });
  B = await s.workspace('iso-b', { name: 'Workspace B' });
  daemonA = await startTestDaemon(s.url, A.tokens.daemon, { name: 'daemon-a', config: UNTHROTTLED });
  a.daemon = daemonA.id;
  const t = await A.client().tasks.create({ assignedAgent: 'fake', prompt: 'secret work of A --lines 2' });
  a.task = t.id;
  await until(async () => (await A.client().tasks.get(t.id)).status === 'completed', 'A task to complete');
  a.token = (await A.client('admin').tokens.create('iso-a', { role: 'viewer', name: 'a viewer' })).id;
  // Nobody serves B, so its task stays queued.
  taskB = await B.client().tasks.create({ assignedAgent: 'fake', prompt: 'work of B' });
});
afterAll(async () => {
  await daemonA?.stop();
  await s?.close();
});

interface Endpoint {
  name: string;
  /** The least role that may do this in its own workspace; 'instance' = instance admins only. */
  min: 'viewer' | 'member' | 'admin' | 'instance';
  request(target: typeof a): [method: string, path: string, body?: unknown];
}

const ENDPOINTS: Endpoint[] = [
  { name: 'GET /workspaces/:id', min: 'viewer', request: (t) => ['GET', `/api/v1/workspaces/${t.ws}`] },
  { name: 'PATCH /workspaces/:id', min: 'admin', request: (t) => ['PATCH', `/api/v1/workspaces/${t.ws}`, { name: 'taken over' }] },
  { name: 'DELETE /workspaces/:id', min: 'instance', request: (t) => ['DELETE', `/api/v1/workspaces/${t.ws}`] },
  { name: 'POST /workspaces/:id/tokens', min: 'admin', request: (t) => ['POST', `/api/v1/workspaces/${t.ws}/tokens`, { role: 'admin', name: 'backdoor' }] },
  { name: 'GET /workspaces/:id/tokens', min: 'admin', request: (t) => ['GET', `/api/v1/workspaces/${t.ws}/tokens`] },
  { name: 'DELETE /tokens/:id', min: 'admin', request: (t) => ['DELETE', `/api/v1/tokens/${t.token}`] },
  { name: 'GET /tasks/:id', min: 'viewer', request: (t) => ['GET', `/api/v1/tasks/${t.task}`] },
  { name: 'GET /tasks/:id/runs', min: 'viewer', request: (t) => ['GET', `/api/v1/tasks/${t.task}/runs`] },
  { name: 'GET /tasks/:id/events', min: 'viewer', request: (t) => ['GET', `/api/v1/tasks/${t.task}/events?after=0`] },
  { name: 'POST /tasks/:id/cancel', min: 'member', request: (t) => ['POST', `/api/v1/tasks/${t.task}/cancel`, {}] },
  { name: 'POST /tasks/:id/retry', min: 'member', request: (t) => ['POST', `/api/v1/tasks/${t.task}/retry`, {}] },
  { name: 'POST /tasks/:id/answer', min: 'member', request: (t) => ['POST', `/api/v1/tasks/${t.task}/answer`, { answer: 'yes' }] },
  { name: 'GET /daemons/:id/health', min: 'viewer', request: (t) => ['GET', `/api/v1/daemons/${t.daemon}/health`] },
];

const allowed = (role: Role, min: Endpoint['min']) => min !== 'instance' && RANK[role] >= RANK[min];

async function as(role: Role, [method, path, body]: [string, string, unknown?]): Promise<Answer> {
  return call(s.url, method, path, { token: B.tokens[role], body });
}

describe.each(ROLES)("workspace B's %s token on workspace A's objects", (role) => {
  it.each(ENDPOINTS.map((e) => [e.name, e] as const))('%s answers as if A did not exist', async (_name, e) => {
    const onA = await as(role, e.request(a));
    const onNothing = await as(role, e.request(none));
    expect([403, 404], `${e.name} on A: ${onA.text}`).toContain(onA.status);
    expect(onA.status, `the same answer as for an object that does not exist (${onNothing.text})`).toBe(onNothing.status);
    expect(apiError(onA).code).toBe(apiError(onNothing).code);
    if (allowed(role, e.min)) expect(onA.status, `${role} may ${e.name} in its own workspace, so A's answers 404`).toBe(404);
    expect(onA.text).not.toContain('secret work of A');
  });

  it.each([
    ['GET', '/api/v1/tasks?workspace=WS'],
    ['POST', '/api/v1/tasks?workspace=WS', { assignedAgent: 'fake', prompt: 'sneak into A' }],
    ['GET', `/api/v1/tasks/TASK?workspace=WS`],
    ['GET', `/api/v1/tasks/TASK/runs?workspace=WS`],
    ['GET', `/api/v1/tasks/TASK/events?workspace=WS`],
    ['POST', `/api/v1/tasks/TASK/cancel?workspace=WS`, {}],
    ['POST', `/api/v1/tasks/TASK/retry?workspace=WS`, {}],
    ['POST', `/api/v1/tasks/TASK/answer?workspace=WS`, { answer: 'yes' }],
    ['GET', '/api/v1/daemons?workspace=WS'],
  ] as const)('%s %s naming workspace A explicitly answers 403', async (method, path, body?: unknown) => {
    const onA = await as(role, [method, path.replace('WS', 'iso-a').replace('TASK', a.task), body]);
    expect(onA.status, onA.text).toBe(403);
    expect(apiError(onA).code).toBe('forbidden');
    const onNothing = await as(role, [method, path.replace('WS', 'iso-none').replace('TASK', NOTHING), body]);
    expect(onNothing.status).toBe(403);
  });
});

describe('nothing of A leaks through what B changed or listed', () => {
  it("left A's workspace, token and task as they were", async () => {
    const ws = await s.admin.workspaces.get('iso-a');
    expect(ws.name).toBe('Workspace A');
    const tokens = (await A.client('admin').tokens.list('iso-a')).items;
    expect(tokens.find((t) => t.id === a.token)).toMatchObject({ revokedAt: null });
    expect(tokens.map((t) => t.name)).not.toContain('backdoor');
    const task = await A.client().tasks.get(a.task);
    expect(task).toMatchObject({ status: 'completed', cancelRequested: false, answer: null });
    expect((await A.client().tasks.list()).items.map((t) => t.prompt)).not.toContain('sneak into A');
  });

  it.each(['admin', 'member', 'viewer'] as const)("B's %s lists only B's workspace, tasks and runtimes", async (role) => {
    const c = B.client(role);
    expect((await c.workspaces.list()).items.map((w) => w.id)).toEqual(['iso-b']);
    for (const filter of [{}, { status: 'completed' }, { agent: 'fake' }, { status: 'queued,completed', agent: 'fake', limit: 500 }]) {
      const page = await c.tasks.list(filter);
      expect(page.items.every((t) => t.workspaceId === 'iso-b'), JSON.stringify(filter)).toBe(true);
      expect(page.items.map((t) => t.id)).not.toContain(a.task);
    }
    expect((await c.tasks.list()).items.map((t) => t.id)).toEqual([taskB.id]);
    expect((await c.daemons.list()).items.map((d) => d.id)).not.toContain(a.daemon);
  });

  it("B's admin lists only B's tokens, and no instance-wide ones", async () => {
    const tokens = (await B.client('admin').tokens.list('iso-b')).items;
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((t) => t.workspaceId === 'iso-b')).toBe(true);
    const instance = await call(s.url, 'GET', '/api/v1/tokens', { token: B.tokens.admin });
    expect(instance.status).toBe(403);
  });

  it("A's own tokens and the instance admin do see A's objects (the control)", async () => {
    expect((await A.client('viewer').daemons.list()).items.map((d) => d.id)).toContain(a.daemon);
    expect((await A.client('viewer').tasks.list()).items.map((t) => t.id)).toContain(a.task);
    expect((await s.admin.workspaces.list()).items.map((w) => w.id)).toEqual(expect.arrayContaining(['iso-a', 'iso-b']));
    expect((await call(s.url, 'GET', `/api/v1/tasks/${a.task}`, { token: s.adminToken })).status).toBe(200);
  });
});

describe('the stream', () => {
  it.each(['admin', 'member', 'viewer'] as const)("refuses B's %s a subscription to A's task or workspace", async (role) => {
    const dash = await connectStream(s.url, B.tokens[role]);
    try {
      expect(dash.frames.at(-1)).toMatchObject({ type: 'ready', workspaceId: 'iso-b' });
      dash.subscribeTask(a.task);
      await dash.waitFor(() => dash.frames.some((f) => f.type === 'error' && f.taskId === a.task), "the refusal of A's task");
      dash.subscribeWorkspace('iso-a');
      await dash.waitFor(() => dash.frames.filter((f) => f.type === 'error').length === 2, "the refusal of A's workspace");
      const errors = dash.frames.filter((f) => f.type === 'error');
      expect(errors.map((f) => f.code)).toEqual(['not_found', 'not_found']);
      expect(dash.events).toEqual([]);
      expect(dash.tasks).toEqual([]);
      expect(dash.frames.some((f) => f.type === 'subscribed')).toBe(false);
    } finally {
      await dash.close();
    }
  });

  it("tells B's subscriber about B's tasks and nothing of A's", async () => {
    const dash = await connectStream(s.url, B.tokens.viewer);
    try {
      dash.subscribeWorkspace('iso-b');
      await dash.waitFor(() => dash.frames.some((f) => f.type === 'subscribed'), 'the subscription');
      const busyA = await A.client().tasks.create({ assignedAgent: 'fake', prompt: 'more secret work of A --lines 3' });
      await until(async () => (await A.client().tasks.get(busyA.id)).status === 'completed', 'the A task to complete');
      const mine = await B.client().tasks.create({ assignedAgent: 'fake', prompt: 'B again' });
      await dash.waitFor(() => dash.tasks.some((t) => t.id === mine.id), "B's own task change");
      expect(dash.tasks.every((t) => t.workspaceId === 'iso-b')).toBe(true);
      expect(JSON.stringify(dash.frames)).not.toContain('secret work of A');
    } finally {
      await dash.close();
    }
  });

  it('refuses daemon tokens and revoked tokens', async () => {
    const daemon = await connectStream(s.url, B.tokens.daemon);
    expect(daemon.frames.at(-1)).toMatchObject({ type: 'error', code: 'unauthorized' });
    await daemon.close();
    const revoked = await B.client('admin').tokens.create('iso-b', { role: 'viewer', name: 'to revoke' });
    await B.client('admin').tokens.revoke(revoked.id);
    const gone = await connectStream(s.url, revoked.token);
    expect(gone.frames.at(-1)).toMatchObject({ type: 'error', code: 'unauthorized' });
    await gone.close();
  });
});

describe('roles inside one workspace', () => {
  const forbidden = async (token: string, method: string, path: string, body?: unknown) => {
    const r = await call(s.url, method, path, { token, body });
    expect(r.status, `${method} ${path}: ${r.text}`).toBe(403);
    expect(apiError(r).code).toBe('forbidden');
  };

  it('a viewer reads but cannot create, cancel, retry or answer', async () => {
    expect((await call(s.url, 'GET', `/api/v1/tasks/${taskB.id}`, { token: B.tokens.viewer })).status).toBe(200);
    await forbidden(B.tokens.viewer, 'POST', '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'viewer work' });
    await forbidden(B.tokens.viewer, 'POST', `/api/v1/tasks/${taskB.id}/cancel`, {});
    await forbidden(B.tokens.viewer, 'POST', `/api/v1/tasks/${taskB.id}/retry`, {});
    await forbidden(B.tokens.viewer, 'POST', `/api/v1/tasks/${taskB.id}/answer`, { answer: 'x' });
    expect((await B.client().tasks.get(taskB.id)).status).toBe('queued');
  });

  it('a member works with tasks but cannot manage tokens or change the workspace', async () => {
    const victim = (await B.client('admin').tokens.create('iso-b', { role: 'viewer', name: 'victim' })).id;
    await forbidden(B.tokens.member, 'POST', '/api/v1/workspaces/iso-b/tokens', { role: 'admin', name: 'escalate' });
    await forbidden(B.tokens.member, 'GET', '/api/v1/workspaces/iso-b/tokens');
    await forbidden(B.tokens.member, 'DELETE', `/api/v1/tokens/${victim}`);
    await forbidden(B.tokens.member, 'PATCH', '/api/v1/workspaces/iso-b', { maxConcurrentTasks: 100 });
    await forbidden(B.tokens.viewer, 'PATCH', '/api/v1/workspaces/iso-b', { name: 'viewer was here' });
    expect((await s.admin.workspaces.get('iso-b')).maxConcurrentTasks).toBe(4);
  });

  it('a workspace admin manages its workspace but cannot create or delete workspaces or instance tokens', async () => {
    const patched = await call(s.url, 'PATCH', '/api/v1/workspaces/iso-b', { token: B.tokens.admin, body: { name: 'Workspace B' } });
    expect(patched.status).toBe(200);
    await forbidden(B.tokens.admin, 'POST', '/api/v1/workspaces', { id: 'iso-c' });
    await forbidden(B.tokens.admin, 'DELETE', '/api/v1/workspaces/iso-b');
    await forbidden(B.tokens.admin, 'POST', '/api/v1/tokens', { role: 'admin', name: 'instance' });
  });

  it('a daemon token cannot use the REST task API', async () => {
    await forbidden(B.tokens.daemon, 'GET', '/api/v1/tasks');
    await forbidden(B.tokens.daemon, 'POST', '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'daemon work' });
    await forbidden(B.tokens.daemon, 'GET', `/api/v1/tasks/${taskB.id}`);
    await forbidden(B.tokens.daemon, 'GET', `/api/v1/tasks/${taskB.id}/events`);
    await forbidden(B.tokens.daemon, 'POST', `/api/v1/tasks/${taskB.id}/cancel`, {});
    await forbidden(B.tokens.daemon, 'GET', '/api/v1/workspaces');
    await forbidden(s.daemonToken, 'GET', `/api/v1/tasks/${taskB.id}?workspace=iso-b`);
  });
});

describe('requests without a valid token', () => {
  const unauthorized = async (headers: Record<string, string>, what: string) => {
    for (const [method, path, body] of [
      ['GET', '/api/v1/tasks'],
      ['GET', `/api/v1/tasks/${taskB.id}`],
      ['POST', '/api/v1/tasks', { assignedAgent: 'fake', prompt: 'anonymous' }],
      ['POST', '/api/v1/tasks', '{ not json'],
      ['GET', '/api/v1/workspaces'],
      ['DELETE', `/api/v1/tokens/${a.token}`],
    ] as const) {
      const r = await call(s.url, method, path, { body, headers });
      expect(r.status, `${what}: ${method} ${path}`).toBe(401);
      expect(apiError(r).code).toBe('unauthorized');
    }
  };

  it('answers 401 to a missing, malformed or unknown token', async () => {
    await unauthorized({}, 'no Authorization header');
    await unauthorized({ authorization: 'Bearer' }, 'an empty bearer');
    await unauthorized({ authorization: 'Bearer not-a-real-token' }, 'a garbage token');
    await unauthorized({ authorization: `Basic ${Buffer.from('admin:admin').toString('base64')}` }, 'basic auth');
    await unauthorized({ authorization: `Bearer ${'x'.repeat(5000)}` }, 'a huge token');
    await unauthorized({ authorization: `Bearer ${B.tokens.member}x` }, 'a token with a typo');
  });

  it('answers 401 to a revoked token at once, and to an expired one', async () => {
    const t = await B.client('admin').tokens.create('iso-b', { role: 'member', name: 'short-lived' });
    expect((await call(s.url, 'GET', '/api/v1/tasks', { token: t.token })).status).toBe(200);
    await B.client('admin').tokens.revoke(t.id);
    await unauthorized({ authorization: `Bearer ${t.token}` }, 'a revoked token');
    const expired = await createToken(s.db, { role: 'admin', name: 'expired', workspaceId: 'iso-b', expiresAt: new Date(Date.now() - 1000) });
    await unauthorized({ authorization: `Bearer ${expired.token}` }, 'an expired token');
  });
});
