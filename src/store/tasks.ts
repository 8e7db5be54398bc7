/**
 * Tasks and their timeline. Every status change goes through `transition`,
 * which names the expected current statuses in its WHERE clause and records
 * the change in `task_transitions` within the same transaction.
 */
import { createHash } from 'node:crypto';
import type { Task, TaskGroup } from '../core/api.js';
import { NotFoundError } from '../core/errors.js';
import { assertTransition, type Actor, type TaskStatus } from '../core/taskState.js';
import { appendAudit, currentAuditActor } from './audit.js';
import type { Queryable } from './db.js';
import { decodeCursor, keysetPage, rethrowBadCursorTime } from './keysetCursor.js';
import { iso, toRun, toTask, type DbRow } from './rows.js';
import { enqueueTaskEvents } from './webhooks.js';

export function promptHash(prompt: string): string {
  return createHash('sha256').update(prompt).digest('hex');
}

export interface NewTask {
  workspaceId: string;
  assignedAgent: string;
  prompt: string;
  priority?: number;
  metadata?: Record<string, unknown>;
  maxAttempts?: number;
  model?: string | null;
  tokenBudget?: number | null;
  repo?: string | null;
  baseRef?: string | null;
  runAfter?: string | null;
  groupId?: string | null;
  /** The task's place in its comparison group: the order its agent was named in. */
  groupPosition?: number | null;
  createdBy?: string | null;
}

export async function insertTask(q: Queryable, t: NewTask): Promise<Task> {
  const { rows } = await q.query(
    // clock_timestamp(), not now(): tasks created in one transaction are listed in the order they were made.
    `INSERT INTO tasks (workspace_id, assigned_agent, prompt, prompt_hash, priority, metadata, max_attempts, model,
                        token_budget, repo, base_ref, run_after, group_id, group_position, created_by, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, clock_timestamp(), clock_timestamp())
     RETURNING *, (SELECT w.audit_log_enabled FROM workspaces w WHERE w.id = tasks.workspace_id) AS audit_enabled`,
    [
      t.workspaceId,
      t.assignedAgent,
      t.prompt,
      promptHash(t.prompt),
      t.priority ?? 0,
      JSON.stringify(t.metadata ?? {}),
      t.maxAttempts ?? 3,
      t.model ?? null,
      t.tokenBudget ?? null,
      t.repo ?? null,
      t.baseRef ?? null,
      t.runAfter ?? null,
      t.groupId ?? null,
      t.groupPosition ?? null,
      t.createdBy ?? null,
    ],
  );
  const row = rows[0]!;
  await recordTransition(q, {
    taskId: String(row.id),
    workspaceId: t.workspaceId,
    from: null,
    to: 'queued',
    actor: 'user',
    reason: 'created',
    attempt: 0,
    auditEnabled: Boolean(row.audit_enabled),
  });
  return toTask(row);
}

export interface TransitionRecord {
  taskId: string;
  workspaceId: string;
  from: TaskStatus | null;
  to: TaskStatus;
  actor: Actor;
  reason: string | null;
  attempt: number;
  daemonId?: string | null;
  /** Whether the workspace keeps an audit log, when the caller read it already (else it is looked up). */
  auditEnabled?: boolean;
}

export async function recordTransition(q: Queryable, r: TransitionRecord): Promise<void> {
  await recordTransitions(q, [r]);
}

/**
 * The one place where transitions are recorded: the task's timeline and,
 * when its workspace keeps one, the audit log — in the caller's transaction,
 * so the change, its timeline entry and its audit record commit together.
 * A user's transition carries the API caller's token, role and address
 * (withAuditActor, set by the server for each request).
 */
