/**
 * Reports about runs that arrive late, from a runtime that no longer holds
 * the task (found by the chaos suite, scripts/chaos.ts).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FinishedFrame } from '../../src/core/protocol.js';
import { recordFinished, recordStarted } from '../../src/server/runReports.js';
import { claimTasks } from '../../src/store/claim.js';
import { insertTask } from '../../src/store/tasks.js';
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
