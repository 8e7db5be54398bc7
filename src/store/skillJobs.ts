/** The skill library's queue of retried background work (skill_jobs). */
import type { Queryable } from './db.js';
import { sql } from './sql.js';

export interface SkillJob {
  id: number;
  workspaceId: string;
  kind: 'index_task' | 'embed_skill';
  taskId: string | null;
  skillId: string | null;
  attempts: number;
  maxAttempts: number;
  state: 'pending' | 'failed';
  lastError: string | null;
  runAfter: string;
}

function toJob(r: Record<string, unknown>): SkillJob {
  return {
    id: Number(r.id),
    workspaceId: String(r.workspace_id),
    kind: r.kind as SkillJob['kind'],
    taskId: r.task_id ? String(r.task_id) : null,
    skillId: r.skill_id ? String(r.skill_id) : null,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    state: r.state as SkillJob['state'],
    lastError: r.last_error === null || r.last_error === undefined ? null : String(r.last_error),
    runAfter: r.run_after instanceof Date ? r.run_after.toISOString() : String(r.run_after),
  };
}

/** Queues the indexing of a completed task; a second call for the same task is a no-op. */
export async function enqueueIndexTask(q: Queryable, workspaceId: string, taskId: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO skill_jobs (workspace_id, kind, task_id) VALUES ($1, 'index_task', $2)
     ON CONFLICT (task_id) WHERE kind = 'index_task' DO NOTHING`,
    [workspaceId, taskId],
  );
  return (rowCount ?? 0) > 0;
}

export async function enqueueEmbedSkills(q: Queryable, workspaceId: string, skillIds: readonly string[]): Promise<void> {
  if (skillIds.length === 0) return;
  await q.query(`INSERT INTO skill_jobs (workspace_id, kind, skill_id) SELECT $1, 'embed_skill', unnest($2::uuid[])`, [workspaceId, skillIds]);
}

export async function claimSkillJobs(q: Queryable, limit: number, leaseMs: number): Promise<SkillJob[]> {
  return (await q.query(sql('skill_jobs_claim'), [limit, leaseMs])).rows.map(toJob);
}

export async function finishSkillJob(q: Queryable, id: number): Promise<void> {
  await q.query('DELETE FROM skill_jobs WHERE id = $1', [id]);
}

/** A failed attempt: due again after `delayMs`, or `failed` for good once its attempts are spent. */
export async function failSkillJob(q: Queryable, job: SkillJob, error: string, delayMs: number | null): Promise<void> {
  await q.query(
    `UPDATE skill_jobs SET last_error = $2, updated_at = now(),
       state = CASE WHEN $3::double precision IS NULL THEN 'failed' ELSE 'pending' END,
       run_after = CASE WHEN $3::double precision IS NULL THEN run_after ELSE now() + make_interval(secs => $3::double precision / 1000) END
     WHERE id = $1`,
    [job.id, error.slice(0, 4000), delayMs],
  );
}

export async function listSkillJobs(q: Queryable, workspaceId: string): Promise<SkillJob[]> {
  return (await q.query('SELECT * FROM skill_jobs WHERE workspace_id = $1 ORDER BY id', [workspaceId])).rows.map(toJob);
}
