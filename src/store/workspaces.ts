/** Workspaces: the unit of isolation for queues, skills, tokens and runtimes. */
import type { CreateWorkspaceBody, UpdateWorkspaceBody, Workspace } from '../core/api.js';
import { ConflictError, NotFoundError } from '../core/errors.js';
import { PgCode, pgErrorCode, type Queryable } from './db.js';
import { toWorkspace } from './rows.js';

export async function createWorkspace(q: Queryable, body: CreateWorkspaceBody): Promise<Workspace> {
  try {
    const { rows } = await q.query(
      `INSERT INTO workspaces (id, name, allowed_agents, max_concurrent_tasks, skill_retention_days, audit_log_enabled, settings)
       VALUES ($1, $2, $3, coalesce($4, 4), coalesce($5, 90), coalesce($6, false), coalesce($7, '{}'::jsonb))
       RETURNING *`,
      [
        body.id,
        body.name ?? body.id,
        body.allowedAgents ?? null,
        body.maxConcurrentTasks ?? null,
        body.skillRetentionDays ?? null,
        body.auditLogEnabled ?? null,
        body.settings ? JSON.stringify(body.settings) : null,
      ],
    );
    return toWorkspace(rows[0]!);
  } catch (err) {
    if (pgErrorCode(err) === PgCode.uniqueViolation) throw new ConflictError(`workspace ${body.id} already exists`);
    throw err;
  }
}

export async function getWorkspace(q: Queryable, id: string): Promise<Workspace | undefined> {
  const { rows } = await q.query('SELECT * FROM workspaces WHERE id = $1', [id]);
  return rows[0] ? toWorkspace(rows[0]) : undefined;
}

export async function requireWorkspace(q: Queryable, id: string): Promise<Workspace> {
  const ws = await getWorkspace(q, id);
  if (!ws) throw new NotFoundError('workspace', id);
  return ws;
}

export async function listWorkspaces(q: Queryable, only?: string): Promise<Workspace[]> {
  const { rows } = await q.query('SELECT * FROM workspaces WHERE ($1::text IS NULL OR id = $1) ORDER BY id', [only ?? null]);
  return rows.map(toWorkspace);
}

export async function updateWorkspace(q: Queryable, id: string, body: UpdateWorkspaceBody): Promise<Workspace> {
  // `allowedAgents: null` is a real value (allow all), so it is passed with a
  // flag saying whether the field was present at all.
  const { rows } = await q.query(
    `UPDATE workspaces SET
       name = coalesce($2, name),
       allowed_agents = CASE WHEN $3 THEN $4::text[] ELSE allowed_agents END,
       max_concurrent_tasks = coalesce($5, max_concurrent_tasks),
       skill_retention_days = coalesce($6, skill_retention_days),
       audit_log_enabled = coalesce($7, audit_log_enabled),
       settings = CASE WHEN $8::jsonb IS NULL THEN settings ELSE settings || $8::jsonb END,
       updated_at = now()
     WHERE id = $1 RETURNING *`,
    [
      id,
      body.name ?? null,
      body.allowedAgents !== undefined,
      body.allowedAgents ?? null,
      body.maxConcurrentTasks ?? null,
      body.skillRetentionDays ?? null,
      body.auditLogEnabled ?? null,
      body.settings ? JSON.stringify(body.settings) : null,
    ],
  );
  if (!rows[0]) throw new NotFoundError('workspace', id);
  return toWorkspace(rows[0]);
}

export async function deleteWorkspace(q: Queryable, id: string): Promise<void> {
  const { rowCount } = await q.query('DELETE FROM workspaces WHERE id = $1', [id]);
  if (!rowCount) throw new NotFoundError('workspace', id);
}

/**
 * Creates the workspace, or updates it to match, as `orchestrator.workspace`
 * asks at start. Not inside a transaction: a lost race with another server's
 * insert would abort it.
 */
export async function upsertWorkspace(q: Queryable, body: CreateWorkspaceBody): Promise<Workspace> {
  if (!(await getWorkspace(q, body.id))) {
    try {
      return await createWorkspace(q, body);
    } catch (err) {
      // Another server starting at the same moment created it first: update it like an existing one.
      if (!(err instanceof ConflictError)) throw err;
    }
  }
  const { id: _id, ...rest } = body;
  return updateWorkspace(q, body.id, rest);
}
