/**
 * What the server does with a runtime's reports about one run: its start,
 * its end, a refused assignment, and a run lost with its runtime. Each is
 * one short transaction guarded by the runtime and the attempt, so a late
 * report of a run the server no longer gives to that runtime changes nothing.
 */
import type { z } from 'zod';
import type { Task } from '../core/api.js';
import type { FinishedFrame, startedFrame } from '../core/protocol.js';
import { classPolicy, nextRetryAt, type BackoffSettings, type RetryPolicy } from '../core/retryPolicy.js';
import type { TaskStatus } from '../core/taskState.js';
import type { Db, Queryable } from '../store/db.js';
import { finishRun, insertRun } from '../store/runs.js';
import { getTaskRow, transition, type TaskPatch } from '../store/tasks.js';
import { revokeTaskTokens } from '../store/tokens.js';

export interface ReportContext {
  db: Db;
  daemonId: string;
  execLeaseMs: number;
  backoff?: BackoffSettings;
  policy?: RetryPolicy;
}

const leaseFrom = (ms: number) => new Date(Date.now() + ms);

/** claimed → executing. Answers false when the task is no longer this runtime's to run. */
export async function recordStarted(ctx: ReportContext, f: z.infer<typeof startedFrame>): Promise<Task | undefined> {
  return ctx.db.tx(async (q) => {
    const done = await transition(q, {
      taskId: f.taskId,
      from: ['claimed'],
      to: 'executing',
      actor: 'daemon',
      reason: f.note ? `agent process started; ${f.note}` : 'agent process started',
      set: { lease_expires_at: leaseFrom(ctx.execLeaseMs) },
      where: { daemonId: ctx.daemonId, attempt: f.attempt },
    });
    if (!done) return undefined;
    // A first attempt's lines start at 1 (its `started` comes before its lines); a retry's follow the earlier attempts'.
    const seqStart = f.attempt === 1 ? 1 : Number((await q.query<{ n: number }>('SELECT coalesce(max(seq), 0) + 1 AS n FROM task_events WHERE task_id = $1', [f.taskId])).rows[0]?.n ?? 1);
    await insertRun(q, {
      taskId: f.taskId,
      attempt: f.attempt,
      daemonId: ctx.daemonId,
      agent: done.task.assignedAgent,
      agentVersion: f.agentVersion,
      model: f.model,
      pid: f.pid,
      seqStart,
      startedAt: f.startedAt,
    });
    return done.task;
  });
}

/** claimed → queued: the runtime refused, or never answered; the attempt is given back. */
export async function releaseClaim(q: Queryable, taskId: string, daemonId: string, attempt: number, actor: 'daemon' | 'reaper', reason: string): Promise<Task | undefined> {
  const done = await transition(q, {
    taskId,
    from: ['claimed'],
    to: 'queued',
    actor,
    reason,
    set: { attempt: attempt - 1, daemon_id: null, lease_expires_at: null, status_reason: reason },
    where: { daemonId, attempt },
  });
  return done?.task;
}

/**
 * claimed → queued by the reaper: the claim's lease ran out without a spawn
 * report. The runtime may have started the run all the same (its report
 * delayed, or lost with a server that died), so — like a lost run — the
 * attempt stays counted and the next claim gets a new number; on the last
 * attempt the task fails as runtime_lost. Giving the number back let the
 * next claim reuse it, and the first runtime's late reports then passed for
 * that other run's (chaos suite: one attempt run by two processes).
 */
export async function expireClaim(q: Queryable, taskId: string, daemonId: string, attempt: number, reason: string, policy?: RetryPolicy): Promise<Task | undefined> {
  const row = await getTaskRow(q, null, taskId);
  if (!row || row.status !== 'claimed' || row.daemon_id !== daemonId || Number(row.attempt) !== attempt) return undefined;
  const lost = classPolicy('runtime_lost', policy);
  const retry = lost.retryable && attempt < Math.min(Number(row.max_attempts), lost.maxAttempts ?? Infinity);
  const done = await transition(q, {
    taskId,
    from: ['claimed'],
    to: retry ? 'queued' : 'failed',
    actor: 'reaper',
    reason,
    set: retry
      ? { daemon_id: null, lease_expires_at: null, status_reason: reason }
      : { lease_expires_at: null, status_reason: `runtime_lost: ${reason}`, finished_at: new Date(), run_after: null },
    where: { daemonId, attempt },
  });
  if (done && !retry) await revokeTaskTokens(q, taskId);
  return done?.task;
}

/**
 * The end of a run: closes the run record and moves the task on. A failure
 * that may be retried leaves the task `failed` with `run_after` set; the
 * retry promoter re-queues it then.
 */
