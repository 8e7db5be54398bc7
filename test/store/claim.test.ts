/**
 * The dispatcher's claim (src/store/sql/claim_*.sql): a runtime takes the
 * best queued tasks it can run — its agents, its workspaces, due now —
 * highest priority first, then oldest, never more than the workspace's
 * maxConcurrentTasks at once, and never a task somebody else holds.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimTasks, type ClaimRequest } from '../../src/store/claim.js';
import type { Db } from '../../src/store/db.js';
import { openStore } from '../../src/store/open.js';
import { getTaskRow, getTimeline, insertTask, transition, type NewTask } from '../../src/store/tasks.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, itOnPostgres, type TestDb } from '../helpers/db.js';
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

const daemon = (over: Partial<ClaimRequest> = {}): ClaimRequest => ({ daemonId: randomUUID(), workspaces: null, agents: ['claude-code'], slots: 10, leaseMs: 30_000, ...over });

/** Inserts a task created `ageSec` seconds ago (ages are set explicitly: two inserts may share a millisecond). */
async function task(workspaceId: string, ageSec: number, fields: Partial<NewTask> = {}): Promise<string> {
  const t = await insertTask(db, { workspaceId, assignedAgent: 'claude-code', prompt: `task ${ageSec}`, ...fields });
  await db.query(`UPDATE tasks SET created_at = now() - make_interval(secs => $2) WHERE id = $1`, [t.id, ageSec]);
  return t.id;
}

async function statusOf(id: string): Promise<string> {
  return String((await getTaskRow(db, null, id))?.status);
}

