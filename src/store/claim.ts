/**
 * The dispatcher's claim: one short transaction per (runtime, workspace),
 * SQL in src/store/sql/claim_*.sql.
 */
import type { Task } from '../core/api.js';
import type { Db } from './db.js';
import { toTask } from './rows.js';
import { sql } from './sql.js';
import { recordTransitions } from './tasks.js';

export interface ClaimRequest {
  daemonId: string;
  /** Workspaces the runtime serves; null = all. */
  workspaces: string[] | null;
  agents: string[];
  slots: number;
  leaseMs: number;
}

export interface ClaimedTask {
  task: Task;
  seqStart: number;
  /** How long the task had been claimable when it was claimed (metrics). */
  queuedMs: number;
}

export async function claimTasks(db: Db, req: ClaimRequest): Promise<ClaimedTask[]> {
  if (req.slots <= 0 || req.agents.length === 0) return [];
  return db.tx(async (q) => {
    const pick = await q.query<{ workspace_id: string }>(sql('claim_pick_workspace'), [req.workspaces, req.agents, req.daemonId]);
    const workspaceId = pick.rows[0]?.workspace_id;
    if (!workspaceId) return [];
    // Serializes claims per workspace across server processes (see claim_tasks.sql).
    await q.query(`SELECT pg_advisory_xact_lock(hashtext('switchyard:claim:' || $1))`, [workspaceId]);
    const { rows } = await q.query(sql('claim_tasks'), [workspaceId, req.agents, req.daemonId, req.slots, req.leaseMs]);
    if (rows.length === 0) return [];
    await recordTransitions(
      q,
      rows.map((r) => ({ taskId: String(r.id), workspaceId, from: 'queued', to: 'claimed', actor: 'dispatcher', reason: 'claimed by a runtime', attempt: Number(r.attempt), daemonId: req.daemonId })),
    );
    return rows.map((r) => ({ task: toTask(r), seqStart: Number(r.seq_start), queuedMs: Number(r.queued_ms) || 0 }));
  });
}

/** Notes "no runtime has agent X" on queued tasks nobody can run, clears it when somebody can. */
export async function refreshQueueReasons(db: Db, taskIds: string[] | null = null): Promise<{ id: string; workspaceId: string }[]> {
  const { rows } = await db.query(sql('refresh_queue_reasons'), [taskIds]);
  return rows.map((r) => ({ id: String(r.id), workspaceId: String(r.workspace_id) }));
}