export async function recordTransitions(q: Queryable, records: readonly TransitionRecord[]): Promise<void> {
  if (records.length === 0) return;
  await q.query(
    `INSERT INTO task_transitions (task_id, from_status, to_status, actor, reason, attempt, daemon_id)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::integer[], $7::uuid[])`,
    [
      records.map((r) => r.taskId),
      records.map((r) => r.from),
      records.map((r) => r.to),
      records.map((r) => r.actor),
      records.map((r) => r.reason),
      records.map((r) => r.attempt),
      records.map((r) => r.daemonId ?? null),
    ],
  );
  // Webhook events commit with the change that makes them (src/store/webhooks.ts).
  await enqueueTaskEvents(q, records);
  const enabled = new Map<string, boolean | undefined>();
  for (const r of records) {
    let on = r.auditEnabled ?? enabled.get(r.workspaceId);
    // Several records of one workspace (a claim): look the setting up once; one record: in its append.
    if (on === undefined && records.length > 1) {
      const { rows } = await q.query<{ enabled: boolean }>('SELECT audit_log_enabled AS enabled FROM workspaces WHERE id = $1', [r.workspaceId]);
      on = rows[0]?.enabled ?? false;
    }
    enabled.set(r.workspaceId, on);
    if (on === false) continue;
    const caller = r.actor === 'user' ? currentAuditActor() : undefined;
    await appendAudit(
      q,
      {
        workspaceId: r.workspaceId,
        actor: caller ?? { kind: r.actor, tokenId: null, role: null, clientAddress: null },
        action: 'task.transition',
        targetType: 'task',
        targetId: r.taskId,
        before: r.from ? { status: r.from } : null,
        after: { status: r.to, attempt: r.attempt, reason: r.reason === null ? null : r.reason.slice(0, 300), ...(r.daemonId ? { daemonId: r.daemonId } : {}) },
      },
      on,
    );
  }
}

/** Columns a transition may set besides the status. */
export type TaskPatch = Partial<{
  status_reason: string | null;
  attempt: number;
  max_attempts: number;
  run_after: Date | string | null;
  daemon_id: string | null;
  lease_expires_at: Date | string | null;
  cancel_requested_at: Date | string | null;
  question: string | null;
  answer: string | null;
  session_id: string | null;
  result_text: string | null;
  finished_at: Date | string | null;
  question_attempt: number | null;
  preferred_daemon_id: string | null;
  preferred_until: Date | string | null;
}>;
const PATCHABLE = new Set([
  'status_reason',
  'attempt',
  'max_attempts',
  'run_after',
  'daemon_id',
  'lease_expires_at',
  'cancel_requested_at',
  'question',
  'answer',
  'session_id',
  'result_text',
  'finished_at',
  'question_attempt',
  'preferred_daemon_id',
  'preferred_until',
]);

export interface TransitionRequest {
  taskId: string;
  /** The statuses the caller expects the task to be in now. */
  from: readonly TaskStatus[];
  to: TaskStatus;
  actor: Actor;
  reason?: string;
  set?: TaskPatch;
  /** Extra guard, e.g. the daemon holding the task and the attempt it runs. */
  where?: { daemonId?: string; attempt?: number };
}

export interface TransitionResult {
  task: Task;
  from: TaskStatus;
}

/**
 * Moves a task from one of `from` to `to`. Answers undefined when the task is
 * not (or no longer) in one of those states: somebody else won the race, and
 * the caller decides whether that is an error.
 */
export async function transition(q: Queryable, req: TransitionRequest): Promise<TransitionResult | undefined> {
  for (const f of req.from) assertTransition(req.taskId, f, req.to, req.actor);
  const params: unknown[] = [req.taskId, req.from, req.to];
  const sets = ['status = $3', 'updated_at = now()'];
  for (const [col, value] of Object.entries(req.set ?? {})) {
    if (!PATCHABLE.has(col)) throw new Error(`column ${col} may not be set by a transition`);
    params.push(value instanceof Date ? value.toISOString() : value);
    sets.push(`${col} = $${params.length}`);
  }
  let guard = '';
  if (req.where?.daemonId !== undefined) {
    params.push(req.where.daemonId);
    guard += ` AND t.daemon_id = $${params.length}`;
  }
  if (req.where?.attempt !== undefined) {
    params.push(req.where.attempt);
    guard += ` AND t.attempt = $${params.length}`;
  }
  // The CTE locks the row and remembers the status it had, so the timeline
  // records the real "from" even when several were acceptable.
  const { rows } = await q.query(
    `WITH old AS (SELECT id, status FROM tasks WHERE id = $1 FOR UPDATE)
     UPDATE tasks t SET ${sets.join(', ')}
     FROM old WHERE t.id = old.id AND old.status = ANY($2::text[])${guard}
     RETURNING t.*, old.status AS from_status,
       (SELECT w.audit_log_enabled FROM workspaces w WHERE w.id = t.workspace_id) AS audit_enabled`,
    params,
  );
  const row = rows[0];
  if (!row) return undefined;
  const from = row.from_status as TaskStatus;
  await recordTransition(q, {
    taskId: req.taskId,
    workspaceId: String(row.workspace_id),
    from,
    to: req.to,
    actor: req.actor,
    reason: req.reason ?? null,
    attempt: Number(row.attempt),
    daemonId: (row.daemon_id as string | null) ?? null,
    auditEnabled: Boolean(row.audit_enabled),
  });
  return { task: toTask(row), from };
}