describe('claimTasks', () => {
  it('claims a queued task for the runtime: status, lease, attempt and a timeline entry', async () => {
    await createWorkspace(db, { id: 'claim-basic' });
    const id = await task('claim-basic', 10);
    const d = daemon({ workspaces: ['claim-basic'], leaseMs: 60_000 });
    const [claimed, ...rest] = await claimTasks(db, d);
    expect(rest).toEqual([]);
    expect(claimed?.task).toMatchObject({ id, status: 'claimed', daemonId: d.daemonId, attempt: 1 });
    expect(claimed?.seqStart).toBe(1);
    const row = await getTaskRow(db, null, id);
    const leaseLeft = new Date(row?.lease_expires_at as string).getTime() - Date.now();
    expect(leaseLeft).toBeGreaterThan(50_000);
    expect(leaseLeft).toBeLessThanOrEqual(61_000);
    expect((await getTimeline(db, id)).at(-1)).toMatchObject({ from: 'queued', to: 'claimed', actor: 'dispatcher', daemonId: d.daemonId, attempt: 1 });
    expect(await claimTasks(db, d)).toEqual([]);
  });

  it('takes the highest priority first, then the oldest', async () => {
    await createWorkspace(db, { id: 'claim-order' });
    const lowOld = await task('claim-order', 500, { priority: 0 });
    const highNew = await task('claim-order', 10, { priority: 9 });
    const highOld = await task('claim-order', 300, { priority: 9 });
    const midNew = await task('claim-order', 5, { priority: 5 });
    const lowNew = await task('claim-order', 1, { priority: 0 });
    const d = daemon({ workspaces: ['claim-order'] });
    const order: string[] = [];
    for (let i = 0; i < 5; i++) {
      const [c] = await claimTasks(db, { ...d, slots: 1 });
      order.push(c!.task.id);
      // Finish it, so the workspace's cap never gets in the way of the order.
      await transition(db, { taskId: c!.task.id, from: ['claimed'], to: 'cancelled', actor: 'user' });
    }
    expect(order).toEqual([highOld, highNew, midNew, lowOld, lowNew]);
  });

  it('never holds more than the workspace’s maxConcurrentTasks, counting tasks already running', async () => {
    await createWorkspace(db, { id: 'claim-cap', maxConcurrentTasks: 3 });
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => task('claim-cap', 100 - i)));
    const a = daemon({ workspaces: ['claim-cap'], slots: 2 });
    const b = daemon({ workspaces: ['claim-cap'], slots: 10 });
    expect(await claimTasks(db, a)).toHaveLength(2);
    // One of them starts executing: it still occupies a slot.
    const running = (await db.query<{ id: string }>(`SELECT id FROM tasks WHERE daemon_id = $1 LIMIT 1`, [a.daemonId])).rows[0]!.id;
    await transition(db, { taskId: running, from: ['claimed'], to: 'executing', actor: 'daemon' });
    expect(await claimTasks(db, b)).toHaveLength(1);
    expect(await claimTasks(db, b)).toEqual([]);
    // A slot frees up when a task finishes.
    await transition(db, { taskId: running, from: ['executing'], to: 'completed', actor: 'daemon' });
    expect(await claimTasks(db, b)).toHaveLength(1);
    const states = await Promise.all(ids.map(statusOf));
    expect(states.filter((s) => s === 'queued')).toHaveLength(4);
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM tasks WHERE workspace_id = 'claim-cap' AND status IN ('claimed', 'executing')`);
    expect(rows[0]?.n).toBe(3);
  });

  it('takes no more than the runtime’s free slots', async () => {
    await createWorkspace(db, { id: 'claim-slots', maxConcurrentTasks: 100 });
    for (let i = 0; i < 6; i++) await task('claim-slots', 60 - i);
    expect(await claimTasks(db, daemon({ workspaces: ['claim-slots'], slots: 4 }))).toHaveLength(4);
    expect(await claimTasks(db, daemon({ workspaces: ['claim-slots'], slots: 0 }))).toEqual([]);
  });

  it('leaves a task whose run_after is in the future, and takes it once it is due', async () => {
    await createWorkspace(db, { id: 'claim-later' });
    const later = await task('claim-later', 100, { runAfter: new Date(Date.now() + 3_600_000).toISOString() });
    const due = await task('claim-later', 1, { runAfter: new Date(Date.now() - 1_000).toISOString() });
    const d = daemon({ workspaces: ['claim-later'] });
    expect((await claimTasks(db, d)).map((c) => c.task.id)).toEqual([due]);
    expect(await statusOf(later)).toBe('queued');
    await db.query(`UPDATE tasks SET run_after = now() - interval '1 second' WHERE id = $1`, [later]);
    expect((await claimTasks(db, d)).map((c) => c.task.id)).toEqual([later]);
  });

  it('takes only tasks for agents the runtime has', async () => {
    await createWorkspace(db, { id: 'claim-agents' });
    const codex = await task('claim-agents', 100, { assignedAgent: 'codex' });
    const claude = await task('claim-agents', 1, { assignedAgent: 'claude-code' });
    expect((await claimTasks(db, daemon({ workspaces: ['claim-agents'], agents: ['claude-code'] }))).map((c) => c.task.id)).toEqual([claude]);
    expect(await statusOf(codex)).toBe('queued');
    expect(await claimTasks(db, daemon({ workspaces: ['claim-agents'], agents: [] }))).toEqual([]);
    expect((await claimTasks(db, daemon({ workspaces: ['claim-agents'], agents: ['gemini', 'codex'] }))).map((c) => c.task.id)).toEqual([codex]);
  });

  it('takes only tasks of the workspaces the runtime serves', async () => {
    await createWorkspace(db, { id: 'claim-mine' });
    await createWorkspace(db, { id: 'claim-theirs' });
    const theirs = await task('claim-theirs', 1_000, { priority: 100 });
    const mine = await task('claim-mine', 1);
    expect((await claimTasks(db, daemon({ workspaces: ['claim-mine'] }))).map((c) => c.task.id)).toEqual([mine]);
    expect(await claimTasks(db, daemon({ workspaces: ['claim-mine'] }))).toEqual([]);
    expect(await statusOf(theirs)).toBe('queued');
    expect(await claimTasks(db, daemon({ workspaces: [] }))).toEqual([]);
    expect((await claimTasks(db, daemon({ workspaces: ['claim-theirs'] }))).map((c) => c.task.id)).toEqual([theirs]);
  });

  it('skips a workspace at its cap and serves the next one', async () => {
    await createWorkspace(db, { id: 'claim-full', maxConcurrentTasks: 1 });
    await createWorkspace(db, { id: 'claim-open' });
    await task('claim-full', 1_000, { priority: 50 });
    const waiting = await task('claim-full', 900, { priority: 50 });
    const open = await task('claim-open', 1);
    const d = daemon({ workspaces: ['claim-full', 'claim-open'], slots: 1 });
    expect(await claimTasks(db, d)).toHaveLength(1);
    expect((await claimTasks(db, d)).map((c) => c.task.id)).toEqual([open]);
    expect(await statusOf(waiting)).toBe('queued');
  });

  itOnPostgres('lets racing runtimes on two servers never exceed the cap nor claim a task twice (PostgreSQL)', async () => {
    await createWorkspace(db, { id: 'claim-race', maxConcurrentTasks: 5 });
    await createWorkspace(db, { id: 'claim-race-2', maxConcurrentTasks: 4 });
    for (let i = 0; i < 30; i++) await task(i % 2 ? 'claim-race' : 'claim-race-2', 1_000 - i);
    // A second server process: its own pool on the same database.
    const other: Db = await openStore({ kind: 'postgres', connection: { connectionString: db.url!, max: 10 }, describe: 'second server' });
    track(other, 'second server pool');
    try {
      const daemons = Array.from({ length: 8 }, () => daemon({ workspaces: ['claim-race', 'claim-race-2'], slots: 3 }));
      const claimed: { id: string; daemonId: string }[] = [];
      // Every runtime asks repeatedly, all at once, half of them through each server.
      await Promise.all(
        daemons.map(async (d, i) => {
          for (let round = 0; round < 4; round++) {
            const got = await claimTasks(i % 2 ? other : db, d);
            claimed.push(...got.map((c) => ({ id: c.task.id, daemonId: d.daemonId })));
          }
        }),
      );
      expect(new Set(claimed.map((c) => c.id)).size, 'no task claimed twice').toBe(claimed.length);
      expect(claimed).toHaveLength(9);
      const { rows } = await db.query<{ workspace_id: string; n: number }>(
        `SELECT workspace_id, count(*)::int AS n FROM tasks WHERE workspace_id LIKE 'claim-race%' AND status = 'claimed' GROUP BY workspace_id ORDER BY workspace_id`,
      );
      expect(rows).toEqual([
        { workspace_id: 'claim-race', n: 5 },
        { workspace_id: 'claim-race-2', n: 4 },
      ]);
      // The database agrees with what each runtime was told, row by row.
      for (const c of claimed) expect((await getTaskRow(db, null, c.id))?.daemon_id).toBe(c.daemonId);
      const transitions = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM task_transitions tt JOIN tasks t ON t.id = tt.task_id WHERE t.workspace_id LIKE 'claim-race%' AND tt.to_status = 'claimed'`,
      );
      expect(transitions.rows[0]?.n).toBe(9);
    } finally {
      await other.close();
      untrack(other);
    }
  });
});
