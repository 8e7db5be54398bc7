/**
 * Reports about runs that arrive late, from a runtime that no longer holds
 * the task (found by the chaos suite, scripts/chaos.ts): a claim whose lease
 * ran out while its runtime's reports were stuck behind a dead server.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishedFrame } from '../../src/core/protocol.js';
import { expireClaim, recordFinished, recordStarted } from '../../src/server/runReports.js';
import { claimTasks } from '../../src/store/claim.js';
import { getTaskRow, insertTask } from '../../src/store/tasks.js';
import { createWorkspace } from '../../src/store/workspaces.js';
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

const ctx = (daemonId: string) => ({ db, daemonId, execLeaseMs: 30_000 });
const started = (taskId: string, attempt: number) => ({ type: 'started' as const, taskId, attempt, pid: 1, agentVersion: null, model: null, startedAt: new Date().toISOString() });
const finished = (taskId: string, attempt: number, outcome: FinishedFrame['outcome'], exitCode: number): FinishedFrame => ({
  type: 'finished',
  taskId,
  attempt,
  outcome,
  lastSeq: 0,
  exitCode,
  signal: null,
  failureClass: outcome === 'failed' ? 'agent_error' : null,
  reason: null,
  stderrTail: null,
  usage: null,
  costUsd: null,
  sessionId: null,
  agentVersion: null,
  model: null,
  resultText: null,
  question: null,
  endedAt: new Date().toISOString(),
});

/** A task of its own workspace, claimed by `daemonId`. */
async function claimedTask(ws: string, daemonId: string, maxAttempts: number) {
  await createWorkspace(db, { id: ws });
  const t = await insertTask(db, { workspaceId: ws, assignedAgent: 'fake', prompt: `task of ${ws}`, maxAttempts });
  const [c] = await claimTasks(db, { daemonId, workspaces: [ws], agents: ['fake'], slots: 1, leaseMs: 30_000 });
  expect(c?.task).toMatchObject({ id: t.id, attempt: 1, status: 'claimed' });
  return t.id;
}

describe('a claim whose lease expired', () => {
  it('counts as an attempt: the next claim runs attempt 2, and the first runtime\'s late reports change nothing', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const id = await claimedTask('late-a', a, 3);
    const t = await db.tx((q) => expireClaim(q, id, a, 1, 'lease expired'));
    expect(t).toMatchObject({ status: 'queued', attempt: 1, daemonId: null });

    const [again] = await claimTasks(db, { daemonId: b, workspaces: ['late-a'], agents: ['fake'], slots: 1, leaseMs: 30_000 });
    expect(again?.task).toMatchObject({ id, attempt: 2 });
    expect(await recordStarted(ctx(b), started(id, 2))).toMatchObject({ status: 'executing', attempt: 2 });

    // Runtime A had started attempt 1 after all; its reports arrive now.
    expect(await recordStarted(ctx(a), started(id, 1))).toBeUndefined();
    await recordFinished(ctx(a), finished(id, 1, 'failed', 1));
    expect(await getTaskRow(db, null, id)).toMatchObject({ status: 'executing', attempt: 2, daemon_id: b });
    const runs = await db.query<{ attempt: number; status: string }>('SELECT attempt, status FROM task_runs WHERE task_id = $1 ORDER BY attempt', [id]);
    expect(runs.rows).toEqual([{ attempt: 2, status: 'running' }]);
  });

  it('on the last attempt fails the task as runtime_lost', async () => {
    const a = randomUUID();
    const id = await claimedTask('late-last', a, 1);
    const t = await db.tx((q) => expireClaim(q, id, a, 1, 'lease expired'));
    expect(t).toMatchObject({ status: 'failed', attempt: 1 });
    expect(t?.statusReason).toMatch(/^runtime_lost: lease expired/);
    expect(t?.finishedAt).not.toBeNull();
  });

  it('is left alone when the runtime reported the start meanwhile', async () => {
    const a = randomUUID();
    const id = await claimedTask('late-started', a, 3);
    await recordStarted(ctx(a), started(id, 1));
    expect(await db.tx((q) => expireClaim(q, id, a, 1, 'lease expired'))).toBeUndefined();
    expect(await getTaskRow(db, null, id)).toMatchObject({ status: 'executing', attempt: 1 });
  });
});

describe('a late finished report', () => {
  it('does not close the run record another runtime holds for the same attempt number', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const id = await claimedTask('late-finish', b, 3);
    expect(await recordStarted(ctx(b), started(id, 1))).toMatchObject({ status: 'executing' });
    // Runtime A once held attempt 1 (a claim given back by a reconnect) and reports it now.
    expect(await recordFinished(ctx(a), finished(id, 1, 'completed', 0))).toBeUndefined();
    const run = await db.query<{ status: string; daemon_id: string }>('SELECT status, daemon_id FROM task_runs WHERE task_id = $1', [id]);
    expect(run.rows).toEqual([{ status: 'running', daemon_id: b }]);
    expect(await recordFinished(ctx(b), finished(id, 1, 'completed', 0))).toMatchObject({ status: 'completed' });
  });
});