export async function recordFinished(ctx: ReportContext, f: FinishedFrame): Promise<Task | undefined> {
  return ctx.db.tx(async (q) => {
    const row = await getTaskRow(q, null, f.taskId);
    // A question the agent asked during this run (switchyard ask / ask_user) blocks the task.
    const asked = row !== undefined && row.question_attempt !== null && Number(row.question_attempt) === f.attempt && row.cancel_requested_at === null;
    const outcome: FinishedFrame['outcome'] = asked && (f.outcome === 'completed' || f.outcome === 'failed') ? 'blocked' : f.outcome;
    await finishRun(q, f.taskId, f.attempt, {
      status: outcome,
      exitCode: f.exitCode,
      signal: f.signal,
      failureClass: outcome === 'failed' ? (f.failureClass ?? 'agent_error') : outcome === 'cancelled' ? 'cancelled' : null,
      failureReason: f.reason,
      stderrTail: f.stderrTail,
      lastEvents: f.lastEvents ?? null,
      usage: f.usage ?? null,
      costUsd: f.costUsd,
      sessionId: f.sessionId,
      resultText: f.resultText,
      diff: f.diff ?? null,
      agentVersion: f.agentVersion,
      model: f.model,
      endedAt: f.endedAt,
    }, ctx.daemonId);
    if (!row) return undefined;
    const base: TaskPatch = { lease_expires_at: null, session_id: f.sessionId ?? (row.session_id as string | null) };
    let to: TaskStatus = outcome;
    let reason = f.reason ?? undefined;
    const set: TaskPatch = { ...base };
    const now = new Date();
    switch (outcome) {
      case 'completed':
        Object.assign(set, { result_text: f.resultText, finished_at: now, status_reason: null, question: null });
        reason = 'agent finished';
        break;
      case 'blocked':
        Object.assign(set, { question: f.question ?? (row.question as string | null), answer: null, status_reason: 'waiting for an answer', result_text: f.resultText });
        reason = 'agent asked a question';
        break;
      case 'cancelled':
        Object.assign(set, { finished_at: now });
        reason = reason ?? 'cancelled';
        break;
      case 'failed': {
        const cancelRequested = row.cancel_requested_at !== null;
        const retryAt = cancelRequested
          ? null
          : nextRetryAt({
              failureClass: f.failureClass,
              attempt: f.attempt,
              maxAttempts: Number(row.max_attempts),
              now: now.getTime(),
              random: Math.random(),
              retryAt: f.retryAt ? Date.parse(f.retryAt) : null,
              backoff: ctx.backoff,
              policy: ctx.policy,
            });
        const what = `${f.failureClass ?? 'agent_error'}: ${f.reason ?? 'run failed'}`;
        if (cancelRequested) {
          to = 'cancelled';
          Object.assign(set, { finished_at: now, status_reason: 'cancelled by user' });
        } else {
          Object.assign(set, {
            run_after: retryAt ? new Date(retryAt) : null,
            finished_at: retryAt ? null : now,
            status_reason: retryAt ? `${what}; retry ${f.attempt + 1} of ${Number(row.max_attempts)} at ${new Date(retryAt).toISOString()}` : what,
          });
        }
        reason = what;
        break;
      }
    }
    const done = await transition(q, {
      taskId: f.taskId,
      from: ['executing'],
      to,
      actor: 'daemon',
      reason,
      set,
      where: { daemonId: ctx.daemonId, attempt: f.attempt },
    });
    if (done && to !== 'failed') await revokeTaskTokens(q, f.taskId);
    if (done && to === 'failed' && set.finished_at) await revokeTaskTokens(q, f.taskId);
    return done?.task;
  });
}

/**
 * A run whose runtime vanished (reaper) or forgot it (reconciliation):
 * the run fails as `runtime_lost`, and the task is re-queued while attempts
 * remain — or cancelled, when a cancel was pending.
 */
export async function recordLost(q: Queryable, taskId: string, daemonId: string, attempt: number, actor: 'reaper', reason: string, policy?: RetryPolicy): Promise<Task | undefined> {
  const row = await getTaskRow(q, null, taskId);
  if (!row || row.status !== 'executing' || row.daemon_id !== daemonId || Number(row.attempt) !== attempt) return undefined;
  await finishRun(q, taskId, attempt, { status: 'failed', failureClass: 'runtime_lost', failureReason: reason }, daemonId);
  const cancelRequested = row.cancel_requested_at !== null;
  const lost = classPolicy('runtime_lost', policy);
  const retry = !cancelRequested && lost.retryable && attempt < Math.min(Number(row.max_attempts), lost.maxAttempts ?? Infinity);
  const to: TaskStatus = cancelRequested ? 'cancelled' : retry ? 'queued' : 'failed';
  const done = await transition(q, {
    taskId,
    from: ['executing'],
    to,
    actor,
    reason: `runtime_lost: ${reason}`,
    set: {
      lease_expires_at: null,
      daemon_id: retry ? null : daemonId,
      status_reason: retry ? `runtime lost (${reason}); retrying` : `runtime_lost: ${reason}`,
      finished_at: retry ? null : new Date(),
      run_after: null,
    },
    where: { daemonId, attempt },
  });
  if (done && !retry) await revokeTaskTokens(q, taskId);
  return done?.task;
}