/** A task of the given workspace (any workspace when `workspaceId` is null). */
export async function getTaskRow(q: Queryable, workspaceId: string | null, id: string): Promise<DbRow | undefined> {
  const { rows } = await q.query('SELECT * FROM tasks WHERE id = $1 AND ($2::text IS NULL OR workspace_id = $2)', [id, workspaceId]);
  return rows[0];
}

export async function getTask(q: Queryable, workspaceId: string | null, id: string, withTimeline = false): Promise<Task | undefined> {
  const row = await getTaskRow(q, workspaceId, id);
  if (!row) return undefined;
  const task = toTask(row);
  if (withTimeline) task.timeline = await getTimeline(q, id);
  return task;
}

export async function getTimeline(q: Queryable, taskId: string): Promise<NonNullable<Task['timeline']>> {
  const { rows } = await q.query('SELECT * FROM task_transitions WHERE task_id = $1 ORDER BY id', [taskId]);
  return rows.map((r) => ({
    from: (r.from_status as string | null) ?? null,
    to: String(r.to_status),
    actor: String(r.actor),
    reason: (r.reason as string | null) ?? null,
    attempt: Number(r.attempt),
    daemonId: (r.daemon_id as string | null) ?? null,
    at: iso(r.at),
  }));
}

export interface TaskFilter {
  workspaceId: string | null;
  statuses?: TaskStatus[];
  agent?: string;
  groupId?: string;
  limit: number;
  cursor?: string;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listTasks(q: Queryable, f: TaskFilter): Promise<{ items: Task[]; nextCursor: string | null }> {
  const after = f.cursor ? decodeCursor(f.cursor) : null;
  const { rows } = await q
    .query(
    `SELECT *, created_at::text AS created_at_text FROM tasks
     WHERE ($1::text IS NULL OR workspace_id = $1)
       AND ($2::text[] IS NULL OR status = ANY($2))
       AND ($3::text IS NULL OR assigned_agent = $3)
       AND ($4::uuid IS NULL OR group_id = $4)
       AND ($5::timestamptz IS NULL OR (created_at, id) < ($5::timestamptz, $6::uuid))
     ORDER BY created_at DESC, id DESC
     LIMIT $7`,
      [f.workspaceId, f.statuses?.length ? f.statuses : null, f.agent ?? null, f.groupId ?? null, after?.[0] ?? null, after?.[1] ?? null, f.limit + 1],
    )
    .catch(rethrowBadCursorTime(after));
  return keysetPage(rows, f.limit, toTask);
}

/** How long a resumed task waits for the runtime that holds its session before any runtime may take it. */
export const RESUME_PREFERENCE_MS = 15_000;

/**
 * The runtime a resumed task should go back to (its session files and
 * working copy are there): the last run's, when the task has a session.
 */
export async function resumePreference(q: Queryable, taskId: string): Promise<TaskPatch> {
  const { rows } = await q.query<{ daemon_id: string | null; session_id: string | null }>(
    `SELECT r.daemon_id, t.session_id FROM tasks t LEFT JOIN LATERAL (
       SELECT daemon_id FROM task_runs WHERE task_id = t.id ORDER BY attempt DESC LIMIT 1) r ON true
     WHERE t.id = $1`,
    [taskId],
  );
  const r = rows[0];
  if (!r?.daemon_id || !r.session_id) return { preferred_daemon_id: null, preferred_until: null };
  return { preferred_daemon_id: r.daemon_id, preferred_until: new Date(Date.now() + RESUME_PREFERENCE_MS) };
}

/** A comparison group: its tasks in the order their agents were named, each with its latest run. */
export async function requireGroup(q: Queryable, workspaceId: string | null, groupId: string): Promise<TaskGroup> {
  const { rows } = await q.query(
    `SELECT t.*, row_to_json(r) AS latest_run
     FROM tasks t
     LEFT JOIN LATERAL (SELECT * FROM task_runs WHERE task_id = t.id ORDER BY attempt DESC LIMIT 1) r ON true
     WHERE t.group_id = $1 AND ($2::text IS NULL OR t.workspace_id = $2)
     ORDER BY t.group_position, t.created_at, t.id`,
    [groupId, workspaceId],
  );
  if (rows.length === 0) throw new NotFoundError('task group', groupId);
  return {
    id: groupId,
    prompt: String(rows[0]!.prompt),
    createdAt: iso(rows[0]!.created_at),
    tasks: rows.map((r) => ({ ...toTask(r), latestRun: r.latest_run ? toRun(r.latest_run as DbRow) : null })),
  };
}
