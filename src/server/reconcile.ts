/**
 * When a runtime says hello, its view and the database's are compared
 * (DESIGN.md §3): runs the database gives it but it no longer has are lost
 * (or their claim given back); runs it has that the database no longer gives
 * it are cancelled on the runtime.
 */
import type { z } from 'zod';
import type { Task } from '../core/api.js';
import type { helloFrame } from '../core/protocol.js';
import type { Db } from '../store/db.js';
import type { ActiveRun } from './daemonHub.js';
import { recordLost, releaseClaim } from './runReports.js';

export interface Reconciliation {
  keep: Map<string, ActiveRun>;
  cancel: { taskId: string; attempt: number; reason: string }[];
  changed: Task[];
  /** Runs that ended as runtime_lost here (metrics). */
  lost: Task[];
}

export async function reconcileOnHello(db: Db, hello: z.infer<typeof helloFrame>): Promise<Reconciliation> {
  const key = (taskId: string, attempt: number) => `${taskId}:${attempt}`;
  const alive = new Set([...hello.running, ...hello.pending].map((r) => key(r.taskId, r.attempt)));
  const { rows } = await db.query<{ id: string; workspace_id: string; attempt: number; status: string }>(
    `SELECT id, workspace_id, attempt, status FROM tasks WHERE daemon_id = $1 AND status IN ('claimed', 'executing')`,
    [hello.daemonId],
  );
  const out: Reconciliation = { keep: new Map(), cancel: [], changed: [], lost: [] };
  const known = new Set<string>();
  for (const r of rows) {
    known.add(key(r.id, r.attempt));
    if (alive.has(key(r.id, r.attempt))) {
      out.keep.set(r.id, { attempt: r.attempt, workspaceId: r.workspace_id });
      continue;
    }
    const task = await db.tx((q) =>
      r.status === 'claimed'
        ? releaseClaim(q, r.id, hello.daemonId, r.attempt, 'reaper', 'runtime restarted before starting it')
        : recordLost(q, r.id, hello.daemonId, r.attempt, 'reaper', 'the runtime restarted and no longer runs it'),
    );
    if (task) out.changed.push(task);
    if (task && r.status === 'executing') out.lost.push(task);
  }
  for (const r of hello.running) {
    if (!known.has(key(r.taskId, r.attempt))) {
      out.cancel.push({ taskId: r.taskId, attempt: r.attempt, reason: 'the server no longer assigns this run to this runtime' });
    }
  }
  return out;
}
