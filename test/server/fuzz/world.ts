/**
 * The fuzz suite's world: a real server on 127.0.0.1 whose error log is
 * recorded, two workspaces (A is the attacker's, B the victim's) each with a
 * task, a webhook with a delivery, a skill and a spare token — the objects
 * the generated requests aim at — and the checks that the server still
 * serves normally after a property.
 */
import { expect } from 'vitest';
import { startTestServer, type TestServer, type WorkspaceHandle } from '../../helpers/server.js';
import type { TestConfigInput } from '../../helpers/config.js';
import { call } from '../http.js';
import { errorLog, expectNoPollution, type ErrorLog } from './fuzz.js';

export interface Objects {
  workspace: string;
  task: string;
  webhook: string;
  delivery: string;
  skill: string;
  token: string;
}

export interface World {
  s: TestServer;
  errors: ErrorLog;
  a: WorkspaceHandle;
  b: WorkspaceHandle;
  objA: Objects;
  objB: Objects;
  /** Every id of B's objects that is not guessable (uuids): an A token's successful answer never contains one. */
  secretsOfB: string[];
  close(): Promise<void>;
}

async function ok<T>(p: Promise<{ status: number; json: unknown; text: string }>, what: string): Promise<T> {
  const a = await p;
  if (a.status >= 300) throw new Error(`fixture ${what}: ${a.status} ${a.text}`);
  return a.json as T;
}

async function objects(s: TestServer, ws: WorkspaceHandle): Promise<Objects> {
  const task = await ok<{ id: string }>(call(s.url, 'POST', '/api/v1/tasks', { token: ws.tokens.member, body: { assignedAgent: 'nobody-runs-this', prompt: `task of ${ws.id}` } }), 'task');
  // Port 9 (discard) on loopback: deliveries fail fast and quietly; the suite never waits for one.
  const hook = await ok<{ id: string }>(call(s.url, 'POST', '/api/v1/webhooks', { token: ws.tokens.admin, body: { url: 'http://127.0.0.1:9/hook', events: ['task.completed'], active: true } }), 'webhook');
  const delivery = await ok<{ id: string }>(call(s.url, 'POST', `/api/v1/webhooks/${hook.id}/test`, { token: ws.tokens.admin, body: {} }), 'delivery');
  const skill = await ok<{ id: string }>(call(s.url, 'POST', '/api/v1/skills', { token: ws.tokens.member, body: { name: `skill of ${ws.id}`, description: 'a fixture' } }), 'skill');
  const token = await ok<{ id: string }>(call(s.url, 'POST', `/api/v1/workspaces/${ws.id}/tokens`, { token: ws.tokens.admin, body: { role: 'viewer', name: 'spare' } }), 'token');
  return { workspace: ws.id, task: task.id, webhook: hook.id, delivery: delivery.id, skill: skill.id, token: token.id };
}

export async function startWorld(config?: TestConfigInput): Promise<World> {
  const errors = errorLog();
  const s = await startTestServer({ log: errors.log, ...(config ? { config } : {}) });
  const a = await s.workspace('fuzz-a');
  const b = await s.workspace('fuzz-b');
  const objA = await objects(s, a);
  const objB = await objects(s, b);
  return {
    s,
    errors,
    a,
    b,
    objA,
    objB,
    secretsOfB: [objB.task, objB.webhook, objB.delivery, objB.skill, objB.token],
    close: () => s.close(),
  };
}

/**
 * After a property: the process serves probes and a normal authenticated
 * request, B's objects are intact, nothing reached Object.prototype, and the
 * server logged no error.
 */
export async function expectStillServing(w: World): Promise<void> {
  expect((await call(w.s.url, 'GET', '/healthz')).status).toBe(200);
  expect((await call(w.s.url, 'GET', '/readyz')).status).toBe(200);
  const me = await call(w.s.url, 'GET', '/api/v1/me', { token: w.b.tokens.viewer });
  expect(me.status, me.text).toBe(200);
  expect(me.json).toMatchObject({ role: 'viewer', workspaceId: 'fuzz-b' });
  const task = await call(w.s.url, 'GET', `/api/v1/tasks/${w.objB.task}`, { token: w.b.tokens.viewer });
  expect(task.status, task.text).toBe(200);
  expect(task.json).toMatchObject({ id: w.objB.task, workspaceId: 'fuzz-b', prompt: 'task of fuzz-b' });
  const created = await call(w.s.url, 'POST', '/api/v1/tasks', { token: w.b.tokens.member, body: { assignedAgent: 'nobody-runs-this', prompt: 'still serving' } });
  expect(created.status, created.text).toBe(201);
  expectNoPollution();
  expect(w.errors.lines, 'error lines in the server log').toEqual([]);
}
