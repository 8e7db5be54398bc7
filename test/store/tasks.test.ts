/**
 * Tasks in the store: a new task and its timeline, and the transition guard —
 * every status update names the state it expects, so a stale or racing
 * transition changes nothing.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../../src/core/errors.js';
import type { Actor, TaskStatus } from '../../src/core/taskState.js';
import type { Queryable } from '../../src/store/db.js';
import { getTask, getTaskRow, getTimeline, insertTask, requireGroup, transition, type TransitionRequest } from '../../src/store/tasks.js';
import { createWorkspace } from '../../src/store/workspaces.js';
import { createTestDb, itOnPostgres, type TestDb } from '../helpers/db.js';
import { track, untrack } from '../helpers/leaks.js';
import { until } from '../helpers/wait.js';

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
  track(db, 'test database');
  await createWorkspace(db, { id: 'tasks' });
  await createWorkspace(db, { id: 'elsewhere' });
});
afterAll(async () => {
  await db?.close();
  untrack(db);
});

const newTask = (prompt = 'Fix the flaky login test') => insertTask(db, { workspaceId: 'tasks', assignedAgent: 'claude-code', prompt });

/** The whole row and its timeline, to show that something did not change. */
async function snapshot(id: string) {
  return { row: await getTaskRow(db, null, id), timeline: await getTimeline(db, id) };
}

/** Walks a task through legal transitions to `status`. */
async function taskIn(status: TaskStatus): Promise<string> {
  const t = await newTask(`a task that ends up ${status}`);
  const daemonId = randomUUID();
  const path: Record<TaskStatus, [TaskStatus, Actor][]> = {
    queued: [],
    claimed: [['claimed', 'dispatcher']],
    executing: [['claimed', 'dispatcher'], ['executing', 'daemon']],
    completed: [['claimed', 'dispatcher'], ['executing', 'daemon'], ['completed', 'daemon']],
    failed: [['claimed', 'dispatcher'], ['executing', 'daemon'], ['failed', 'daemon']],
    blocked: [['claimed', 'dispatcher'], ['executing', 'daemon'], ['blocked', 'daemon']],
    cancelled: [['cancelled', 'user']],
  };
  let from: TaskStatus = 'queued';
  for (const [to, actor] of path[status]) {
    const r = await transition(db, { taskId: t.id, from: [from], to, actor, ...(to === 'claimed' ? { set: { daemon_id: daemonId } } : {}) });
    expect(r?.task.status).toBe(to);
    from = to;
  }
  return t.id;
}

