/** Attempts of a task (`task_runs`): one row per run that started. */
import type { TaskRun } from '../core/api.js';
import type { Queryable } from './db.js';
import { toRun } from './rows.js';

export interface RunStart {
  taskId: string;
  attempt: number;
  daemonId: string;
  agent: string;
  agentVersion?: string | null;
  model?: string | null;
  pid?: number | null;
  seqStart: number;
  startedAt?: string;
}

export async function insertRun(q: Queryable, r: RunStart): Promise<void> {
  await q.query(
    `INSERT INTO task_runs (task_id, attempt, daemon_id, agent, agent_version, model, pid, seq_start, started_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9::timestamptz, now()))
     ON CONFLICT (task_id, attempt) DO NOTHING`,
    [r.taskId, r.attempt, r.daemonId, r.agent, r.agentVersion ?? null, r.model ?? null, r.pid ?? null, r.seqStart, r.startedAt ?? null],
  );
}

export interface RunEnd {
  status: 'completed' | 'failed' | 'blocked' | 'cancelled';
  exitCode?: number | null;
  signal?: string | null;
  failureClass?: string | null;
  failureReason?: string | null;
  stderrTail?: string | null;
  lastEvents?: unknown[] | null;
  usage?: Record<string, unknown> | null;
  costUsd?: number | null;
  sessionId?: string | null;
  resultText?: string | null;
  diff?: Record<string, unknown> | null;
  agentVersion?: string | null;
  model?: string | null;
  endedAt?: string;
}

/**
 * Closes a run that is still open; a second report for the same run changes
 * nothing. With `daemonId`, only that runtime's run: an attempt number given
 * back by an expired claim can be run by another runtime, and a late report
 * of the first one must not close the second one's record (chaos suite).
 */
export async function finishRun(q: Queryable, taskId: string, attempt: number, e: RunEnd, daemonId?: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE task_runs SET status = $3, exit_code = $4, signal = $5, failure_class = $6, failure_reason = $7,
       stderr_tail = $8, last_events = $9, usage = $10, cost_usd = $11, session_id = coalesce($12, session_id),
       result_text = $13, diff = $14, agent_version = coalesce($15, agent_version), model = coalesce($16, model),
       ended_at = coalesce($17::timestamptz, now())
     WHERE task_id = $1 AND attempt = $2 AND status = 'running' AND ($18::uuid IS NULL OR daemon_id = $18::uuid)`,
    [
      taskId,
      attempt,
      e.status,
      e.exitCode ?? null,
      e.signal ?? null,
      e.failureClass ?? null,
      e.failureReason ?? null,
      e.stderrTail ?? null,
      e.lastEvents ? JSON.stringify(e.lastEvents) : null,
      e.usage ? JSON.stringify(e.usage) : null,
      e.costUsd ?? null,
      e.sessionId ?? null,
      e.resultText ?? null,
      e.diff ? JSON.stringify(e.diff) : null,
      e.agentVersion ?? null,
      e.model ?? null,
      e.endedAt ?? null,
      daemonId ?? null,
    ],
  );
  return (rowCount ?? 0) > 0;
}

export async function listRuns(q: Queryable, taskId: string): Promise<TaskRun[]> {
  const { rows } = await q.query('SELECT * FROM task_runs WHERE task_id = $1 ORDER BY attempt', [taskId]);
  return rows.map(toRun);
}
