/** Workspaces in the store: defaults, updates, the config-driven upsert, deletes. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError } from '../../src/core/errors.js';
import { getTask, insertTask } from '../../src/store/tasks.js';
import { createWorkspace, deleteWorkspace, getWorkspace, listWorkspaces, requireWorkspace, updateWorkspace, upsertWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
  track(db, 'test database');
});
afterAll(async () => {
  await db?.close();
  untrack(db);
});

describe('workspaces', () => {
  it('creates a workspace with the seed’s defaults for every field not given', async () => {
    const ws = await createWorkspace(db, { id: 'prod-automation' });
    expect(ws).toMatchObject({
      id: 'prod-automation',
      name: 'prod-automation',
      allowedAgents: null,
      maxConcurrentTasks: 4,
      skillRetentionDays: 90,
      auditLogEnabled: false,
      settings: {},
    });
    expect(Date.parse(ws.createdAt)).not.toBeNaN();
    expect(await getWorkspace(db, 'prod-automation')).toEqual(ws);
  });

  it('keeps every field it is given', async () => {
    const ws = await createWorkspace(db, {
      id: 'research',
      name: 'Research',
      allowedAgents: ['codex', 'claude-code'],
      maxConcurrentTasks: 2,
      skillRetentionDays: 30,
      auditLogEnabled: true,
      settings: { injectSkills: true },
    });
    expect(ws).toMatchObject({ id: 'research', name: 'Research', allowedAgents: ['codex', 'claude-code'], maxConcurrentTasks: 2, skillRetentionDays: 30, auditLogEnabled: true, settings: { injectSkills: true } });
  });

  it('refuses a second workspace with the same id, and keeps serving afterwards', async () => {
    await createWorkspace(db, { id: 'twice', name: 'first' });
    await expect(createWorkspace(db, { id: 'twice', name: 'second' })).rejects.toBeInstanceOf(ConflictError);
    // The refused insert must leave the database usable: the very next statements succeed.
    expect((await getWorkspace(db, 'twice'))?.name).toBe('first');
    expect((await listWorkspaces(db, 'twice')).map((w) => w.name)).toEqual(['first']);
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM workspaces WHERE id = $1`, ['twice'])).rows[0]?.n).toBe(1);
  });

  it('lists workspaces by id, or only the one asked for', async () => {
    await createWorkspace(db, { id: 'list-b' });
    await createWorkspace(db, { id: 'list-a' });
    const ids = (await listWorkspaces(db)).map((w) => w.id);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(expect.arrayContaining(['list-a', 'list-b']));
    expect((await listWorkspaces(db, 'list-b')).map((w) => w.id)).toEqual(['list-b']);
    expect(await listWorkspaces(db, 'no-such-workspace')).toEqual([]);
  });

  it('updates only the fields given, and tells "allow every agent" (null) from "not given"', async () => {
    const before = await createWorkspace(db, { id: 'patchy', name: 'Patchy', allowedAgents: ['codex'], maxConcurrentTasks: 3, settings: { a: 1 } });
    const renamed = await updateWorkspace(db, 'patchy', { name: 'Renamed', settings: { b: 2 } });
    expect(renamed).toMatchObject({ name: 'Renamed', allowedAgents: ['codex'], maxConcurrentTasks: 3, settings: { a: 1, b: 2 } });
    expect(renamed.createdAt).toBe(before.createdAt);
    expect(Date.parse(renamed.updatedAt)).toBeGreaterThanOrEqual(Date.parse(before.updatedAt));
    const opened = await updateWorkspace(db, 'patchy', { allowedAgents: null });
    expect(opened.allowedAgents).toBeNull();
    expect(opened.name).toBe('Renamed');
  });

  it('answers NotFoundError for a workspace that does not exist', async () => {
    await expect(updateWorkspace(db, 'ghost', { name: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(deleteWorkspace(db, 'ghost')).rejects.toBeInstanceOf(NotFoundError);
    await expect(requireWorkspace(db, 'ghost')).rejects.toMatchObject({ kind: 'workspace', id: 'ghost' });
    expect(await getWorkspace(db, 'ghost')).toBeUndefined();
  });

  it('upserts from the configuration: creates the workspace once, then updates it to match', async () => {
    const created = await upsertWorkspace(db, { id: 'from-config', maxConcurrentTasks: 4, auditLogEnabled: true });
    expect(created).toMatchObject({ maxConcurrentTasks: 4, auditLogEnabled: true });
    const updated = await upsertWorkspace(db, { id: 'from-config', maxConcurrentTasks: 8, skillRetentionDays: 7 });
    expect(updated).toMatchObject({ id: 'from-config', maxConcurrentTasks: 8, skillRetentionDays: 7, auditLogEnabled: true });
    expect(updated.createdAt).toBe(created.createdAt);
    expect((await listWorkspaces(db, 'from-config')).length).toBe(1);
  });

  it('upserts from several servers starting at once: one creates, the others update, none fails', async () => {
    for (let round = 0; round < 10; round++) {
      const id = `race-${round}`;
      const all = await Promise.all(Array.from({ length: 4 }, (_, i) => upsertWorkspace(db, { id, maxConcurrentTasks: 3 + (i % 2) })));
      expect(all.every((w) => w.id === id)).toBe(true);
      expect([3, 4]).toContain((await requireWorkspace(db, id)).maxConcurrentTasks);
    }
  });

  it('deletes a workspace together with its tasks', async () => {
    await createWorkspace(db, { id: 'doomed' });
    const task = await insertTask(db, { workspaceId: 'doomed', assignedAgent: 'codex', prompt: 'p' });
    await deleteWorkspace(db, 'doomed');
    expect(await getWorkspace(db, 'doomed')).toBeUndefined();
    expect(await getTask(db, null, task.id)).toBeUndefined();
    const orphans = await db.query(`SELECT 1 FROM task_transitions WHERE task_id = $1`, [task.id]);
    expect(orphans.rows).toEqual([]);
  });
});