describe('a new task', () => {
  it('is queued at attempt 0 with the defaults, the SHA-256 of its prompt, and one timeline entry', async () => {
    const prompt = 'Fix the flaky login test';
    const t = await insertTask(db, { workspaceId: 'tasks', assignedAgent: 'codex', prompt, metadata: { ticket: 'OPS-1' } });
    expect(t).toMatchObject({
      workspaceId: 'tasks',
      assignedAgent: 'codex',
      prompt,
      promptHash: createHash('sha256').update(prompt).digest('hex'),
      status: 'queued',
      priority: 0,
      attempt: 0,
      maxAttempts: 3,
      runAfter: null,
      metadata: { ticket: 'OPS-1' },
      daemonId: null,
      actions: ['cancel'],
    });
    expect(t.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const read = await getTask(db, 'tasks', t.id, true);
    expect(read?.timeline).toEqual([{ from: null, to: 'queued', actor: 'user', reason: 'created', attempt: 0, daemonId: null, at: expect.any(String) }]);
  });

  it('is invisible from another workspace', async () => {
    const t = await newTask();
    expect(await getTask(db, 'elsewhere', t.id)).toBeUndefined();
    expect((await getTask(db, null, t.id))?.id).toBe(t.id);
  });

  it('keeps its place in a comparison group, whatever order the rows were written in or their ids sort in', async () => {
    const groupId = randomUUID();
    const agents = ['codex', 'claude-code', 'gemini-cli', 'fake'];
    // Written last-named first: creation time and id order both disagree with the group's order.
    for (const [position, agent] of [...agents.entries()].reverse()) {
      await insertTask(db, { workspaceId: 'tasks', assignedAgent: agent, prompt: 'compare', groupId, groupPosition: position });
    }
    const group = await requireGroup(db, 'tasks', groupId);
    expect(group.tasks.map((t) => t.assignedAgent)).toEqual(agents);
    await expect(requireGroup(db, 'elsewhere', groupId)).rejects.toThrow(/not found/i);
  });
});

describe('transition', () => {
  it('moves a task, sets the columns asked for, and records who did it and why', async () => {
    const t = await newTask();
    const daemonId = randomUUID();
    const r = await transition(db, { taskId: t.id, from: ['queued'], to: 'claimed', actor: 'dispatcher', reason: 'test claim', set: { daemon_id: daemonId, attempt: 1 } });
    expect(r?.from).toBe('queued');
    expect(r?.task).toMatchObject({ status: 'claimed', daemonId, attempt: 1 });
    const timeline = await getTimeline(db, t.id);
    expect(timeline.map((e) => [e.from, e.to, e.actor, e.reason])).toEqual([
      [null, 'queued', 'user', 'created'],
      ['queued', 'claimed', 'dispatcher', 'test claim'],
    ]);
    expect(timeline[1]).toMatchObject({ attempt: 1, daemonId });
  });

  it('from a state the task is not in answers undefined and changes nothing', async () => {
    const id = await taskIn('executing');
    const before = await snapshot(id);
    // The reaper thinks the lease of a claimed task expired — but the daemon has already reported the spawn.
    const r = await transition(db, { taskId: id, from: ['claimed'], to: 'queued', actor: 'reaper', set: { daemon_id: null } });
    expect(r).toBeUndefined();
    expect(await snapshot(id)).toEqual(before);
  });

  it('records the state the task was really in when several were acceptable', async () => {
    const id = await taskIn('blocked');
    const r = await transition(db, { taskId: id, from: ['queued', 'claimed', 'blocked'], to: 'cancelled', actor: 'user' });
    expect(r?.from).toBe('blocked');
    expect((await getTimeline(db, id)).at(-1)).toMatchObject({ from: 'blocked', to: 'cancelled', actor: 'user' });
  });

  it('refuses a transition the table does not allow before touching the database', async () => {
    const id = await taskIn('completed');
    const before = await snapshot(id);
    await expect(transition(db, { taskId: id, from: ['completed'], to: 'queued', actor: 'user' })).rejects.toBeInstanceOf(IllegalTransitionError);
    // Allowed for the daemon, not for the user.
    const running = await taskIn('executing');
    await expect(transition(db, { taskId: running, from: ['executing'], to: 'completed', actor: 'user' })).rejects.toMatchObject({ from: 'executing', to: 'completed', actor: 'user' });
    // One illegal state among the acceptable ones is enough to refuse.
    await expect(transition(db, { taskId: running, from: ['queued', 'completed'], to: 'cancelled', actor: 'user' })).rejects.toBeInstanceOf(IllegalTransitionError);
    expect(await snapshot(id)).toEqual(before);
    expect((await getTaskRow(db, null, running))?.status).toBe('executing');
  });

  it('refuses to set a column that is not a transition’s to set', async () => {
    const t = await newTask();
    const sneaky = { set: { prompt: 'rm -rf /' } } as unknown as Pick<TransitionRequest, 'set'>;
    await expect(transition(db, { taskId: t.id, from: ['queued'], to: 'cancelled', actor: 'user', ...sneaky })).rejects.toThrow(/prompt/);
    expect((await getTaskRow(db, null, t.id))).toMatchObject({ status: 'queued', prompt: 'Fix the flaky login test' });
  });

  it('honours the extra guard: only the daemon holding the task, for the attempt it runs', async () => {
    const id = await taskIn('claimed');
    const holder = (await getTaskRow(db, null, id))?.daemon_id as string;
    const stranger = randomUUID();
    expect(await transition(db, { taskId: id, from: ['claimed'], to: 'executing', actor: 'daemon', where: { daemonId: stranger } })).toBeUndefined();
    expect(await transition(db, { taskId: id, from: ['claimed'], to: 'executing', actor: 'daemon', where: { daemonId: holder, attempt: 7 } })).toBeUndefined();
    expect((await transition(db, { taskId: id, from: ['claimed'], to: 'executing', actor: 'daemon', where: { daemonId: holder, attempt: 0 } }))?.task.status).toBe('executing');
  });

  it('lets exactly one of many racing actors win, and the timeline shows only the winner', async () => {
    const t = await newTask();
    // The dispatcher claims while the user cancels, several times over: all start at once.
    const racers: TransitionRequest[] = Array.from({ length: 8 }, (_, i) =>
      i % 2 === 0
        ? { taskId: t.id, from: ['queued'], to: 'claimed', actor: 'dispatcher', reason: `claim ${i}`, set: { daemon_id: randomUUID() } }
        : { taskId: t.id, from: ['queued'], to: 'cancelled', actor: 'user', reason: `cancel ${i}` },
    );
    const results = await Promise.all(racers.map((req) => db.tx((q) => transition(q, req))));
    const winners = results.filter((r) => r !== undefined);
    expect(winners).toHaveLength(1);
    const final = await getTaskRow(db, null, t.id);
    expect(final?.status).toBe(winners[0]!.task.status);
    const timeline = await getTimeline(db, t.id);
    expect(timeline).toHaveLength(2);
    expect(timeline[1]).toMatchObject({ from: 'queued', to: final?.status });
  });

  itOnPostgres('makes the loser of a real race wait for the winner’s commit, then find the task moved (PostgreSQL)', async () => {
    const t = await newTask();
    let loser: Promise<unknown> | undefined;
    const winner = await db.tx(async (q: Queryable) => {
      const won = await transition(q, { taskId: t.id, from: ['queued'], to: 'claimed', actor: 'dispatcher', set: { daemon_id: randomUUID() } });
      // Now, while this transaction holds the row, a second actor tries on another connection.
      loser = db.tx((q2) => transition(q2, { taskId: t.id, from: ['queued'], to: 'cancelled', actor: 'user' }));
      await until(async () => {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE%'`,
        );
        return (rows[0]?.n ?? 0) >= 1;
      }, 'the second transition to block on the task row');
      return won;
    });
    expect(winner?.task.status).toBe('claimed');
    expect(await loser).toBeUndefined();
    expect((await getTaskRow(db, null, t.id))?.status).toBe('claimed');
    expect((await getTimeline(db, t.id)).map((e) => e.to)).toEqual(['queued', 'claimed']);
  });

  it('answers undefined for a task that does not exist', async () => {
    expect(await transition(db, { taskId: randomUUID(), from: ['queued'], to: 'cancelled', actor: 'user' })).toBeUndefined();
  });
});
