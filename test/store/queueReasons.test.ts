/**
 * "No runtime has agent X": refreshQueueReasons notes it on queued tasks that
 * no online runtime can run, and clears it as soon as one can.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshQueueReasons } from '../../src/store/claim.js';
import { markDaemonOffline, replaceDaemonAgents, upsertDaemon, type AgentCheck } from '../../src/store/daemons.js';
import { getTaskRow, insertTask, transition } from '../../src/store/tasks.js';
import { createToken } from '../../src/store/tokens.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';

let db: TestDb;
let tokenId: string;
beforeAll(async () => {
  db = await createTestDb();
  track(db, 'test database');
  tokenId = (await createToken(db, { role: 'daemon', name: 'runtimes', workspaceId: null })).id;
});
afterAll(async () => {
  await db?.close();
  untrack(db);
});

const SERVER = 'server-1';

async function onlineDaemon(workspaces: string[] | null, agents: Partial<AgentCheck>[]): Promise<string> {
  const id = randomUUID();
  await upsertDaemon(db, { id, name: `d-${id.slice(0, 4)}`, hostname: 'host', version: 'test', tokenId, workspaces, capacity: 4, serverId: SERVER });
  await replaceDaemonAgents(
    db,
    id,
    agents.map((a) => ({ name: 'codex', binary: '/usr/bin/codex', version: '1.0', status: 'ok', reason: null, ...a })),
  );
  return id;
}

async function reasonOf(taskId: string): Promise<string | null> {
  return ((await getTaskRow(db, null, taskId))?.status_reason as string | null) ?? null;
}

describe('refreshQueueReasons', () => {
  it('notes the missing agent, clears the note when a runtime offers it, and sets it again when that runtime leaves', async () => {
    await createWorkspace(db, { id: 'qr-basic' });
    const t = await insertTask(db, { workspaceId: 'qr-basic', assignedAgent: 'gemini', prompt: 'p' });
    expect(await refreshQueueReasons(db, [t.id])).toEqual([{ id: t.id, workspaceId: 'qr-basic' }]);
    expect(await reasonOf(t.id)).toBe('no runtime has agent gemini');
    // Nothing changed: nothing to report.
    expect(await refreshQueueReasons(db, [t.id])).toEqual([]);

    const d = await onlineDaemon(null, [{ name: 'gemini' }]);
    expect(await refreshQueueReasons(db, [t.id])).toEqual([{ id: t.id, workspaceId: 'qr-basic' }]);
    expect(await reasonOf(t.id)).toBeNull();

    await markDaemonOffline(db, d, SERVER);
    await refreshQueueReasons(db, [t.id]);
    expect(await reasonOf(t.id)).toBe('no runtime has agent gemini');
  });

  it('does not count an agent the runtime found but could not validate', async () => {
    await createWorkspace(db, { id: 'qr-broken' });
    const t = await insertTask(db, { workspaceId: 'qr-broken', assignedAgent: 'cursor-agent', prompt: 'p' });
    await onlineDaemon(null, [{ name: 'cursor-agent', status: 'version_failed', reason: 'exit 1' }]);
    await refreshQueueReasons(db, [t.id]);
    expect(await reasonOf(t.id)).toBe('no runtime has agent cursor-agent');
  });

  it('does not count a runtime that serves other workspaces only', async () => {
    await createWorkspace(db, { id: 'qr-served' });
    await createWorkspace(db, { id: 'qr-unserved' });
    await onlineDaemon(['qr-served'], [{ name: 'opencode' }]);
    const served = await insertTask(db, { workspaceId: 'qr-served', assignedAgent: 'opencode', prompt: 'p' });
    const unserved = await insertTask(db, { workspaceId: 'qr-unserved', assignedAgent: 'opencode', prompt: 'p' });
    await refreshQueueReasons(db, [served.id, unserved.id]);
    expect(await reasonOf(served.id)).toBeNull();
    expect(await reasonOf(unserved.id)).toBe('no runtime has agent opencode');
  });

  it('keeps a reason of another kind, and leaves tasks that are not queued alone', async () => {
    await createWorkspace(db, { id: 'qr-other' });
    await onlineDaemon(null, [{ name: 'aider' }]);
    const waiting = await insertTask(db, { workspaceId: 'qr-other', assignedAgent: 'aider', prompt: 'p' });
    await db.query(`UPDATE tasks SET status_reason = 'retry 2 of 3 after a rate limit' WHERE id = $1`, [waiting.id]);
    const cancelled = await insertTask(db, { workspaceId: 'qr-other', assignedAgent: 'no-such-agent', prompt: 'p' });
    await transition(db, { taskId: cancelled.id, from: ['queued'], to: 'cancelled', actor: 'user' });
    const before = await getTaskRow(db, null, cancelled.id);
    expect(await refreshQueueReasons(db, [waiting.id, cancelled.id])).toEqual([]);
    expect(await reasonOf(waiting.id)).toBe('retry 2 of 3 after a rate limit');
    expect(await getTaskRow(db, null, cancelled.id)).toEqual(before);
  });

  it('touches only the tasks asked for, or every queued task when given none', async () => {
    await createWorkspace(db, { id: 'qr-scope' });
    const a = await insertTask(db, { workspaceId: 'qr-scope', assignedAgent: 'amp', prompt: 'a' });
    const b = await insertTask(db, { workspaceId: 'qr-scope', assignedAgent: 'amp', prompt: 'b' });
    expect((await refreshQueueReasons(db, [a.id])).map((r) => r.id)).toEqual([a.id]);
    expect(await reasonOf(b.id)).toBeNull();
    const all = (await refreshQueueReasons(db)).map((r) => r.id);
    expect(all).toContain(b.id);
    expect(all).not.toContain(a.id);
    expect(await reasonOf(b.id)).toBe('no runtime has agent amp');
  });
});
